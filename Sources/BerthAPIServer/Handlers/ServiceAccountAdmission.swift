import BerthCore
import BerthStore

/// Kubernetes' ServiceAccount admission at pod create: a pod runs as its namespace's `default`
/// account unless it names another (which must exist), and — unless the pod or the account says
/// `automountServiceAccountToken: false` — gets the projected volume every container finds at
/// `/var/run/secrets/kubernetes.io/serviceaccount`: a token bound to the pod (`token`, issued
/// and refreshed by the node agent), the cluster CA (`ca.crt`, from the `kube-root-ca.crt`
/// ConfigMap) and its `namespace`.
extension APIServer {
    static let serviceAccountMountPath = "/var/run/secrets/kubernetes.io/serviceaccount"
    static let rootCAConfigMap = "kube-root-ca.crt"

    func admitServiceAccount(_ pod: JSONValue) async throws(BerthError) -> JSONValue {
        var result = pod
        let namespace = pod.value(at: ["metadata", "namespace"])?.stringValue ?? "default"
        let podName = pod.value(at: ["metadata", "name"])?.stringValue ?? ""
        var accountName = pod.value(at: ["spec", "serviceAccountName"])?.stringValue ?? ""
        if accountName.isEmpty { accountName = pod.value(at: ["spec", "serviceAccount"])?.stringValue ?? "" }
        if accountName.isEmpty { accountName = "default" }
        result.set(.string(accountName), at: ["spec", "serviceAccountName"])
        result.set(.string(accountName), at: ["spec", "serviceAccount"])
        // The `default` account is made by a controller right after its namespace; a pod created
        // in that moment is not refused for it. Any other account must exist.
        var account: JSONValue?
        do {
            account = try await admissionGet(.serviceAccount, namespace: namespace, name: accountName)
        } catch where error.code == .notFound && accountName != "default" {
            throw BerthError(.forbidden, "pods \"\(podName)\" is forbidden: error looking up service account \(namespace)/\(accountName): serviceaccount \"\(accountName)\" not found")
        } catch where error.code == .notFound {
            account = nil
        }
        let automount = pod.value(at: ["spec", "automountServiceAccountToken"]).flatMap(Self.bool)
            ?? account?["automountServiceAccountToken"].flatMap(Self.bool) ?? true
        guard automount else { return result }
        let containers = ["containers", "initContainers"].flatMap { pod.value(at: ["spec", $0])?.arrayValue ?? [] }
        let alreadyMounted = containers.contains { container in
            (container["volumeMounts"]?.arrayValue ?? []).contains { $0["mountPath"]?.stringValue == Self.serviceAccountMountPath }
        }
        guard !alreadyMounted else { return result }
        let volumeName = "kube-api-access-" + Self.randomSuffix()
        let volume: JSONValue = [
            "name": .string(volumeName),
            "projected": [
                "defaultMode": 420,
                "sources": [
                    ["serviceAccountToken": ["expirationSeconds": 3607, "path": "token"]],
                    ["configMap": ["name": .string(Self.rootCAConfigMap), "items": [["key": "ca.crt", "path": "ca.crt"]]]],
                    ["downwardAPI": ["items": [["path": "namespace", "fieldRef": ["apiVersion": "v1", "fieldPath": "metadata.namespace"]]]]],
                ],
            ],
        ]
        result.set(.array((pod.value(at: ["spec", "volumes"])?.arrayValue ?? []) + [volume]), at: ["spec", "volumes"])
        let mount: JSONValue = ["name": .string(volumeName), "readOnly": true, "mountPath": .string(Self.serviceAccountMountPath)]
        for field in ["containers", "initContainers"] {
            guard var list = pod.value(at: ["spec", field])?.arrayValue else { continue }
            for index in list.indices {
                list[index]["volumeMounts"] = .array((list[index]["volumeMounts"]?.arrayValue ?? []) + [mount])
            }
            result.set(.array(list), at: ["spec", field])
        }
        return result
    }

    static func bool(_ value: JSONValue) -> Bool? {
        if case .bool(let flag) = value { return flag }
        return nil
    }
}
