import BerthCore
import Foundation
import Logging

/// Keeps one Endpoints object per Service with a selector: the addresses of its pods, ready
/// and not ready, as `EndpointsPlanner` computes them. Agents program Services from these.
/// A Service without a selector keeps Endpoints the user writes.
public final class EndpointsController: Reconciler {
    public let name = "endpoints"
    public let queue = WorkQueue(name: "endpoint")
    let services: Informer<Service>
    let pods: Informer<Pod>
    let endpoints: Informer<Endpoints>
    let api: ResourceAPI
    let logger: Logger

    public init(services: Informer<Service>, pods: Informer<Pod>, endpoints: Informer<Endpoints>, api: ResourceAPI, logger: Logger) {
        self.services = services
        self.pods = pods
        self.endpoints = endpoints
        self.api = api
        self.logger = logger
        services.addHandler { [queue] event in
            switch event {
            case .added(let service), .deleted(let service): queue.add(Informer<Service>.key(service))
            case .updated(let old, let new): if old.spec != new.spec || old.metadata.labels != new.metadata.labels { queue.add(Informer<Service>.key(new)) }
            }
        }
        pods.addHandler { [queue, services] event in
            let changed: [Pod]
            switch event {
            case .added(let pod), .deleted(let pod): changed = [pod]
            case .updated(let old, let new):
                // Only what Endpoints show: labels, address, readiness, node, termination.
                guard old.metadata.labels != new.metadata.labels || old.status?.podIP != new.status?.podIP
                    || PodState.isReady(old) != PodState.isReady(new) || old.metadata.deletionTimestamp != new.metadata.deletionTimestamp
                    || old.spec?.nodeName != new.spec?.nodeName || old.status?.phase != new.status?.phase else { return }
                changed = [old, new]
            }
            for service in services.list() where service.metadata.namespace == changed[0].metadata.namespace {
                guard let selector = service.spec?.selector, !selector.isEmpty else { continue }
                if changed.contains(where: { pod in selector.allSatisfy { pod.metadata.labels?[$0.key] == $0.value } }) {
                    queue.add(Informer<Service>.key(service))
                }
            }
        }
        endpoints.addHandler { [queue] event in
            // Someone else changed or removed our object: put it right.
            switch event {
            case .deleted(let object), .updated(_, let object): queue.add(Informer<Endpoints>.key(object))
            case .added: break
            }
        }
    }

    public func reconcile(_ key: String) async throws {
        let existing = endpoints.get(key)
        guard let service = services.get(key) else {
            if let existing, let name = existing.metadata.name {
                try await api.delete(ResourceDescriptor.endpoints, namespace: existing.metadata.namespace, name: name, uid: existing.metadata.uid)
            }
            return
        }
        guard let selector = service.spec?.selector, !selector.isEmpty else { return }
        let candidates = pods.list().filter { $0.metadata.namespace == service.metadata.namespace }
        let subsets = EndpointsPlanner.subsets(service, pods: candidates)
        if let existing {
            guard (existing.subsets ?? []) != subsets || existing.metadata.labels != service.metadata.labels else { return }
            var updated = existing
            updated.subsets = subsets
            updated.metadata.labels = service.metadata.labels
            try await api.update(ResourceDescriptor.endpoints, updated)
        } else {
            var metadata = ObjectMeta()
            metadata.name = service.metadata.name
            metadata.namespace = service.metadata.namespace
            metadata.labels = service.metadata.labels
            if let failure = await create(Endpoints(metadata: metadata, subsets: subsets)) {
                // Created meanwhile (the cache is behind): look again shortly.
                guard failure.code == .alreadyExists else { throw failure }
                queue.add(key, after: .milliseconds(200))
            }
        }
    }

    private func create(_ object: Endpoints) async -> BerthError? {
        do {
            try await api.create(ResourceDescriptor.endpoints, namespace: object.metadata.namespace, object)
            return nil
        } catch {
            return error
        }
    }
}
