import Foundation

/// Helpers that turn stored objects into the cells kubectl prints.
public enum TableCells {
    public static func parseTimestamp(_ text: String?) -> Date? {
        guard let text else { return nil }
        return RFC3339.parse(text)
    }

    public static func formatTimestamp(_ date: Date) -> String {
        RFC3339.seconds(date)
    }

    /// kubectl's `duration.HumanDuration`.
    public static func humanDuration(_ interval: TimeInterval) -> String {
        let seconds = Int(interval)
        if seconds < -1 { return "<invalid>" }
        if seconds < 0 { return "0s" }
        if seconds < 60 * 2 { return "\(seconds)s" }
        let minutes = seconds / 60
        if minutes < 10 {
            let rest = seconds % 60
            return rest == 0 ? "\(minutes)m" : "\(minutes)m\(rest)s"
        }
        if minutes < 60 * 3 { return "\(minutes)m" }
        let hours = minutes / 60
        if hours < 8 {
            let rest = minutes % 60
            return rest == 0 ? "\(hours)h" : "\(hours)h\(rest)m"
        }
        if hours < 48 { return "\(hours)h" }
        if hours < 24 * 8 {
            let rest = hours % 24
            return rest == 0 ? "\(hours / 24)d" : "\(hours / 24)d\(rest)h"
        }
        if hours < 24 * 365 * 2 { return "\(hours / 24)d" }
        if hours < 24 * 365 * 8 {
            let days = hours / 24 - (hours / 24 / 365) * 365
            return days == 0 ? "\(hours / 24 / 365)y" : "\(hours / 24 / 365)y\(days)d"
        }
        return "\(hours / 24 / 365)y"
    }

    public static func age(_ object: JSONValue, now: Date) -> JSONValue {
        guard let created = parseTimestamp(object.value(at: ["metadata", "creationTimestamp"])?.stringValue) else { return "<unknown>" }
        return .string(humanDuration(now.timeIntervalSince(created)))
    }

    static func string(_ object: JSONValue, _ path: String...) -> String? {
        object.value(at: path)?.stringValue
    }

    static func int(_ object: JSONValue, _ path: String...) -> Int {
        object.value(at: path)?.intValue ?? 0
    }

    static func number(_ value: Int) -> JSONValue { .number(String(value)) }

    /// EXTERNAL-IP as kubectl prints it: the external IPs, and for a LoadBalancer also its
    /// ingress addresses — `<pending>` while it has none; an ExternalName Service's name.
    static func serviceExternalIP(_ service: JSONValue) -> String {
        let external = service.value(at: ["spec", "externalIPs"])?.arrayValue?.compactMap(\.stringValue) ?? []
        switch service.value(at: ["spec", "type"])?.stringValue {
        case "LoadBalancer":
            let ingress = (service.value(at: ["status", "loadBalancer", "ingress"])?.arrayValue ?? []).compactMap { entry in
                entry["ip"]?.stringValue ?? entry["hostname"]?.stringValue
            }
            let all = external + ingress
            return all.isEmpty ? "<pending>" : all.joined(separator: ",")
        case "ExternalName":
            return service.value(at: ["spec", "externalName"])?.stringValue ?? "<none>"
        default:
            return external.isEmpty ? "<none>" : external.joined(separator: ",")
        }
    }

    static func list(_ values: [String], empty: String = "<none>") -> JSONValue {
        values.isEmpty ? .string(empty) : .string(values.joined(separator: ","))
    }

    static func containers(_ object: JSONValue, templatePath: [String]) -> [JSONValue] {
        object.value(at: templatePath + ["containers"])?.arrayValue ?? []
    }

    static func selectorText(_ selector: JSONValue?) -> String {
        guard let selector, let spec = try? selector.decode(LabelSelectorSpec.self), let parsed = try? LabelSelector(spec) else { return "<none>" }
        return parsed.isEmpty ? "<none>" : parsed.description
    }

