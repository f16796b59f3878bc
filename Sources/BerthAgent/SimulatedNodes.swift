import BerthClient
import BerthCore
import BerthNetwork
import Foundation
import Logging
import ServiceLifecycle
import Synchronization

/// `berth agent --simulate N`: N nodes `PREFIX-0` … `PREFIX-N-1` whose fake runtime reports every
/// pod bound to them Running and Ready at once, and finishes deletions at once (like
/// Kubernetes' KWOK). They register, renew their Leases and answer the scheduler and
/// controllers like real nodes, so scale tests exercise the whole control plane without
/// containers.
public struct SimulatedNodes: ServiceLifecycle.Service, Sendable {
    let prefix: String
    let count: Int
    let client: APIClient
    let logger: Logger
    /// Lease renewals per node, as often as a real agent renews (the node controller's grace
    /// is 10 s).
    var heartbeatInterval = AgentConfiguration.defaultHeartbeatInterval
    /// Concurrent API calls.
    var concurrency = 32
    /// Each node's pod subnet, as the control plane assigned it.
    let subnets = SimulatedSubnets()
    /// The pods each node runs, for the nodes' stats and metrics.
    let pods = SimulatedPodTable()
    let startedAt = Date()
    /// `https://ADDRESS:PORT` of the endpoint serving the nodes' stats and metrics, once it
    /// listens; each node's `berth.dev/agent-endpoint` annotation names its path under it.
    public let endpoint = SimulatedEndpointAddress()

    /// The annotation through which a node names its agent endpoint when it is not
    /// `https://INTERNAL-IP:10250` (simulated nodes share one endpoint of their simulator).
    public static let endpointAnnotation = "berth.dev/agent-endpoint"

    /// Simulated nodes repel every pod that does not tolerate this (as KWOK's nodes do): a
    /// workload that lands on one shows Running but has no container, no logs and no address
    /// anyone can reach. Scale tests and benchmarks tolerate it.
    public static let taint = Taint(key: "berth.dev/simulated", value: "true", effect: "NoSchedule")

    public init(prefix: String, count: Int, client: APIClient, logger: Logger) {
        self.prefix = prefix
        self.count = count
        self.client = client
        self.logger = logger
    }

    var names: [String] { (0..<count).map { "\(prefix)-\($0)" } }

    public func run() async throws {
        await endpoint.waitIfExpected()
        try await register()
        try await learnSubnets()
        logger.info("simulated nodes registered", metadata: ["count": "\(count)", "prefix": "\(prefix)"])
        await cancelWhenGracefulShutdown {
            await withDiscardingTaskGroup { group in
                group.addTask { await renewLeases() }
                group.addTask { await runPods() }
            }
        }
    }

    /// Creates (or refreshes) every Node with capacity, addresses and a Ready condition. A node
    /// whose registration fails is retried, as a real agent retries, rather than ending the rest.
    func register() async throws {
        try await forEach(names) { index, name in
            var attempt = 0
            while true {
                do {
                    try await registerNode(index: index, name: name)
                    return
                } catch {
                    attempt += 1
                    if attempt % 10 == 1 { logger.warning("simulated node registration failed, retrying", metadata: ["node": "\(name)", "error": "\(error)"]) }
                    try await Task.sleep(for: .milliseconds(min(100 * attempt, 2_000)))
                }
            }
        }
    }

    private func registerNode(index: Int, name: String) async throws {
        let node = nodeObject(index: index, name: name)
        let reply = try await client.request(.POST, "/api/v1/nodes", body: JSONWriter.bytes(node))
        if reply.status == 409 {
            // Registered by an earlier run: its endpoint's port has changed.
            if let annotations = node.value(at: ["metadata", "annotations"]), annotations != [:] {
                _ = try await client.request(.PATCH, "/api/v1/nodes/\(name)", body: JSONWriter.bytes(["metadata": ["annotations": annotations]]),
                                             contentType: "application/merge-patch+json").checked()
            }
            _ = try await client.request(.PATCH, "/api/v1/nodes/\(name)/status", body: JSONWriter.bytes(["status": node["status"] ?? [:]]),
                                         contentType: "application/merge-patch+json").checked()
        } else {
            _ = try reply.checked()
        }
    }

    func nodeObject(index: Int, name: String) -> JSONValue {
        let now = JSONValue.string(TableCells.formatTimestamp(Date()))
        let resources: JSONValue = ["cpu": "32", "memory": "128Gi", "pods": "110", "ephemeral-storage": "100Gi"]
        let annotations: JSONValue = endpoint.base.map { [Self.endpointAnnotation: .string("\($0)/nodes/\(name)")] } ?? [:]
        return [
            "apiVersion": "v1", "kind": "Node",
            "metadata": ["name": .string(name), "annotations": annotations, "labels": [
                "kubernetes.io/hostname": .string(name), "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64",
                "topology.kubernetes.io/zone": .string("zone-\(index % 3)"), "berth.dev/simulated": "true",
            ]],
            "spec": ["taints": [["key": .string(Self.taint.key), "value": .string(Self.taint.value ?? ""), "effect": .string(Self.taint.effect)]]],
            "status": [
                "capacity": resources, "allocatable": resources,
                "conditions": [["type": "Ready", "status": "True", "reason": "SimulatedNodeReady", "message": "simulated by berth agent --simulate",
                                "lastHeartbeatTime": now, "lastTransitionTime": now]],
                "addresses": [["type": "Hostname", "address": .string(name)]],
                "nodeInfo": ["machineID": .string(name), "systemUUID": .string(name), "bootID": .string(name), "kernelVersion": "simulated",
                             "osImage": "simulated", "containerRuntimeVersion": "simulated", "kubeletVersion": .string("v1.33.0-berth.sim"),
                             "operatingSystem": "linux", "architecture": "amd64"],
            ],
        ]
    }

