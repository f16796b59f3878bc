import Foundation

/// Per-kind validation of whole objects on create and update.
enum KindValidation {
    static func workload(selector: LabelSelectorSpec, template: PodTemplateSpec?, replicas: Int32?, path: String = "spec", into errors: inout FieldErrors) {
        MetaValidation.validateSelector(selector, path: "\(path).selector", into: &errors)
        if (selector.matchLabels ?? [:]).isEmpty && (selector.matchExpressions ?? []).isEmpty {
            errors.invalid("\(path).selector", "{}", "empty selector is invalid for deployment")
        }
        if let replicas, replicas < 0 { errors.invalid("\(path).replicas", String(replicas), "must be greater than or equal to 0") }
        guard let template else {
            errors.required("\(path).template")
            return
        }
        let labels = template.metadata?.labels ?? [:]
        if let parsed = try? LabelSelector(selector), !parsed.isEmpty, !parsed.matches(labels) {
            errors.invalid("\(path).template.metadata.labels", labels.sorted { $0.key < $1.key }.map { "\($0.key):\($0.value)" }.joined(separator: ","), "`selector` does not match template `labels`")
        }
        if let meta = template.metadata {
            for (key, value) in meta.labels ?? [:] {
                errors.check("\(path).template.metadata.labels", key, NameValidation.qualifiedNameProblem(key))
                errors.check("\(path).template.metadata.labels", value, NameValidation.labelValueProblem(value))
            }
        }
        guard let spec = template.spec else {
            errors.required("\(path).template.spec")
            return
        }
        PodValidation.validate(spec, path: "\(path).template.spec", into: &errors)
    }

    static func deployment(_ object: Deployment, into errors: inout FieldErrors) {
        guard let spec = object.spec else { return errors.required("spec") }
        workload(selector: spec.selector, template: spec.template, replicas: spec.replicas, into: &errors)
        if let policy = spec.template.spec?.restartPolicy, policy != "Always" {
            errors.notSupported("spec.template.spec.restartPolicy", policy, ["Always"])
        }
        if let type = spec.strategy?.type {
            if !["RollingUpdate", "Recreate"].contains(type) { errors.notSupported("spec.strategy.type", type, ["Recreate", "RollingUpdate"]) }
            if type == "Recreate", spec.strategy?.rollingUpdate != nil {
                errors.forbidden("spec.strategy.rollingUpdate", "may not be specified when strategy `type` is 'Recreate'")
            }
        }
        if let rolling = spec.strategy?.rollingUpdate {
            let surge = rolling.maxSurge?.scaled(total: 100, roundUp: true) ?? 1
            let unavailable = rolling.maxUnavailable?.scaled(total: 100, roundUp: false) ?? 1
            for (name, value) in [("maxSurge", rolling.maxSurge), ("maxUnavailable", rolling.maxUnavailable)] {
                if let value, value.scaled(total: 100, roundUp: true) == nil {
                    errors.invalid("spec.strategy.rollingUpdate.\(name)", value.description, "a valid percent string must be a numeric string followed by an ending '%' (e.g. '1%',  or '93%', regex used for validation is '[0-9]+%')")
                } else if let amount = value?.scaled(total: 100, roundUp: true), amount < 0 {
                    errors.invalid("spec.strategy.rollingUpdate.\(name)", value!.description, "must be greater than or equal to 0")
                }
            }
            if surge == 0 && unavailable == 0 {
                errors.invalid("spec.strategy.rollingUpdate.maxUnavailable", rolling.maxUnavailable?.description ?? "0", "may not be 0 when `maxSurge` is 0")
            }
        }
        if let limit = spec.revisionHistoryLimit, limit < 0 { errors.invalid("spec.revisionHistoryLimit", String(limit), "must be greater than or equal to 0") }
        if let deadline = spec.progressDeadlineSeconds, deadline <= (spec.minReadySeconds ?? 0) {
            errors.invalid("spec.progressDeadlineSeconds", String(deadline), "must be greater than minReadySeconds")
        }
    }

