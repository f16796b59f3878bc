import BerthCore
import BerthMetrics
import Foundation
import Hummingbird

/// `GET /berth/v1/history/nodes[/NAME]` and
/// `GET /berth/v1/history/namespaces/NS/{pods|deployments|statefulsets|daemonsets|replicasets|jobs}[/NAME]`
/// with `?since=30m` (or seconds; default the whole window): the collector's history at its
/// resolution. Authorized as reading `nodes` or `pods` of `metrics.k8s.io` (who may run
/// `kubectl top` there may see the history).
extension APIServer {
    static let historyPrefix = "/berth/v1/history/"

    struct HistoryPath {
        var scope: SeriesKey.Scope
        var namespace: String
        /// The series name (`web-1`, or `Deployment/web` for a workload); nil lists the scope.
        var name: String?
        var workloadKind: String?

        static let workloadKinds = ["deployments": "Deployment", "statefulsets": "StatefulSet", "daemonsets": "DaemonSet",
                                    "replicasets": "ReplicaSet", "jobs": "Job"]

        init?(path: String) {
            guard path.hasPrefix(historyPrefix) else { return nil }
            let rest = path.dropFirst(historyPrefix.count).split(separator: "/").map(String.init)
            if rest.first == "nodes", rest.count <= 2 {
                scope = .node
                namespace = ""
                name = rest.count == 2 ? rest[1] : nil
                return
            }
            guard rest.count == 3 || rest.count == 4, rest[0] == "namespaces" else { return nil }
            namespace = rest[1]
            if rest[2] == "pods" {
                scope = .pod
                name = rest.count == 4 ? rest[3] : nil
            } else if let kind = Self.workloadKinds[rest[2]] {
                scope = .workload
                workloadKind = kind
                name = rest.count == 4 ? "\(kind)/\(rest[3])" : nil
            } else {
                return nil
            }
        }

        var target: ResourceTarget {
            let descriptor: ResourceDescriptor = scope == .node ? .nodeMetrics : .podMetrics
            let plainName = name.map { $0.split(separator: "/").last.map(String.init) ?? $0 }
            return ResourceTarget(descriptor: descriptor, namespace: scope == .node ? nil : namespace, name: scope == .pod || scope == .node ? plainName : nil)
        }
    }

    static var usageHistoryMount: Mount {
        Mount(name: "usage-history", matches: { $0.hasPrefix(historyPrefix) }, target: { request, _ in HistoryPath(path: request.uri.path)?.target }) {
            server, request, _, _ throws(BerthError) in
            guard request.method == .get else { throw BerthError(.methodNotAllowed, "the history is read-only") }
            guard let path = HistoryPath(path: request.uri.path) else {
                throw BerthError(.notFound, "the history serves nodes[/NAME] and namespaces/NS/{pods|deployments|statefulsets|daemonsets|replicasets|jobs}[/NAME]")
            }
            let query = QueryParameters(request.uri.query)
            let now = Date().timeIntervalSince1970
            let history = server.metricsCollector.history
            var since = now - Double(history.window.components.seconds)
            if let text = query["since"] {
                guard let seconds = DurationText.seconds(text), seconds > 0 else {
                    throw BerthError.invalid(kind: "History", name: path.name ?? "", causes: [.invalid("since", text, "must be a duration such as 30m, 1h or 90s")])
                }
                since = now - seconds
            }
            var keys = history.keys(path.scope, namespace: path.scope == .node ? nil : path.namespace)
            if let name = path.name { keys = keys.filter { $0.name == name } } else if let kind = path.workloadKind { keys = keys.filter { $0.name.hasPrefix(kind + "/") } }
            let series: [JSONValue] = keys.map { key in
                let points: [JSONValue] = history.points(key, since: since, now: now).map { point in
                    ["time": .string(RFC3339.seconds(Date(timeIntervalSince1970: point.time))), "cpu": .number(Self.decimal(point.point.cpuCores)),
                     "memory": .number(Self.decimal(point.point.memoryBytes.rounded())), "receive": .number(Self.decimal(point.point.receiveBytesPerSecond.rounded())),
                     "transmit": .number(Self.decimal(point.point.transmitBytesPerSecond.rounded()))]
                }
                var entry: JSONValue = ["scope": .string(key.scope.rawValue), "name": .string(key.name), "points": .array(points)]
                if !key.namespace.isEmpty { entry["namespace"] = .string(key.namespace) }
                return entry
            }
            return Responses.json(["kind": "UsageHistory", "apiVersion": "berth.dev/v1", "resolutionSeconds": .number(String(history.resolution.components.seconds)),
                                   "series": .array(series)])
        }
    }

    static func decimal(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : String(format: "%.6f", value)
    }
}

/// `30m`, `1h`, `90s`, `2h30m` or plain seconds.
public enum DurationText {
    public static func seconds(_ text: String) -> Double? {
        if let plain = Double(text) { return plain }
        var total = 0.0
        var digits = ""
        for character in text {
            if character.isNumber || character == "." {
                digits.append(character)
                continue
            }
            guard let value = Double(digits) else { return nil }
            switch character {
            case "s": total += value
            case "m": total += value * 60
            case "h": total += value * 3600
            case "d": total += value * 86400
            default: return nil
            }
            digits = ""
        }
        return digits.isEmpty && !text.isEmpty ? total : nil
    }
}