    static func mapSelectorText(_ selector: JSONValue?) -> String {
        guard let fields = selector?.objectValue, !fields.isEmpty else { return "<none>" }
        return fields.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value.stringValue ?? "")" }.joined(separator: ",")
    }

    /// kubectl's pod STATUS column: terminating, waiting or terminated reasons win over phase.
    static func podStatus(_ pod: JSONValue) -> (ready: String, status: String, restarts: String) {
        var reason = string(pod, "status", "reason") ?? string(pod, "status", "phase") ?? "Unknown"
        let statuses = pod.value(at: ["status", "containerStatuses"])?.arrayValue ?? []
        let total = pod.value(at: ["spec", "containers"])?.arrayValue?.count ?? 0
        var ready = 0
        var restarts = 0
        for (index, initStatus) in (pod.value(at: ["status", "initContainerStatuses"])?.arrayValue ?? []).enumerated() {
            if let terminated = initStatus.value(at: ["state", "terminated"]), terminated.value(at: ["exitCode"])?.intValue == 0 { continue }
            if let terminated = initStatus.value(at: ["state", "terminated"]) {
                reason = "Init:" + (terminated["reason"]?.stringValue ?? "ExitCode:\(terminated["exitCode"]?.intValue ?? 0)")
            } else if let waiting = initStatus.value(at: ["state", "waiting", "reason"])?.stringValue, waiting != "PodInitializing" {
                reason = "Init:\(waiting)"
            } else {
                let initCount = pod.value(at: ["spec", "initContainers"])?.arrayValue?.count ?? 0
                reason = "Init:\(index)/\(initCount)"
            }
            break
        }
        for status in statuses.reversed() {
            restarts += status["restartCount"]?.intValue ?? 0
            if let waiting = status.value(at: ["state", "waiting", "reason"])?.stringValue, !waiting.isEmpty {
                reason = waiting
            } else if let terminated = status.value(at: ["state", "terminated"]) {
                reason = terminated["reason"]?.stringValue ?? "ExitCode:\(terminated["exitCode"]?.intValue ?? 0)"
            } else if status["ready"] == .bool(true), status.value(at: ["state", "running"]) != nil {
                ready += 1
            }
        }
        if pod.value(at: ["metadata", "deletionTimestamp"])?.stringValue != nil {
            reason = string(pod, "status", "reason") == "NodeLost" ? "Unknown" : "Terminating"
        }
        return ("\(ready)/\(total)", reason, String(restarts))
    }

    static func servicePorts(_ service: JSONValue) -> String {
        let ports = service.value(at: ["spec", "ports"])?.arrayValue ?? []
        if ports.isEmpty { return "<none>" }
        return ports.map { port in
            let number = port["port"]?.intValue ?? 0
            let proto = port["protocol"]?.stringValue ?? "TCP"
            if let nodePort = port["nodePort"]?.intValue, nodePort != 0 { return "\(number):\(nodePort)/\(proto)" }
            return "\(number)/\(proto)"
        }.joined(separator: ",")
    }

    static func endpoints(_ object: JSONValue) -> String {
        var items: [String] = []
        for subset in object["subsets"]?.arrayValue ?? [] {
            let ports = subset["ports"]?.arrayValue?.compactMap { $0["port"]?.intValue } ?? []
            for address in subset["addresses"]?.arrayValue ?? [] {
                let ip = address["ip"]?.stringValue ?? ""
                if ports.isEmpty { items.append(ip) } else { items.append(contentsOf: ports.map { "\(ip):\($0)" }) }
            }
        }
        if items.isEmpty { return "<none>" }
        let shown = items.prefix(3).joined(separator: ",")
        return items.count > 3 ? "\(shown) + \(items.count - 3) more..." : shown
    }

    /// An EndpointSlice's ports as kubectl prints them: `80,443`, `<unset>` for a port without a number.
    static func slicePorts(_ slice: JSONValue) -> String {
        let ports = slice["ports"]?.arrayValue ?? []
        if ports.isEmpty { return "<unset>" }
        return ports.map { $0["port"]?.intValue.map(String.init) ?? "<unset>" }.joined(separator: ",")
    }

    /// The first three addresses of an EndpointSlice, then `+ N more...`, as kubectl prints them.
    static func sliceEndpoints(_ slice: JSONValue) -> String {
        let addresses = (slice["endpoints"]?.arrayValue ?? []).flatMap { $0["addresses"]?.arrayValue?.compactMap(\.stringValue) ?? [] }
        if addresses.isEmpty { return "<unset>" }
        let shown = addresses.prefix(3).joined(separator: ",")
        return addresses.count > 3 ? "\(shown) + \(addresses.count - 3) more..." : shown
    }

    static func nodeStatus(_ node: JSONValue) -> String {
        var parts: [String] = []
        let ready = (node.value(at: ["status", "conditions"])?.arrayValue ?? []).first { $0["type"]?.stringValue == "Ready" }
        switch ready?["status"]?.stringValue {
        case "True": parts.append("Ready")
        case .some: parts.append("NotReady")
        case nil: parts.append("Unknown")
        }
        if node.value(at: ["spec", "unschedulable"]) == .bool(true) { parts.append("SchedulingDisabled") }
        return parts.joined(separator: ",")
    }

    static func nodeRoles(_ node: JSONValue) -> String {
        let labels = node.value(at: ["metadata", "labels"])?.objectValue ?? [:]
        let roles = labels.keys.compactMap { key -> String? in
            if key.hasPrefix("node-role.kubernetes.io/") { return String(key.dropFirst("node-role.kubernetes.io/".count)) }
            if key == "kubernetes.io/role" { return labels[key]?.stringValue }
            return nil
        }.filter { !$0.isEmpty }.sorted()
        return roles.isEmpty ? "<none>" : roles.joined(separator: ",")
    }

    static func nodeAddress(_ node: JSONValue, _ type: String) -> String {
        let address = (node.value(at: ["status", "addresses"])?.arrayValue ?? []).first { $0["type"]?.stringValue == type }
        return address?["address"]?.stringValue ?? "<none>"
    }
}

/// kubectl's Job columns (`printJob`).
extension TableCells {
    static func jobStatus(_ job: JSONValue) -> String {
        let conditions = job.value(at: ["status", "conditions"])?.arrayValue ?? []
        func has(_ type: String) -> Bool { conditions.contains { $0["type"]?.stringValue == type && $0["status"]?.stringValue == "True" } }
        if has("Complete") { return "Complete" }
        if has("Failed") { return "Failed" }
        if job.value(at: ["metadata", "deletionTimestamp"]) != nil { return "Terminating" }
        if has("Suspended") { return "Suspended" }
        if has("FailureTarget") { return "FailureTarget" }
        if has("SuccessCriteriaMet") { return "SuccessCriteriaMet" }
        return "Running"
    }

    static func jobCompletions(_ job: JSONValue) -> String {
        let succeeded = int(job, "status", "succeeded")
        if let completions = job.value(at: ["spec", "completions"])?.intValue { return "\(succeeded)/\(completions)" }
        let parallelism = int(job, "spec", "parallelism")
        return parallelism > 1 ? "\(succeeded)/1 of \(parallelism)" : "\(succeeded)/1"
    }

    static func jobDuration(_ job: JSONValue, now: Date) -> String {
        guard let start = parseTimestamp(string(job, "status", "startTime")) else { return "" }
        let end = parseTimestamp(string(job, "status", "completionTime")) ?? now
        return humanDuration(end.timeIntervalSince(start))
    }
}