    static func service(_ object: Service, into errors: inout FieldErrors) {
        guard let spec = object.spec else { return errors.required("spec") }
        let types = ["ClusterIP", "ExternalName", "LoadBalancer", "NodePort"]
        let type = spec.type ?? "ClusterIP"
        if !types.contains(type) { errors.notSupported("spec.type", type, types) }
        if type == "ExternalName" {
            if (spec.externalName ?? "").isEmpty { errors.required("spec.externalName") }
        } else if (spec.ports ?? []).isEmpty, spec.clusterIP != "None" {
            errors.required("spec.ports")
        }
        let ports = spec.ports ?? []
        var names = Set<String>()
        var seen = Set<String>()
        for (index, port) in ports.enumerated() {
            let field = "spec.ports[\(index)]"
            if ports.count > 1, (port.name ?? "").isEmpty { errors.required("\(field).name") }
            if let name = port.name, !name.isEmpty {
                errors.check("\(field).name", name, NameValidation.dns1123LabelProblem(name))
                if !names.insert(name).inserted { errors.duplicate("\(field).name", name) }
            }
            if !(1...65535).contains(port.port) { errors.invalid("\(field).port", String(port.port), "must be between 1 and 65535, inclusive") }
            let proto = port.protocol ?? "TCP"
            if !PodValidation.protocols.contains(proto) { errors.notSupported("\(field).protocol", proto, PodValidation.protocols) }
            if !seen.insert("\(port.port)/\(proto)").inserted { errors.duplicate("\(field)", "\(port.port)/\(proto)") }
            switch port.targetPort {
            case .int(let target) where !(1...65535).contains(target):
                errors.invalid("\(field).targetPort", String(target), "must be between 1 and 65535, inclusive")
            case .string(let name) where NameValidation.portNameProblem(name) != nil:
                errors.invalid("\(field).targetPort", name, NameValidation.portNameProblem(name)!)
            default: break
            }
            if let nodePort = port.nodePort, nodePort != 0 {
                if type != "NodePort" && type != "LoadBalancer" {
                    errors.forbidden("\(field).nodePort", "may not be used when `type` is '\(type)'")
                } else if !(30000...32767).contains(nodePort) {
                    errors.invalid("\(field).nodePort", String(nodePort), "provided port is not in the valid range. The range of valid ports is 30000-32767")
                }
            }
        }
        if let affinity = spec.sessionAffinity, !["None", "ClientIP"].contains(affinity) {
            errors.notSupported("spec.sessionAffinity", affinity, ["ClientIP", "None"])
        }
        for (key, value) in spec.selector ?? [:] {
            errors.check("spec.selector", key, NameValidation.qualifiedNameProblem(key))
            errors.check("spec.selector", value, NameValidation.labelValueProblem(value))
        }
        if let ip = spec.clusterIP, !ip.isEmpty, ip != "None", !IPv4.isValid(ip) {
            errors.invalid("spec.clusterIP", ip, "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)")
        }
        for (index, ip) in (spec.externalIPs ?? []).enumerated() {
            if !IPv4.isValid(ip) {
                errors.invalid("spec.externalIPs[\(index)]", ip, "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)")
            } else if ip.hasPrefix("127.") || ip == "0.0.0.0" || (IPv4.parse(ip).map { $0 >> 28 == 0xE } ?? false) {
                errors.invalid("spec.externalIPs[\(index)]", ip, "may not be a loopback, unspecified or multicast address")
            }
        }
        for (index, range) in (spec.loadBalancerSourceRanges ?? []).enumerated() where !Self.isCIDR(range) {
            errors.invalid("spec.loadBalancerSourceRanges[\(index)]", range, "must be a valid CIDR (e.g. 100.72.0.0/16)")
        }
        if let requested = spec.loadBalancerIP, !requested.isEmpty, !IPv4.isValid(requested) {
            errors.invalid("spec.loadBalancerIP", requested, "must be a valid IP address")
        }
    }

    /// `A.B.C.D/N` with no host bits set.
    static func isCIDR(_ text: String) -> Bool {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let address = IPv4.parse(String(parts[0])), parts[1].allSatisfy(\.isNumber), let bits = Int(parts[1]),
              (0...32).contains(bits) else { return false }
        let mask: UInt32 = bits == 0 ? 0 : ~UInt32(0) << (32 - bits)
        return address & ~mask == 0
    }

    static func dataKeys(_ keys: some Sequence<String>, field: String, into errors: inout FieldErrors) {
        for key in keys {
            let valid = !key.isEmpty && key.count <= 253 && key != "." && key != ".." && !key.hasPrefix("..")
                && key.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "-._".contains($0)) }
            if !valid {
                errors.invalid(field, key, "a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')")
            }
        }
    }

    static func configMap(_ object: ConfigMap, into errors: inout FieldErrors) {
        dataKeys((object.data ?? [:]).keys.sorted(), field: "data", into: &errors)
        dataKeys((object.binaryData ?? [:]).keys.sorted(), field: "binaryData", into: &errors)
        for key in Set(object.data?.keys ?? [:].keys).intersection(object.binaryData?.keys ?? [:].keys) {
            errors.duplicate("data[\(key)]", key)
        }
        let size = (object.data ?? [:]).reduce(0) { $0 + $1.key.utf8.count + $1.value.utf8.count }
        if size > 1024 * 1024 {
            errors.causes.append(StatusCause(reason: "FieldValueTooLong", message: "Too long: must have at most 1048576 bytes", field: "data"))
        }
    }

    static func secret(_ object: Secret, into errors: inout FieldErrors) {
        dataKeys((object.data ?? [:]).keys.sorted(), field: "data", into: &errors)
        for (key, value) in (object.data ?? [:]).sorted(by: { $0.key < $1.key }) where Data(base64Encoded: value) == nil {
            errors.invalid("data[\(key)]", "<secret contents redacted>", "illegal base64 data")
        }
    }

    static func node(_ object: Node, into errors: inout FieldErrors) {
        for (index, taint) in (object.spec?.taints ?? []).enumerated() {
            let effects = ["NoSchedule", "PreferNoSchedule", "NoExecute"]
            if !effects.contains(taint.effect) { errors.notSupported("spec.taints[\(index)].effect", taint.effect, effects) }
            errors.check("spec.taints[\(index)].key", taint.key, NameValidation.qualifiedNameProblem(taint.key))
        }
    }
}

/// Minimal IPv4 parsing for validation; the network module has the full address types.
public enum IPv4 {
    public static func parse(_ text: String) -> UInt32? {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return nil }
        var value: UInt32 = 0
        for part in parts {
            guard !part.isEmpty, part.count <= 3, part.allSatisfy(\.isNumber), let octet = UInt32(part), octet <= 255 else { return nil }
            if part.count > 1, part.first == "0" { return nil }
            value = value << 8 | octet
        }
        return value
    }

    public static func isValid(_ text: String) -> Bool { parse(text) != nil }
}