    /// Waits until the control plane has given every node a pod subnet (its node IPAM
    /// controller, as for real nodes: two simulators joined to one server used to pick the
    /// same ranges), then reports the subnet's first address as the node's InternalIP.
    func learnSubnets() async throws {
        let wanted = Set(names)
        var attempt = 0
        while subnets.count < wanted.count {
            let reply = try await client.request(.GET, "/api/v1/nodes?labelSelector=berth.dev/simulated%3Dtrue").checked()
            for node in try JSONParser.parse(reply.body)["items"]?.arrayValue ?? [] {
                guard let name = node.value(at: ["metadata", "name"])?.stringValue, wanted.contains(name),
                      let cidr = node.value(at: ["spec", "podCIDR"])?.stringValue, let index = Int(name.dropFirst(prefix.count + 1)),
                      let base = IPv4Network(cidr)?.base else { continue }
                subnets.set(index, base: base)
            }
            if subnets.count < wanted.count {
                attempt += 1
                if attempt % 50 == 0 { logger.warning("waiting for the control plane to assign pod subnets", metadata: ["assigned": "\(subnets.count)", "nodes": "\(wanted.count)"]) }
                try await Task.sleep(for: .milliseconds(200))
            }
        }
        try await forEach(names) { index, name in
            let addresses: JSONValue = [["type": "InternalIP", "address": .string(podAddress(index, 1))], ["type": "Hostname", "address": .string(name)]]
            _ = try await client.request(.PATCH, "/api/v1/nodes/\(name)/status", body: JSONWriter.bytes(["status": ["addresses": addresses]]),
                                         contentType: "application/merge-patch+json").checked()
        }
    }

    /// Address `host` of the node's pod subnet.
    func podAddress(_ index: Int, _ host: Int) -> String { IPv4Network.format(subnets.base(index) + UInt32(host)) }

    func renewLeases() async {
        while !Task.isCancelled {
            let stamp = JSONValue.string(Self.microTime(Date()))
            try? await forEach(names) { _, name in
                let path = "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/\(name)"
                let reply = try await client.request(.PATCH, path, body: JSONWriter.bytes(["spec": ["renewTime": stamp, "holderIdentity": .string(name)]]),
                                                     contentType: "application/merge-patch+json")
                if reply.status == 404 {
                    let lease: JSONValue = [
                        "apiVersion": "coordination.k8s.io/v1", "kind": "Lease", "metadata": ["name": .string(name), "namespace": "kube-node-lease"],
                        "spec": ["holderIdentity": .string(name), "leaseDurationSeconds": 40, "renewTime": stamp, "acquireTime": stamp],
                    ]
                    _ = try await client.request(.POST, "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases", body: JSONWriter.bytes(lease))
                }
            }
            try? await Task.sleep(for: heartbeatInterval)
        }
    }

    /// Runs `body` for every element with bounded concurrency; the first error is rethrown.
    func forEach(_ items: [String], _ body: @escaping @Sendable (Int, String) async throws -> Void) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            var next = 0
            for _ in 0..<min(concurrency, items.count) {
                let index = next
                group.addTask { try await body(index, items[index]) }
                next += 1
            }
            while try await group.next() != nil {
                guard next < items.count else { continue }
                let index = next
                group.addTask { try await body(index, items[index]) }
                next += 1
            }
        }
    }

    static func microTime(_ date: Date) -> String { NodeRegistration.microTime(date) }
}

/// Where the simulator's endpoint listens, known once it is bound to a free port.
public final class SimulatedEndpointAddress: Sendable {
    private let state = Mutex<(expected: Bool, base: String?)>((false, nil))

    public init() {}

    var base: String? { state.withLock { $0.base } }
    /// An endpoint will be started: registration waits for its address.
    public func expect() { state.withLock { $0.expected = true } }
    public func set(_ base: String) { state.withLock { $0.base = base } }

    /// Up to 10 s for the endpoint to listen; nodes register without it after that.
    func waitIfExpected() async {
        for _ in 0..<200 {
            let (expected, base) = state.withLock { ($0.expected, $0.base) }
            if !expected || base != nil { return }
            try? await Task.sleep(for: .milliseconds(50))
        }
    }
}

/// Node index → the first address of its pod subnet.
final class SimulatedSubnets: Sendable {
    private let bases = Mutex<[Int: UInt32]>([:])

    var count: Int { bases.withLock { $0.count } }
    func set(_ index: Int, base: UInt32) { bases.withLock { $0[index] = base } }
    func base(_ index: Int) -> UInt32 { bases.withLock { $0[index] ?? 0 } }
}
