import BerthCore
import Foundation
import Logging

/// Gives every namespace its `default` ServiceAccount, and puts it back if it is deleted, as
/// Kubernetes' service account controller does; and the `kube-root-ca.crt` ConfigMap holding the
/// cluster CA (`ca.crt`), which every pod's token volume shows (Kubernetes' root CA publisher).
/// A namespace being deleted gets neither.
public final class ServiceAccountController: Reconciler {
    public let name = "serviceaccount"
    public let queue = WorkQueue(name: "serviceaccount")
    let namespaces: Informer<Namespace>
    let accounts: Informer<ServiceAccount>
    let api: ResourceAPI
    let logger: Logger

    public init(namespaces: Informer<Namespace>, accounts: Informer<ServiceAccount>, api: ResourceAPI, logger: Logger) {
        self.namespaces = namespaces
        self.accounts = accounts
        self.api = api
        self.logger = logger
        namespaces.addHandler { [queue] event in
            switch event {
            case .added(let namespace): queue.add(namespace.metadata.name ?? "")
            case .updated, .deleted: break
            }
        }
        accounts.addHandler { [queue] event in
            if case .deleted(let account) = event, account.metadata.name == "default" { queue.add(account.metadata.namespace ?? "") }
        }
    }

    public func reconcile(_ key: String) async throws {
        guard let namespace = namespaces.get(key), namespace.metadata.deletionTimestamp == nil else { return }
        try await publishRootCA(namespace: key)
        guard accounts.get(Informer<ServiceAccount>.key(namespace: key, name: "default")) == nil else { return }
        // Made meanwhile, or the namespace started terminating: nothing to do.
        if let failure = await create(ServiceAccount(metadata: ObjectMeta(name: "default", namespace: key))),
           failure.code != .alreadyExists, failure.code != .forbidden {
            throw failure
        }
    }

    static let rootCAName = "kube-root-ca.crt"

    private func publishRootCA(namespace: String) async throws {
        guard let ca = api.client.config.certificateAuthority, !ca.isEmpty else { return }
        let path = api.client.path(.configMap, namespace: namespace, name: Self.rootCAName)
        let existing = try await api.client.request(.GET, path)
        if existing.status == 200, try JSONParser.parse(existing.body).value(at: ["data", "ca.crt"])?.stringValue == ca { return }
        let object: JSONValue = ["apiVersion": "v1", "kind": "ConfigMap", "metadata": ["name": .string(Self.rootCAName), "namespace": .string(namespace)],
                                 "data": ["ca.crt": .string(ca)]]
        let reply = existing.status == 200
            ? try await api.client.request(.PUT, path, body: JSONWriter.bytes(object))
            : try await api.client.request(.POST, api.client.path(.configMap, namespace: namespace), body: JSONWriter.bytes(object))
        // Made meanwhile, or the namespace started terminating.
        if reply.status == 409 || reply.status == 403 { return }
        _ = try reply.checked()
    }

    private func create(_ account: ServiceAccount) async -> BerthError? {
        do {
            try await api.create(ResourceDescriptor.serviceAccount, namespace: account.metadata.namespace, account)
            return nil
        } catch {
            return error
        }
    }
}
