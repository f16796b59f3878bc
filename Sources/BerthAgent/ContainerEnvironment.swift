import BerthCore
import Foundation

extension ContainerSpecFactory {
    /// The image's env, then `envFrom`, then `env` (later wins), with `$(VAR)` references expanded
    /// as Kubernetes does, and `HOSTNAME` set.
    func environment(for container: Container, in pod: Pod, imageEnv: [String], sandbox: Sandbox) async throws(BerthError) -> [String] {
        var order: [String] = []
        var values: [String: String] = [:]
        func set(_ name: String, _ value: String) {
            if values[name] == nil { order.append(name) }
            values[name] = value
        }
        for entry in imageEnv {
            let parts = entry.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            set(String(parts[0]), parts.count > 1 ? String(parts[1]) : "")
        }
        set("HOSTNAME", pod.spec?.hostname ?? pod.metadata.name ?? "")
        let namespace = pod.metadata.namespace ?? "default"
        // Every pod finds the API (`KUBERNETES_SERVICE_HOST`/`PORT`, the in-cluster configuration),
        // with or without service links, as the kubelet sets them.
        for (name, value) in catalog.environment(namespace: "default", only: "kubernetes") { set(name, value) }
        // Service links before the container's own variables, which win.
        if pod.spec?.enableServiceLinks != false {
            for (name, value) in catalog.environment(namespace: namespace) { set(name, value) }
        }
        for source in container.envFrom ?? [] {
            let prefix = source.prefix ?? ""
            if let reference = source.configMapRef {
                guard let map = try await api.getIfPresent(ConfigMap.self, "/api/v1/namespaces/\(namespace)/configmaps/\(reference.name ?? "")") else {
                    if reference.optional == true { continue }
                    throw BerthError(.notFound, "configmap \"\(reference.name ?? "")\" not found")
                }
                for (key, value) in (map.data ?? [:]).sorted(by: { $0.key < $1.key }) { set(prefix + key, value) }
            }
            if let reference = source.secretRef {
                guard let secret = try await api.getIfPresent(Secret.self, "/api/v1/namespaces/\(namespace)/secrets/\(reference.name ?? "")") else {
                    if reference.optional == true { continue }
                    throw BerthError(.notFound, "secret \"\(reference.name ?? "")\" not found")
                }
                for (key, value) in (secret.data ?? [:]).sorted(by: { $0.key < $1.key }) {
                    set(prefix + key, String(decoding: Data(base64Encoded: value) ?? Data(), as: UTF8.self))
                }
            }
        }
        for variable in container.env ?? [] {
            if let value = variable.value {
                set(variable.name, Self.expand(value, values))
            } else if let source = variable.valueFrom {
                if let value = try await resolve(source, container: container, pod: pod, sandbox: sandbox) { set(variable.name, value) }
            } else {
                set(variable.name, "")
            }
        }
        return order.map { "\($0)=\(values[$0] ?? "")" }
    }

    private func resolve(_ source: EnvVarSource, container: Container, pod: Pod, sandbox: Sandbox) async throws(BerthError) -> String? {
        let namespace = pod.metadata.namespace ?? "default"
        if let field = source.fieldRef {
            switch field.fieldPath {
            case "spec.nodeName": return sandbox.nodeName
            case "spec.serviceAccountName": return pod.spec?.serviceAccountName ?? "default"
            case "status.podIP", "status.podIPs": return sandbox.podIP
            case "status.hostIP", "status.hostIPs": return sandbox.hostIP
            case "metadata.labels", "metadata.annotations": break
            default: if let value = DownwardAPIValues.metadata(field.fieldPath, of: pod) { return value }
            }
            throw BerthError(.invalid, "unsupported fieldRef \"\(field.fieldPath)\"")
        }
        if let reference = source.configMapKeyRef {
            let map = try await api.getIfPresent(ConfigMap.self, "/api/v1/namespaces/\(namespace)/configmaps/\(reference.name ?? "")")
            guard let value = map?.data?[reference.key] else {
                if reference.optional == true { return nil }
                throw BerthError(.notFound, "couldn't find key \(reference.key) in ConfigMap \(namespace)/\(reference.name ?? "")")
            }
            return value
        }
        if let reference = source.secretKeyRef {
            let secret = try await api.getIfPresent(Secret.self, "/api/v1/namespaces/\(namespace)/secrets/\(reference.name ?? "")")
            guard let encoded = secret?.data?[reference.key], let data = Data(base64Encoded: encoded) else {
                if reference.optional == true { return nil }
                throw BerthError(.notFound, "couldn't find key \(reference.key) in Secret \(namespace)/\(reference.name ?? "")")
            }
            return String(decoding: data, as: UTF8.self)
        }
        if let field = source.resourceFieldRef {
            return try DownwardAPIValues.resource(field, of: pod, fallback: container)
        }
        return nil
    }

    /// `$(NAME)` → value of an earlier variable; `$$(NAME)` → literal `$(NAME)`.
    static func expand(_ text: String, _ values: [String: String]) -> String {
        guard text.contains("$(") else { return text }
        var result = ""
        var index = text.startIndex
        while index < text.endIndex {
            if text[index...].hasPrefix("$$(") {
                result += "$("
                index = text.index(index, offsetBy: 3)
            } else if text[index...].hasPrefix("$("), let close = text[index...].firstIndex(of: ")") {
                let name = String(text[text.index(index, offsetBy: 2)..<close])
                result += values[name] ?? "$(\(name))"
                index = text.index(after: close)
            } else {
                result.append(text[index])
                index = text.index(after: index)
            }
        }
        return result
    }
}
