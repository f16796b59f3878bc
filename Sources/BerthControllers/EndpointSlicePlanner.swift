import BerthCore

/// The EndpointSlices a Service's Endpoints call for (pure): one group of slices per port set,
/// at most 100 endpoints a slice, ready and not-ready addresses with their conditions, named
/// deterministically so a replan finds the same slices.
public enum EndpointSlicePlanner {
    public static let managedBy = "endpointslice-controller.k8s.io"

    public static func slices(for endpoints: Endpoints?, service: Service) -> [EndpointSlice] {
        let serviceName = service.metadata.name ?? ""
        var groups: [(ports: [SlicePort], endpoints: [SliceEndpoint])] = []
        for subset in endpoints?.subsets ?? [] {
            let ports = (subset.ports ?? []).map { SlicePort(name: $0.name ?? "", protocol: $0.protocol ?? "TCP", port: $0.port, appProtocol: $0.appProtocol) }
            var members = (subset.addresses ?? []).map { endpoint($0, ready: true) }
            members += (subset.notReadyAddresses ?? []).map { endpoint($0, ready: false) }
            if let index = groups.firstIndex(where: { $0.ports == ports }) {
                groups[index].endpoints += members
            } else {
                groups.append((ports, members))
            }
        }
        // A Service with no endpoints still has one (empty) slice, as in Kubernetes.
        if groups.isEmpty { groups = [([], [])] }
        var result: [EndpointSlice] = []
        for group in groups {
            let sorted = group.endpoints.sorted { ($0.addresses.first ?? "") < ($1.addresses.first ?? "") }
            let chunks = stride(from: 0, to: max(sorted.count, 1), by: EndpointSlice.maximumEndpoints).map {
                Array(sorted[min($0, sorted.count)..<min($0 + EndpointSlice.maximumEndpoints, sorted.count)])
            }
            for (index, chunk) in chunks.enumerated() {
                var metadata = ObjectMeta(name: name(serviceName, ports: group.ports, chunk: index), namespace: service.metadata.namespace)
                metadata.labels = (service.metadata.labels ?? [:]).merging([
                    EndpointSlice.serviceNameLabel: serviceName, EndpointSlice.managedByLabel: managedBy,
                ]) { $1 }
                metadata.ownerReferences = [OwnerReference(apiVersion: "v1", kind: "Service", name: serviceName, uid: service.metadata.uid ?? "",
                                                           controller: true, blockOwnerDeletion: true)]
                result.append(EndpointSlice(metadata: metadata, addressType: "IPv4", endpoints: chunk, ports: group.ports.isEmpty ? nil : group.ports))
            }
        }
        return result
    }

    static func endpoint(_ address: EndpointAddress, ready: Bool) -> SliceEndpoint {
        SliceEndpoint(addresses: [address.ip], conditions: EndpointConditions(ready: ready, serving: ready, terminating: false),
                      hostname: address.hostname, targetRef: address.targetRef, nodeName: address.nodeName)
    }

    /// `web-kq5zd`: the Service's name and a hash of the port set and chunk, in Kubernetes'
    /// name alphabet (no vowels, so no words), at most 253 characters.
    static func name(_ service: String, ports: [SlicePort], chunk: Int) -> String {
        let key = ports.map { "\($0.name ?? "")/\($0.protocol ?? "")/\($0.port ?? 0)" }.joined(separator: ",") + "#\(chunk)"
        var hash = SafeNames.fnv1a(key.utf8)
        let alphabet = SafeNames.alphabet
        var suffix = ""
        for _ in 0..<5 {
            suffix.append(alphabet[Int(hash % UInt32(alphabet.count))])
            hash /= UInt32(alphabet.count)
        }
        return "\(service.prefix(253 - 6))-\(suffix)"
    }
}
