import BerthMetrics
import BerthRuntime
import Foundation
import Logging
import Synchronization

/// The node's pressure conditions, as the eviction loop last judged them: a condition is
/// True while its signal is below its threshold and for the transition period after.
final class NodePressure: Sendable {
    struct State: Sendable {
        var since: [String: ContinuousClock.Instant] = [:]
        var messages: [String: String] = [:]
    }

    private let state = Mutex(State())
    let transition: Duration

    init(transition: Duration) { self.transition = transition }

    func note(_ crossings: [EvictionThresholds.Crossing], now: ContinuousClock.Instant) {
        state.withLock { state in
            for crossing in crossings {
                state.since[crossing.signal.condition] = now
                state.messages[crossing.signal.condition] = crossing.message
            }
        }
    }

    /// Whether `condition` is True now, and the message to report with it.
    func current(_ condition: String, now: ContinuousClock.Instant = .now) -> (pressure: Bool, message: String) {
        state.withLock { state in
            guard let since = state.since[condition], now - since < transition else { return (false, "") }
            return (true, state.messages[condition] ?? "")
        }
    }
}

/// The kubelet's eviction manager: every `evictionInterval` it measures memory, the data
/// filesystem (bytes and inodes), the images' filesystem and the pid space against the hard
/// thresholds, marks the pressure conditions (and heartbeats at once when one appears), and
/// while a threshold is crossed evicts one pod per round in `EvictionRanking`'s order.
struct EvictionManager: Sendable {
    let configuration: AgentConfiguration
    let manager: PodManager
    let pressure: NodePressure
    let logger: Logger

    func run(onChange: @escaping @Sendable () async -> Void) async {
        guard !configuration.evictionHard.thresholds.isEmpty else { return }
        var previous: Set<String> = []
        while !Task.isCancelled {
            let crossings = configuration.evictionHard.crossed(Self.observe(configuration))
            pressure.note(crossings, now: .now)
            let conditions = Set(["MemoryPressure", "DiskPressure", "PIDPressure"].filter { pressure.current($0).pressure })
            if conditions != previous {
                previous = conditions
                await onChange()
            }
            if let crossing = crossings.first { await evictOne(for: crossing) }
            try? await Task.sleep(for: configuration.evictionInterval)
        }
    }

    static func observe(_ configuration: AgentConfiguration) -> [EvictionThresholds.Signal: EvictionThresholds.Observation] {
        let host = HostStats.read(dataDirectory: configuration.dataDirectory)
        var observations: [EvictionThresholds.Signal: EvictionThresholds.Observation] = [
            .memoryAvailable: .init(available: Double(host.memoryAvailable), capacity: Double(host.memoryTotal)),
            .pidAvailable: .init(available: Double(max(0, host.processLimit - host.processes)), capacity: Double(host.processLimit)),
        ]
        for (signal, path) in [(EvictionThresholds.Signal.nodefsAvailable, configuration.dataDirectory), (.imagefsAvailable, configuration.imagesDirectory)] {
            var stats = statvfs()
            guard statvfs(path, &stats) == 0 else { continue }
            let block = Double(stats.f_frsize)
            observations[signal] = .init(available: Double(stats.f_bavail) * block, capacity: Double(stats.f_blocks) * block)
            if signal == .nodefsAvailable, stats.f_files > 0 {
                observations[.nodefsInodesFree] = .init(available: Double(stats.f_favail), capacity: Double(stats.f_files))
            }
        }
        return observations
    }

    /// Evicts the first pod in the ranking for the crossed signal.
    func evictOne(for crossing: EvictionThresholds.Crossing) async {
        var candidates: [EvictionRanking.Candidate] = []
        var workers: [String: PodWorker] = [:]
        for worker in await manager.allWorkers() {
            let facts = await worker.evictionFacts()
            guard !facts.evicted, !facts.containers.isEmpty else { continue }
            var memory = 0.0, processes = 0.0
            for container in facts.containers {
                guard let usage = CgroupStats.usage(cgroupsPath: "/berth/pod-\(facts.uid)/\(container.id)") else { continue }
                memory += Double(usage.memoryWorkingSetBytes)
                processes += Double(usage.pids)
            }
            let usage: Double, request: Double
            switch crossing.signal {
            case .memoryAvailable: (usage, request) = (memory, facts.memoryRequest)
            case .pidAvailable: (usage, request) = (processes, 0)
            default: (usage, request) = (Double(DirectoryUsage.bytes("\(configuration.podsDirectory)/\(facts.uid)")), 0)
            }
            candidates.append(EvictionRanking.Candidate(key: facts.key, priority: facts.priority, usage: usage, request: request))
            workers[facts.key] = worker
        }
        guard let victim = EvictionRanking.order(candidates).first, let worker = workers[victim.key] else { return }
        logger.warning("evicting a pod under node pressure", metadata: ["pod": "\(victim.key)", "signal": "\(crossing.signal.rawValue)", "message": "\(crossing.message)"])
        await worker.evict(message: crossing.message)
    }
}
