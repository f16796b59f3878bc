import BerthCore
import BerthMetrics
import Foundation
import Logging

/// Leader election through a `Lease` in kube-system, so several servers can share one store and
/// only one runs the controllers. The holder renews every `renewInterval`; others take over once
/// `leaseDuration` passes without a renewal. Writes use the Lease's resourceVersion, so two
/// candidates can never both win.
public struct LeaderElection: Sendable {
    let api: ResourceAPI
    let name: String
    let identity: String
    let leaseDuration: Duration
    let renewInterval: Duration
    let logger: Logger

    public init(api: ResourceAPI, name: String = "berth-controller-manager", identity: String,
                leaseDuration: Duration = .seconds(15), renewInterval: Duration = .seconds(2), logger: Logger) {
        self.api = api
        self.name = name
        self.identity = identity
        self.leaseDuration = leaseDuration
        self.renewInterval = renewInterval
        self.logger = logger
    }

    /// 1 while this process holds the lease (client-go's name for it).
    static let status = MetricsRegistry.process.gauge("leader_election_master_status", help: "Gauge of if the reporting system is master of the relevant lease, 0 indicates backup, 1 indicates master.",
                                                      labels: ["name"])

    /// Runs `work` while this process holds the lease; returns when cancelled.
    public func run(_ work: @escaping @Sendable () async -> Void) async {
        Self.status.set(0, name)
        defer { Self.status.set(0, name) }
        while !Task.isCancelled {
            // A lease won while the process was already stopping starts nothing.
            if await tryAcquireOrRenew(), !Task.isCancelled {
                logger.info("leader election won, starting controllers", metadata: ["identity": "\(identity)"])
                Self.status.set(1, name)
                await withTaskGroup(of: Void.self) { group in
                    group.addTask { await work() }
                    group.addTask {
                        // Keep renewing; losing the lease stops the work.
                        while !Task.isCancelled {
                            try? await Task.sleep(for: renewInterval)
                            if !(await tryAcquireOrRenew()) { break }
                        }
                    }
                    await group.next()
                    group.cancelAll()
                }
                Self.status.set(0, name)
                if Task.isCancelled { return }
                logger.warning("leader election lost, controllers stopped", metadata: ["identity": "\(identity)"])
            }
            try? await Task.sleep(for: renewInterval)
        }
    }

    func tryAcquireOrRenew() async -> Bool {
        let now = Date()
        let stamp = microTime(now)
        do {
            guard var lease = try await api.get(ResourceDescriptor.lease, namespace: "kube-system", name: name, as: Lease.self) else {
                var metadata = ObjectMeta(name: name, namespace: "kube-system")
                metadata.labels = ["app.kubernetes.io/managed-by": "berth"]
                let spec = try JSONValue.object(["holderIdentity": .string(identity), "leaseDurationSeconds": .number(String(leaseDuration.components.seconds)),
                                                 "acquireTime": .string(stamp), "renewTime": .string(stamp), "leaseTransitions": 0]).decode(LeaseSpec.self)
                try await api.create(ResourceDescriptor.lease, namespace: "kube-system", Lease(metadata: metadata, spec: spec))
                return true
            }
            let holder = lease.spec?.holderIdentity ?? ""
            if holder != identity, !holder.isEmpty {
                let renewed = lease.spec?.renewTime.flatMap(Self.parseMicroTime) ?? .distantPast
                let duration = TimeInterval(lease.spec?.leaseDurationSeconds ?? 15)
                if renewed.addingTimeInterval(duration) > now { return false }
                let transitions = (lease.spec?.leaseTransitions ?? 0) + 1
                lease.spec?.leaseTransitions = transitions
                lease.spec?.acquireTime = stamp
            }
            lease.spec?.holderIdentity = identity
            lease.spec?.renewTime = stamp
            try await api.update(ResourceDescriptor.lease, lease)
            return true
        } catch {
            logger.debug("leader election attempt failed", metadata: ["error": "\(error)"])
            return false
        }
    }

    func microTime(_ date: Date) -> String {
        RFC3339.microseconds(date)
    }

    static func parseMicroTime(_ text: String) -> Date? {
        RFC3339.parse(text)
    }
}
