import BerthCore

/// What the policies in force mean for a set of pods: which pods are isolated in each direction
/// (and by which policies), what each may receive and send (`PolicyBox`es), and which pods
/// belong to each tenant. Pure: the agent renders it into nftables, `berth trace` evaluates it.
public struct PolicyCompilation: Sendable {
    public var ingressIsolated: [UInt32: [String]] = [:]
    public var egressIsolated: [UInt32: [String]] = [:]
    public var ingress: [PolicyBox] = []
    public var egress: [PolicyBox] = []
    /// Tenant ID → addresses of its pods, cluster-wide.
    public var tenants: [String: [UInt32]] = [:]
}

public enum PolicyCompiler {
    static func protocolNumber(_ name: String?) -> UInt32 {
        switch (name ?? "TCP").uppercased() {
        case "UDP": return 17
        case "SCTP": return 132
        default: return 6
        }
    }

    enum Peer {
        case pod(PolicyPod)
        case block(Span)
    }

    /// Compiles the policies for the pods whose addresses are in `local` (all pods when nil).
    public static func compile(policies: [NetworkPolicy], pods: [PolicyPod], namespaces: [PolicyNamespace], local: Set<UInt32>? = nil) -> PolicyCompilation {
        var result = PolicyCompilation()
        let namespaceByName = Dictionary(namespaces.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        for pod in pods {
            if let tenant = namespaceByName[pod.namespace]?.tenant, !tenant.isEmpty { result.tenants[tenant, default: []].append(pod.ip) }
        }
        for policy in policies.sorted(by: { ($0.metadata.namespace ?? "", $0.metadata.name ?? "") < ($1.metadata.namespace ?? "", $1.metadata.name ?? "") }) {
            guard let spec = policy.spec, let selector = try? LabelSelector(spec.podSelector ?? LabelSelectorSpec()) else { continue }
            let namespace = policy.metadata.namespace ?? "default"
            let name = "\(namespace)/\(policy.metadata.name ?? "")"
            let types = spec.effectiveTypes
            let selected = pods.filter { $0.namespace == namespace && selector.matches($0.labels) && (local?.contains($0.ip) ?? true) }
            guard !selected.isEmpty else { continue }
            for pod in selected {
                if types.contains("Ingress") {
                    result.ingressIsolated[pod.ip, default: []].append(name)
                    for (index, rule) in (spec.ingress ?? []).enumerated() {
                        for peer in peers(rule.from, namespace: namespace, pods: pods, namespaces: namespaceByName) {
                            let span: Span
                            switch peer {
                            case .pod(let other): span = Span(other.ip, other.ip)
                            case .block(let block): span = block
                            }
                            // A named port is the destination's: the selected pod's own.
                            for (proto, port) in portSpans(rule.ports, on: pod) {
                                result.ingress.append(PolicyBox(pod: pod.ip, peer: span, proto: proto, port: port, source: "\(name) ingress rule \(index)"))
                            }
                        }
                    }
                }
                if types.contains("Egress") {
                    result.egressIsolated[pod.ip, default: []].append(name)
                    for (index, rule) in (spec.egress ?? []).enumerated() {
                        for peer in peers(rule.to, namespace: namespace, pods: pods, namespaces: namespaceByName) {
                            switch peer {
                            case .pod(let other):
                                for (proto, port) in portSpans(rule.ports, on: other) {
                                    result.egress.append(PolicyBox(pod: pod.ip, peer: Span(other.ip, other.ip), proto: proto, port: port, source: "\(name) egress rule \(index)"))
                                }
                            case .block(let block):
                                for (proto, port) in portSpans(rule.ports, on: nil) {
                                    result.egress.append(PolicyBox(pod: pod.ip, peer: block, proto: proto, port: port, source: "\(name) egress rule \(index)"))
                                }
                            }
                        }
                    }
                }
            }
        }
        return result
    }

    /// The peers of a rule: every address when none are listed; pods by selectors (the
    /// policy's namespace unless a namespaceSelector says otherwise); address blocks less their
    /// exceptions.
    static func peers(_ list: [NetworkPolicyPeer]?, namespace: String, pods: [PolicyPod], namespaces: [String: PolicyNamespace]) -> [Peer] {
        guard let list, !list.isEmpty else { return [.block(.allAddresses)] }
        var result: [Peer] = []
        for peer in list {
            if let block = peer.ipBlock {
                guard let cidr = span(block.cidr) else { continue }
                result += Span.subtract(cidr, (block.except ?? []).compactMap(span)).map { .block($0) }
                continue
            }
            let podSelector = peer.podSelector.flatMap { try? LabelSelector($0) }
            if peer.podSelector != nil && podSelector == nil { continue }
            let namespaceSelector = peer.namespaceSelector.flatMap { try? LabelSelector($0) }
            if peer.namespaceSelector != nil && namespaceSelector == nil { continue }
            for pod in pods {
                if let namespaceSelector {
                    guard namespaceSelector.matches(namespaces[pod.namespace]?.labels ?? [:]) else { continue }
                } else if pod.namespace != namespace {
                    continue
                }
                if let podSelector, !podSelector.matches(pod.labels) { continue }
                result.append(.pod(pod))
            }
        }
        return result
    }

    /// Protocol and port spans of a rule's ports; a named port resolves on `pod` (nothing when
    /// it has no such port).
    static func portSpans(_ ports: [NetworkPolicyPort]?, on pod: PolicyPod?) -> [(Span, Span)] {
        guard let ports, !ports.isEmpty else { return [(.allProtocols, .allPorts)] }
        var result: [(Span, Span)] = []
        for port in ports {
            let proto = protocolNumber(port.protocol)
            switch port.port {
            case nil:
                result.append((Span(proto, proto), .allPorts))
            case .int(let number):
                let end = port.endPort.map { UInt32($0) } ?? UInt32(number)
                result.append((Span(proto, proto), Span(UInt32(number), max(UInt32(number), end))))
            case .string(let name):
                if let number = UInt32(name) {
                    result.append((Span(proto, proto), Span(number, number)))
                } else if let match = pod?.ports.first(where: { $0.name == name && protocolNumber($0.proto) == proto }) {
                    result.append((Span(proto, proto), Span(UInt32(match.port), UInt32(match.port))))
                }
            }
        }
        return result
    }

    /// `A.B.C.D/N` (host bits allowed) as an address span.
    public static func span(_ cidr: String) -> Span? {
        let parts = cidr.split(separator: "/")
        guard parts.count == 2, let address = IPv4.parse(String(parts[0])), let bits = Int(parts[1]), (0...32).contains(bits) else { return nil }
        let mask: UInt32 = bits == 0 ? 0 : ~UInt32(0) << UInt32(32 - bits)
        return Span(address & mask, (address & mask) | ~mask)
    }

    /// The boxes of each pod made disjoint (nftables refuses overlapping elements in a
    /// concatenated interval set): the protocol and port axes are cut at every box boundary,
    /// and within each cell the peers of all covering boxes are merged.
    public static func disjoint(_ boxes: [PolicyBox]) -> [(pod: UInt32, peer: Span, proto: Span, port: Span)] {
        var out: [(pod: UInt32, peer: Span, proto: Span, port: Span)] = []
        for (pod, group) in Dictionary(grouping: boxes, by: \.pod).sorted(by: { $0.key < $1.key }) {
            for protoCell in cells(group.map(\.proto)) {
                let inProto = group.filter { $0.proto.low <= protoCell.low && $0.proto.high >= protoCell.high }
                guard !inProto.isEmpty else { continue }
                var previous: (port: Span, peers: [Span])?
                for portCell in cells(inProto.map(\.port)) {
                    let peers = Span.union(inProto.filter { $0.port.low <= portCell.low && $0.port.high >= portCell.high }.map(\.peer))
                    if var run = previous, run.peers == peers, UInt64(run.port.high) + 1 == UInt64(portCell.low) {
                        run.port.high = portCell.high
                        previous = run
                        continue
                    }
                    if let run = previous { out += run.peers.map { (pod, $0, protoCell, run.port) } }
                    previous = peers.isEmpty ? nil : (portCell, peers)
                }
                if let run = previous { out += run.peers.map { (pod, $0, protoCell, run.port) } }
            }
        }
        return out
    }

    /// The elementary intervals that the spans' boundaries cut their union into.
    static func cells(_ spans: [Span]) -> [Span] {
        var cuts = Set<UInt64>()
        for span in spans {
            cuts.insert(UInt64(span.low))
            cuts.insert(UInt64(span.high) + 1)
        }
        let sorted = cuts.sorted()
        var result: [Span] = []
        for index in 0..<max(0, sorted.count - 1) {
            let low = sorted[index], high = sorted[index + 1] - 1
            if spans.contains(where: { UInt64($0.low) <= low && UInt64($0.high) >= high }) { result.append(Span(UInt32(low), UInt32(high))) }
        }
        return result
    }
}
