import BerthCore
import BerthImages
import BerthRegistry
import BerthStore
import Foundation
import Logging
import ServiceLifecycle
import Synchronization

/// Runs the RegistryReplications: a push replication copies a tag out as soon as the store
/// shows it pushed (a watch on the registry's tag keys, so a push through any server
/// triggers it), and every replication makes a full, incremental pass when first seen and
/// at each time of its cron schedule. Status records the last run, errors, images and bytes
/// copied, and the lag from push to copy.
final class RegistryReplicator: ServiceLifecycle.Service, Sendable {
    let server: APIServer
    let registry: ImageRegistry
    let logger: Logger
    /// Tags pushed and not yet handled, with when the watch saw them.
    private let pending = Mutex<[(repository: String, tag: String, seen: ContinuousClock.Instant)]>([])
    /// When each replication last ran here (a schedule's reference point before status has one).
    private let lastRuns = Mutex<[String: Date]>([:])

    init(server: APIServer, registry: ImageRegistry, logger: Logger) {
        self.server = server
        self.registry = registry
        self.logger = logger
    }

    func run() async throws {
        try await cancelWhenGracefulShutdown {
            await withTaskGroup(of: Void.self) { group in
                group.addTask { await self.watchTags() }
                group.addTask { await self.loop() }
                await group.next()
                group.cancelAll()
            }
        }
    }

    /// Tag writes, from the store's watch (restarted from now if it breaks).
    func watchTags() async {
        let prefix = RegistryKeys.repos
        while !Task.isCancelled {
            do {
                let revision = try await registry.metadata.kv.currentRevision()
                for try await batch in try await registry.metadata.kv.watch(prefix: prefix, after: revision) {
                    let now = ContinuousClock.now
                    var found: [(String, String, ContinuousClock.Instant)] = []
                    for event in batch where event.kind == .put {
                        let rest = event.kv.key.dropFirst(prefix.count)
                        guard let marker = rest.range(of: "/_tags/") else { continue }
                        found.append((String(rest[..<marker.lowerBound]), String(rest[marker.upperBound...]), now))
                    }
                    if !found.isEmpty { pending.withLock { $0 += found.map { (repository: $0.0, tag: $0.1, seen: $0.2) } } }
                }
            } catch {
                if Task.isCancelled { return }
                logger.warning("registry replication: the tag watch broke; restarting", metadata: ["error": "\(error)"])
                try? await Task.sleep(for: .seconds(1))
            }
        }
    }

    /// Every 100 ms: pushes seen since are copied; once a second (or with pushes pending) the
    /// replications are read again and scheduled passes run.
    func loop() async {
        var lastRead = ContinuousClock.now - .seconds(1)
        while !Task.isCancelled {
            try? await Task.sleep(for: .milliseconds(100))
            if Task.isCancelled { return }
            let hasPending = pending.withLock { !$0.isEmpty }
            guard hasPending || ContinuousClock.now - lastRead >= .seconds(1) else { continue }
            lastRead = ContinuousClock.now
            let replications: [RegistryReplication]
            do { replications = try await server.registryReplications() } catch {
                logger.warning("registry replication: cannot read replications", metadata: ["error": "\(error.message)"])
                continue
            }
            let pushed = pending.withLock { events in defer { events = [] }; return events }
            for replication in replications {
                let name = replication.metadata.name ?? ""
                if replication.spec.mode == "push", replication.spec.trigger?.onPush ?? true {
                    let matching = pushed.filter {
                        ReplicationPlan.selected($0.repository, by: replication.spec.repositories) && ReplicationPlan.selected($0.tag, by: replication.spec.tags)
                    }
                    if !matching.isEmpty { await onPush(replication, matching) }
                }
                if isDue(replication, name: name) { await fullPass(replication) }
            }
        }
    }

    /// First seen here, or its schedule has a time since the last run. A pull-through cache
    /// without a schedule fetches only on demand.
    func isDue(_ replication: RegistryReplication, name: String) -> Bool {
        if replication.spec.pullThrough == true, replication.spec.trigger?.schedule == nil { return false }
        let last = lastRuns.withLock { $0[name] } ?? replication.status?.lastRun.flatMap { TableCells.parseTimestamp($0) }
        guard let last else { return true }
        guard let text = replication.spec.trigger?.schedule, let schedule = try? CronSchedule(text),
              let next = schedule.next(after: last) else { return false }
        return next <= server.clock.now()
    }

    func onPush(_ replication: RegistryReplication, _ events: [(repository: String, tag: String, seen: ContinuousClock.Instant)]) async {
        await withRemote(replication) { (copy, tally) throws(BerthError) -> Double? in
            var lag: Double?
            for event in events {
                guard let repository = try? RepositoryName(event.repository) else { continue }
                if try await copy.push(repository, tag: event.tag, tally: tally) {
                    let elapsed = ContinuousClock.now - event.seen
                    lag = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
                }
            }
            return lag
        }
    }

