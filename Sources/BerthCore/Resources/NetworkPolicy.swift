/// `networking.k8s.io/v1` NetworkPolicy: which traffic the selected pods accept and send.
public struct NetworkPolicy: Codable, Sendable, Hashable {
    public var apiVersion: String? = "networking.k8s.io/v1"
    public var kind: String? = "NetworkPolicy"
    public var metadata: ObjectMeta
    public var spec: NetworkPolicySpec?
}

public struct NetworkPolicySpec: Codable, Sendable, Hashable {
    public var podSelector: LabelSelectorSpec?
    public var ingress: [NetworkPolicyIngressRule]?
    public var egress: [NetworkPolicyEgressRule]?
    public var policyTypes: [String]?

    /// The directions the policy isolates: as given, or Ingress (plus Egress when egress rules
    /// exist) as Kubernetes defaults them.
    public var effectiveTypes: Set<String> {
        if let policyTypes, !policyTypes.isEmpty { return Set(policyTypes) }
        return egress == nil ? ["Ingress"] : ["Ingress", "Egress"]
    }
}

public struct NetworkPolicyIngressRule: Codable, Sendable, Hashable {
    public var ports: [NetworkPolicyPort]?
    public var from: [NetworkPolicyPeer]?
}

public struct NetworkPolicyEgressRule: Codable, Sendable, Hashable {
    public var ports: [NetworkPolicyPort]?
    public var to: [NetworkPolicyPeer]?
}

public struct NetworkPolicyPeer: Codable, Sendable, Hashable {
    public var podSelector: LabelSelectorSpec?
    public var namespaceSelector: LabelSelectorSpec?
    public var ipBlock: IPBlock?
}

public struct IPBlock: Codable, Sendable, Hashable {
    public var cidr: String
    public var except: [String]?
}

public struct NetworkPolicyPort: Codable, Sendable, Hashable {
    public var `protocol`: String?
    public var port: IntOrString?
    public var endPort: Int32?
}

extension NetworkPolicy: APIResource {
    public static func applyDefaults(_ object: inout NetworkPolicy) {
        guard var spec = object.spec else { return }
        if spec.podSelector == nil { spec.podSelector = LabelSelectorSpec() }
        func defaulted(_ ports: [NetworkPolicyPort]?) -> [NetworkPolicyPort]? {
            ports?.map { port in
                var port = port
                if port.protocol == nil { port.protocol = "TCP" }
                return port
            }
        }
        spec.ingress = spec.ingress?.map { rule in
            var rule = rule
            rule.ports = defaulted(rule.ports)
            return rule
        }
        spec.egress = spec.egress?.map { rule in
            var rule = rule
            rule.ports = defaulted(rule.ports)
            return rule
        }
        if spec.policyTypes == nil || spec.policyTypes?.isEmpty == true { spec.policyTypes = spec.effectiveTypes.sorted() }
        object.spec = spec
    }

    public static func validate(_ object: NetworkPolicy, old: NetworkPolicy?) -> FieldErrors {
        var errors = FieldErrors()
        guard let spec = object.spec else {
            errors.required("spec")
            return errors
        }
        if let selector = spec.podSelector { MetaValidation.validateSelector(selector, path: "spec.podSelector", into: &errors) }
        for (index, type) in (spec.policyTypes ?? []).enumerated() where type != "Ingress" && type != "Egress" {
            errors.notSupported("spec.policyTypes[\(index)]", type, ["Egress", "Ingress"])
        }
        for (index, rule) in (spec.ingress ?? []).enumerated() {
            validatePorts(rule.ports, path: "spec.ingress[\(index)].ports", into: &errors)
            validatePeers(rule.from, path: "spec.ingress[\(index)].from", into: &errors)
        }
        for (index, rule) in (spec.egress ?? []).enumerated() {
            validatePorts(rule.ports, path: "spec.egress[\(index)].ports", into: &errors)
            validatePeers(rule.to, path: "spec.egress[\(index)].to", into: &errors)
        }
        return errors
    }

    static func validatePorts(_ ports: [NetworkPolicyPort]?, path: String, into errors: inout FieldErrors) {
        for (index, port) in (ports ?? []).enumerated() {
            let field = "\(path)[\(index)]"
            if let proto = port.protocol, !["TCP", "UDP", "SCTP"].contains(proto) {
                errors.notSupported("\(field).protocol", proto, ["SCTP", "TCP", "UDP"])
            }
            switch port.port {
            case .int(let number):
                if !(1...65535).contains(number) { errors.invalid("\(field).port", String(number), "must be between 1 and 65535, inclusive") }
                if let end = port.endPort {
                    if !(1...65535).contains(Int(end)) {
                        errors.invalid("\(field).endPort", String(end), "must be between 1 and 65535, inclusive")
                    } else if Int(end) < number {
                        errors.invalid("\(field).endPort", String(end), "must be greater than or equal to `port`")
                    }
                }
            case .string(let name):
                errors.check("\(field).port", name, NameValidation.portNameProblem(name))
                if port.endPort != nil { errors.invalid("\(field).endPort", String(port.endPort ?? 0), "may not be specified when `port` is non-numeric") }
            case nil:
                if port.endPort != nil { errors.invalid("\(field).endPort", String(port.endPort ?? 0), "may not be specified when `port` is not specified") }
            }
        }
    }

    static func validatePeers(_ peers: [NetworkPolicyPeer]?, path: String, into errors: inout FieldErrors) {
        for (index, peer) in (peers ?? []).enumerated() {
            let field = "\(path)[\(index)]"
            let kinds = [peer.podSelector != nil || peer.namespaceSelector != nil, peer.ipBlock != nil].filter { $0 }.count
            if kinds == 0 { errors.required("\(field)") }
            if kinds > 1 { errors.forbidden(field, "may not specify more than 1 peer type") }
            if let selector = peer.podSelector { MetaValidation.validateSelector(selector, path: "\(field).podSelector", into: &errors) }
            if let selector = peer.namespaceSelector { MetaValidation.validateSelector(selector, path: "\(field).namespaceSelector", into: &errors) }
            if let block = peer.ipBlock {
                guard let network = CIDR(block.cidr) else {
                    errors.invalid("\(field).ipBlock.cidr", block.cidr, "must be a valid CIDR such as 100.96.0.0/16")
                    continue
                }
                for (number, text) in (block.except ?? []).enumerated() {
                    guard let excluded = CIDR(text) else {
                        errors.invalid("\(field).ipBlock.except[\(number)]", text, "must be a valid CIDR such as 100.96.1.0/24")
                        continue
                    }
                    if !(excluded.prefix >= network.prefix && excluded.base & network.mask == network.base) {
                        errors.invalid("\(field).ipBlock.except[\(number)]", text, "must be a strict subset of `cidr`")
                    }
                }
            }
        }
    }

    /// An IPv4 CIDR, host bits allowed as Kubernetes allows them in ipBlock (`100.96.0.5/16`).
    struct CIDR {
        var base: UInt32
        var prefix: Int
        var mask: UInt32 { prefix == 0 ? 0 : ~UInt32(0) << UInt32(32 - prefix) }

        init?(_ text: String) {
            let parts = text.split(separator: "/", omittingEmptySubsequences: false)
            guard parts.count == 2, let address = IPv4.parse(String(parts[0])), parts[1].allSatisfy(\.isNumber),
                  let bits = Int(parts[1]), (0...32).contains(bits) else { return nil }
            prefix = bits
            base = 0
            base = address & mask
        }
    }
}
