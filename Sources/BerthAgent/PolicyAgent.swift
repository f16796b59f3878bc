import BerthClient
import BerthCore
import BerthNetwork
import Foundation
import Logging

/// Enforces NetworkPolicy and tenant isolation for the pods of this node: watches pods,
/// namespaces and policies cluster-wide (selectors name pods anywhere), compiles them for the
/// local pods and replaces the node's policy table on every change, usually within tens of
/// milliseconds of the API write.
public struct PolicyAgent: Sendable {
    static let pods = "/api/v1/pods"
    static let namespaces = "/api/v1/namespaces"
    static let policies = "/apis/networking.k8s.io/v1/networkpolicies"

    let client: APIClient
    let nodeName: String
    let table: String
    /// On the node's bridge, or (underlay mode) in each local pod's namespace.
    let placement: PolicyRules.Placement
    /// The tables of this node's pods' namespaces (underlay mode).
    let podTables: PodTables?
    let logger: Logger

    init(client: APIClient, nodeName: String, table: String, placement: PolicyRules.Placement = .bridge,
         podTables: PodTables? = nil, logger: Logger) {
        self.client = client
        self.nodeName = nodeName
        self.table = table
        self.placement = placement
        self.podTables = podTables
        self.logger = logger
    }

    func run() async {
        let cache = ObjectCache()
        let (logger, client) = (self.logger, self.client)
        await withDiscardingTaskGroup { group in
            // Only pods with an address matter to policies; holding just what the compiler
            // reads keeps memory and recompiles proportional to running pods, not all pods.
            group.addTask { await cache.watch(Self.pods, client: client, logger: logger, keep: Self.policyView) }
            for kind in [Self.namespaces, Self.policies] {
                group.addTask { await cache.watch(kind, client: client, logger: logger) }
            }
            group.addTask { await applyLoop(cache) }
        }
    }

    private func applyLoop(_ cache: ObjectCache) async {
        let applier = TableApplier(logger: logger, what: "policy")
        let kinds = [Self.pods, Self.namespaces, Self.policies]
        for await _ in cache.changes {
            try? await Task.sleep(for: .milliseconds(20))
            guard cache.synced(kinds) else { continue }
            let objects = cache.snapshot(kinds)
            let compilation = Self.compile(pods: objects[0], namespaces: objects[1], policies: objects[2], nodeName: nodeName)
            switch placement {
            case .bridge: await applier.apply(PolicyRules.render(compilation, table: table))
            case .podNamespace: await podTables?.publish("policy", PolicyRules.render(compilation, table: table, placement: placement))
            }
        }
    }

    /// What the compiler reads of a pod (namespace, name, labels, node, named ports, address),
    /// or nil for a pod no policy can match (no address yet, host network).
    @Sendable static func policyView(_ object: JSONValue) -> JSONValue? {
        guard PolicyPod(object: object) != nil else { return nil }
        let metadata = object["metadata"]
        let containers = (object["spec"]?["containers"]?.arrayValue ?? []).map { container -> JSONValue in
            ["ports": container["ports"] ?? []]
        }
        return [
            "metadata": ["namespace": metadata?["namespace"] ?? .null, "name": metadata?["name"] ?? .null, "labels": metadata?["labels"] ?? [:]],
            "spec": ["nodeName": object["spec"]?["nodeName"] ?? .null, "containers": .array(containers)],
            "status": ["podIP": object["status"]?["podIP"] ?? .null],
        ]
    }

    /// The compilation for the pods of `nodeName` (all pods when nil, as `berth trace` needs).
    public static func compile(pods: [String: JSONValue], namespaces: [String: JSONValue], policies: [String: JSONValue], nodeName: String?) -> PolicyCompilation {
        var all: [PolicyPod] = []
        var local = Set<UInt32>()
        // Read straight from the stored JSON: decoding every Pod of the cluster on every change
        // made this loop O(pods) Codable work per pod write (half the CPU of `berth up` while
        // 40,000 pods were created).
        for object in pods.values {
            guard let entry = PolicyPod(object: object) else { continue }
            all.append(entry)
            if nodeName == nil || object["spec"]?["nodeName"]?.stringValue == nodeName { local.insert(entry.ip) }
        }
        let spaces = policyNamespaces(namespaces)
        let decoded = policies.values.compactMap { try? $0.decode(NetworkPolicy.self) }
        return PolicyCompiler.compile(policies: decoded, pods: all, namespaces: spaces, local: nodeName == nil ? nil : local)
    }

    /// Namespaces with their labels (plus `kubernetes.io/metadata.name`, which Kubernetes sets
    /// and selectors rely on) and tenants.
    public static func policyNamespaces(_ namespaces: [String: JSONValue]) -> [PolicyNamespace] {
        namespaces.values.compactMap { object -> PolicyNamespace? in
            guard let name = object["metadata"]?["name"]?.stringValue else { return nil }
            let labels = (object["metadata"]?["labels"]?.objectValue ?? [:]).compactMapValues(\.stringValue)
            return PolicyNamespace(name: name, labels: labels.merging(["kubernetes.io/metadata.name": name]) { a, _ in a },
                                   tenant: object["metadata"]?["annotations"]?[PolicyNamespace.tenantAnnotation]?.stringValue)
        }
    }
}