    func fullPass(_ replication: RegistryReplication) async {
        lastRuns.withLock { $0[replication.metadata.name ?? ""] = server.clock.now() }
        await withRemote(replication) { (copy, tally) throws(BerthError) -> Double? in
            let spec = replication.spec
            if spec.mode == "push" {
                for name in try await registry.metadata.repositories(after: nil, limit: 0).names where ReplicationPlan.selected(name, by: spec.repositories) {
                    let repository = try RepositoryName(name)
                    for (tag, _) in try await registry.metadata.allTags(in: repository) where ReplicationPlan.selected(tag, by: spec.tags) {
                        _ = try await copy.push(repository, tag: tag, tally: tally)
                    }
                }
            } else {
                let patterns = spec.repositories ?? []
                let literal = !patterns.isEmpty && !patterns.contains { $0.contains("*") || $0.contains("?") }
                let names = literal ? patterns : try await copy.remote.catalog().filter { ReplicationPlan.selected($0, by: spec.repositories) }
                for name in names {
                    let repository = try RepositoryName(name)
                    for tag in try await copy.remote.tags(name) where ReplicationPlan.selected(tag, by: spec.tags) {
                        _ = try await copy.pull(repository, reference: tag, tally: tally)
                    }
                }
            }
            return nil
        }
    }

    /// Runs `body` against the replication's remote and records the outcome in its status.
    func withRemote(_ replication: RegistryReplication, _ body: (ReplicationCopy, ReplicationCopy.Tally) async throws(BerthError) -> Double?) async {
        let tally = ReplicationCopy.Tally()
        var failure: String?
        var lag: Double?
        do {
            let remote = try await server.remoteRegistry(for: replication.spec.remote)
            defer { Task { await remote.shutdown() } }
            lag = try await body(ReplicationCopy(server: server, registry: registry, remote: remote), tally)
        } catch {
            failure = error.message
            logger.warning("registry replication failed", metadata: ["replication": "\(replication.metadata.name ?? "")", "error": "\(error.message)"])
        }
        await recordStatus(replication.metadata.name ?? "", tally: tally, lag: lag, failure: failure)
    }

    func recordStatus(_ name: String, tally: ReplicationCopy.Tally, lag: Double?, failure: String?) async {
        for _ in 0..<5 {
            guard let object = try? await server.storage.get(.registryReplication, namespace: nil, name: name),
                  let revision = object.value(at: ["metadata", "resourceVersion"])?.stringValue.flatMap(Int64.init) else { return }
            var status = (try? object["status"]?.decode(RegistryReplicationStatus.self)) ?? RegistryReplicationStatus()
            let now = server.clock.timestamp()
            status.lastRun = now
            if let failure { status.lastError = failure } else { status.lastSuccess = now; status.lastError = nil }
            status.images = (status.images ?? 0) + tally.images
            status.bytes = (status.bytes ?? 0) + tally.bytes
            if let lag { status.lagSeconds = (lag * 1000).rounded() / 1000 }
            var updated = object
            guard let encoded = try? JSONValue(encoding: status) else { return }
            updated["status"] = encoded
            do {
                _ = try await server.storage.update(.registryReplication, updated, expectedRevision: revision)
                return
            } catch {
                if error.code != .conflict { return }
            }
        }
    }
}

extension APIServer {
    func registryReplications() async throws(BerthError) -> [RegistryReplication] {
        try await storage.list(.registryReplication, namespace: nil, limit: 0, continueAfter: nil).kvs.compactMap { kv in
            try? ObjectCodec.decode(kv).decode(RegistryReplication.self)
        }
    }

    /// The remote of a replication, with the credentials and CA of its Secret.
    func remoteRegistry(for remote: RegistryRemote) async throws(BerthError) -> RemoteRegistry {
        var credential: RegistryCredential?
        var ca: String?
        if let reference = remote.secretRef {
            let secret = try await storage.get(.secret, namespace: reference.namespace ?? "berth-system", name: reference.name)
            func value(_ key: String) -> String? {
                secret.value(at: ["data", key])?.stringValue.flatMap { Data(base64Encoded: $0) }.map { String(decoding: $0, as: UTF8.self) }
            }
            let host = URL(string: remote.url)?.host ?? ""
            if let token = value("token") {
                credential = RegistryCredential(registry: host, username: "berth", password: token)
            } else if let username = value("username"), let password = value("password") {
                credential = RegistryCredential(registry: host, username: username, password: password)
            }
            ca = value("ca.crt")
        }
        return try RemoteRegistry(url: remote.url, credential: credential, caPEM: ca, insecureSkipTLSVerify: remote.insecureSkipTLSVerify ?? false)
    }

    /// The replication service, when the registry runs.
    public var registryReplication: (any ServiceLifecycle.Service)? {
        imageRegistry.map { RegistryReplicator(server: self, registry: $0, logger: logger) }
    }
}
