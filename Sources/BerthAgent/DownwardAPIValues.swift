import BerthCore

/// What the downward API exposes of a pod, shared by environment variables and volumes: the
/// pod's own metadata by field path, and a container's requests and limits.
enum DownwardAPIValues {
    /// `metadata.name`, `.namespace`, `.uid`, `.labels`, `.annotations` (whole maps, one
    /// `key="value"` line each, sorted, as the kubelet writes them) and `metadata.labels['k']`,
    /// `metadata.annotations['k']`; nil for any other path.
    static func metadata(_ fieldPath: String, of pod: Pod) -> String? {
        switch fieldPath {
        case "metadata.name": return pod.metadata.name ?? ""
        case "metadata.namespace": return pod.metadata.namespace ?? "default"
        case "metadata.uid": return pod.metadata.uid ?? ""
        case "metadata.labels": return lines(pod.metadata.labels ?? [:])
        case "metadata.annotations": return lines(pod.metadata.annotations ?? [:])
        default:
            if fieldPath.hasPrefix("metadata.labels['"), let key = bracketKey(fieldPath) { return pod.metadata.labels?[key] ?? "" }
            if fieldPath.hasPrefix("metadata.annotations['"), let key = bracketKey(fieldPath) { return pod.metadata.annotations?[key] ?? "" }
            return nil
        }
    }

    /// `limits.cpu`, `requests.memory`, … of the named container (or `fallback`), divided by the
    /// divisor and rounded up as the kubelet does; "0" when the container sets none.
    static func resource(_ field: ResourceFieldSelector, of pod: Pod, fallback: Container?) throws(BerthError) -> String {
        let containers = (pod.spec?.containers ?? []) + (pod.spec?.initContainers ?? [])
        guard let target = containers.first(where: { $0.name == field.containerName }) ?? fallback else {
            throw BerthError(.invalid, "resourceFieldRef \"\(field.resource)\" names container \"\(field.containerName ?? "")\", which the pod does not have")
        }
        let parts = field.resource.split(separator: ".", maxSplits: 1).map(String.init)
        guard parts.count == 2, parts[0] == "limits" || parts[0] == "requests" else {
            throw BerthError(.invalid, "unsupported resourceFieldRef \"\(field.resource)\"")
        }
        let table = parts[0] == "limits" ? target.resources?.limits : target.resources?.requests
        guard let quantity = table?[parts[1]] else { return "0" }
        let divisor = field.divisor ?? Quantity(integer: 1)
        guard divisor.nanos > 0 else { return "0" }
        return String((quantity.nanos + divisor.nanos - 1) / divisor.nanos)
    }

    static func bracketKey(_ path: String) -> String? {
        guard let open = path.range(of: "['"), let close = path.range(of: "']", options: .backwards), open.upperBound <= close.lowerBound else { return nil }
        return String(path[open.upperBound..<close.lowerBound])
    }

    /// `key="value"` lines with the value quoted as Go's %q does for printable text.
    static func lines(_ map: [String: String]) -> String {
        map.keys.sorted().map { key in
            var quoted = "\""
            for character in map[key] ?? "" {
                switch character {
                case "\"": quoted += "\\\""
                case "\\": quoted += "\\\\"
                case "\n": quoted += "\\n"
                case "\t": quoted += "\\t"
                default: quoted.append(character)
                }
            }
            return "\(key)=\(quoted)\""
        }.joined(separator: "\n")
    }
}
