import BerthCore
import Foundation
import Logging

/// Keeps every Service's `discovery.k8s.io/v1` EndpointSlices in step with its Endpoints (as
/// `EndpointSlicePlanner` derives them), so clients that read slices — `kubectl describe
/// service`, proxies and meshes written for current Kubernetes — see the same addresses the
/// agents program from Endpoints. Slices it does not manage are left alone.
public final class EndpointSliceController: Reconciler {
    public let name = "endpointslice"
    public let queue = WorkQueue(name: "endpoint_slice")
    let services: Informer<Service>
    let endpoints: Informer<Endpoints>
    let slices: Informer<EndpointSlice>
    let api: ResourceAPI
    let logger: Logger

    public init(services: Informer<Service>, endpoints: Informer<Endpoints>, slices: Informer<EndpointSlice>, api: ResourceAPI, logger: Logger) {
        self.services = services
        self.endpoints = endpoints
        self.slices = slices
        self.api = api
        self.logger = logger
        services.addHandler { [queue] event in
            switch event {
            case .added(let service), .deleted(let service): queue.add(Informer<Service>.key(service))
            case .updated(let old, let new): if old.metadata.labels != new.metadata.labels { queue.add(Informer<Service>.key(new)) }
            }
        }
        endpoints.addHandler { [queue] event in
            switch event {
            case .added(let object), .deleted(let object): queue.add(Informer<Endpoints>.key(object))
            case .updated(let old, let new): if old.subsets != new.subsets { queue.add(Informer<Endpoints>.key(new)) }
            }
        }
        slices.addHandler { [queue] event in
            // Someone else changed or removed one of ours: put it right.
            let slice: EndpointSlice
            switch event {
            case .added: return
            case .updated(_, let object), .deleted(let object): slice = object
            }
            guard slice.metadata.labels?[EndpointSlice.managedByLabel] == EndpointSlicePlanner.managedBy,
                  let service = slice.metadata.labels?[EndpointSlice.serviceNameLabel] else { return }
            queue.add(Informer<Service>.key(namespace: slice.metadata.namespace, name: service))
        }
    }

    public func reconcile(_ key: String) async throws {
        let parts = key.split(separator: "/", maxSplits: 1).map(String.init)
        let (namespace, name) = parts.count == 2 ? (parts[0], parts[1]) : ("", key)
        let existing = slices.list().filter {
            $0.metadata.namespace == namespace && $0.metadata.labels?[EndpointSlice.serviceNameLabel] == name
                && $0.metadata.labels?[EndpointSlice.managedByLabel] == EndpointSlicePlanner.managedBy
        }
        let desired = services.get(key).map { EndpointSlicePlanner.slices(for: endpoints.get(key), service: $0) } ?? []
        for slice in desired {
            if let current = existing.first(where: { $0.metadata.name == slice.metadata.name }) {
                if let updated = Self.updated(current, to: slice) { try await api.update(ResourceDescriptor.endpointSlice, updated) }
            } else if let failure = await create(slice) {
                // Created meanwhile (the cache is behind): look again shortly.
                guard failure.code == .alreadyExists else { throw failure }
                queue.add(key, after: .milliseconds(200))
            }
        }
        for slice in existing where !desired.contains(where: { $0.metadata.name == slice.metadata.name }) {
            try await api.delete(ResourceDescriptor.endpointSlice, namespace: namespace, name: slice.metadata.name ?? "", uid: slice.metadata.uid)
        }
    }

    /// The stored slice brought to the planned one, or nil when they already agree.
    static func updated(_ current: EndpointSlice, to planned: EndpointSlice) -> EndpointSlice? {
        guard current.endpoints != planned.endpoints || current.ports != planned.ports || current.metadata.labels != planned.metadata.labels
            || current.metadata.ownerReferences != planned.metadata.ownerReferences else { return nil }
        var updated = current
        updated.endpoints = planned.endpoints
        updated.ports = planned.ports
        updated.metadata.labels = planned.metadata.labels
        updated.metadata.ownerReferences = planned.metadata.ownerReferences
        return updated
    }

    private func create(_ slice: EndpointSlice) async -> BerthError? {
        do {
            try await api.create(ResourceDescriptor.endpointSlice, namespace: slice.metadata.namespace, slice)
            return nil
        } catch {
            return error
        }
    }
}
