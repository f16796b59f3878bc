import BerthCore
import BerthIngress
import BerthRuntime
import Foundation
import Logging

/// The node's HAProxy, supervised by the agent like a container's conmon: started in
/// master-worker mode (`-W`) on the configuration in DATA/ingress, found again among the host's
/// processes after an agent restart (never a second one), reloaded with SIGUSR2 — the master keeps the
/// listening sockets and hands them to the new worker, so no connection is refused and open
/// ones (WebSockets included) finish on the old worker — and restarted if it dies. A new
/// configuration is checked with `haproxy -c` first; one HAProxy would refuse is never applied.
/// A change of endpoints only (`HAProxyRuntime.commands`) goes through the admin socket instead.
actor HAProxyProcess {
    let directory: String
    let logger: Logger
    private var applied: String?

    static let binary = "/usr/sbin/haproxy"

    init(directory: String, logger: Logger) {
        self.directory = directory
        self.logger = logger
    }

    var configPath: String { directory + "/haproxy.cfg" }
    var adminSocketPath: String { directory + "/admin.sock" }
    /// Changes applied through the runtime API, and by reloads (for tests and metrics).
    private(set) var runtimeUpdates = 0
    private(set) var reloads = 0
    var logPath: String { directory + "/haproxy.log" }

    /// The master's PID when one runs on our configuration. Found by looking, not by trusting
    /// a pid file (HAProxy rewrites its own at each reload): a master is a process running
    /// HAProxy on this configuration whose parent is not one — its workers are its children.
    /// Should two ever run (both would share the ports through SO_REUSEPORT, one serving stale
    /// routes), the oldest is kept and the others are killed with their workers.
    func runningMaster() -> pid_t? {
        let masters = Self.processes(configPath: configPath).filter { !$0.parentIsOurs }.map(\.pid).sorted()
        guard let first = masters.first else { return nil }
        for extra in masters.dropFirst() {
            logger.warning("a second ingress HAProxy was running; stopping it", metadata: ["pid": "\(extra)"])
            for worker in Self.workers(of: extra) { kill(worker, SIGKILL) }
            kill(extra, SIGKILL)
        }
        return first
    }

    struct Found {
        var pid: pid_t
        var parentIsOurs: Bool
    }

    /// Every process running HAProxy on `configPath`.
    static func processes(configPath: String) -> [Found] {
        var commands: [pid_t: (command: String, parent: pid_t)] = [:]
        for entry in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] {
            guard let pid = pid_t(entry), let command = try? String(contentsOfFile: "/proc/\(entry)/cmdline", encoding: .utf8),
                  command.hasPrefix(binary), let parent = parentOf(entry) else { continue }
            commands[pid] = (command, parent)
        }
        let ours = commands.filter { $0.value.command.contains(configPath) }
        return ours.map { Found(pid: $0.key, parentIsOurs: ours[$0.value.parent] != nil) }
    }

    static func parentOf(_ entry: String) -> pid_t? {
        guard let stat = try? String(contentsOfFile: "/proc/\(entry)/stat", encoding: .utf8), let close = stat.lastIndex(of: ")") else { return nil }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        return fields.count > 1 ? pid_t(fields[1]) : nil
    }

    /// Checks `text` with HAProxy, then writes it and starts or reloads HAProxy. False (and
    /// nothing changed) when HAProxy refuses it.
    @discardableResult
    func apply(_ text: String) async -> Bool {
        // Never (re)started by an agent on its way out: that one would outlive `berth cleanup`.
        if Task.isCancelled { return false }
        if text == applied, runningMaster() != nil { return true }
        // Only servers changed (endpoints came, went or moved): the runtime API, no reload.
        if let applied, let commands = HAProxyRuntime.commands(from: applied, to: text), runningMaster() != nil {
            if await HAProxyAdminSocket(path: adminSocketPath).send(commands) {
                do {
                    try text.write(toFile: configPath, atomically: true, encoding: .utf8)
                    self.applied = text
                    runtimeUpdates += 1
                    logger.debug("ingress endpoints changed through HAProxy's runtime API", metadata: ["commands": "\(commands.count)"])
                    return true
                } catch {
                    logger.error("could not write the ingress configuration", metadata: ["error": "\(error)"])
                }
            } else {
                logger.warning("HAProxy's runtime API refused an endpoint change; reloading instead")
            }
        }
        let candidate = directory + "/haproxy.cfg.new"
        do {
            try text.write(toFile: candidate, atomically: true, encoding: .utf8)
            let check = try await Subprocess.run(Self.binary, ["-c", "-q", "-f", candidate])
            guard check.succeeded else {
                logger.error("HAProxy refused the ingress configuration; the previous one stays in force",
                             metadata: ["error": "\((check.errorText).prefix(500))"])
                return false
            }
            guard rename(candidate, configPath) == 0 else { throw BerthError(.internalError, "could not replace \(configPath)") }
        } catch {
            logger.error("could not write the ingress configuration", metadata: ["error": "\(error)"])
            return false
        }
        applied = text
        if let master = runningMaster() {
            reloads += 1
            await reload(master)
        } else {
            start()
        }
        return true
    }

    /// SIGUSR2 to the master, then waits for a new worker to appear: a signal that lands while
    /// the master is still re-executing from the last one can go unanswered, and the new
    /// routes would wait for the next change. Tried three times, then HAProxy is started afresh.
    private func reload(_ master: pid_t) async {
        for _ in 0..<3 {
            let before = Self.workers(of: master)
            kill(master, SIGUSR2)
            for _ in 0..<50 {
                try? await Task.sleep(for: .milliseconds(100))
                if !Self.workers(of: master).subtracting(before).isEmpty { return }
                if kill(master, 0) != 0 { break }
            }
            if kill(master, 0) != 0 { break }
            logger.warning("HAProxy did not start a new worker after a reload signal; signalling again", metadata: ["master": "\(master)"])
        }
        logger.warning("HAProxy did not reload; starting it afresh")
        if kill(master, 0) == 0 {
            kill(master, SIGTERM)
            for _ in 0..<50 where kill(master, 0) == 0 { try? await Task.sleep(for: .milliseconds(100)) }
            // Never two masters: one that does not stop goes, with its workers.
            for worker in Self.workers(of: master) { kill(worker, SIGKILL) }
            kill(master, SIGKILL)
        }
        if runningMaster() == nil { start() }
    }

    /// The master's worker processes (its children).
    static func workers(of master: pid_t) -> Set<pid_t> {
        var found = Set<pid_t>()
        for entry in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] {
            if let pid = pid_t(entry), parentOf(entry) == master { found.insert(pid) }
        }
        return found
    }

    /// Starts the master in a session of its own (it outlives an agent restart, as conmon
    /// does, and is found again by its command line); none of the agent's descriptors leak into it.
    private func start() {
        let log = open(logPath, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o600)
        let devNull = open("/dev/null", O_RDWR | O_CLOEXEC)
        defer {
            if log >= 0 { close(log) }
            if devNull >= 0 { close(devNull) }
        }
        do {
            let output = log >= 0 ? log : devNull
            let pid = try Subprocess.spawn(Self.binary, ["-W", "-f", configPath],
                                           descriptors: [0: devNull, 1: output, 2: output], newSession: true)
            // Reaped when it exits, so a dead master leaves no zombie behind.
            BlockingThreads.shared.run { _ = Subprocess.waitForExit(pid) }
            logger.info("ingress HAProxy started", metadata: ["pid": "\(pid)", "config": "\(configPath)"])
        } catch {
            logger.error("could not start HAProxy", metadata: ["error": "\(error.message)"])
        }
    }

    /// Restarts HAProxy if it died (with the configuration last applied).
    func supervise() {
        guard !Task.isCancelled, applied != nil, runningMaster() == nil else { return }
        logger.warning("ingress HAProxy is not running; starting it again")
        start()
    }

    /// Stops HAProxy (the node no longer carries ingress, or `berth cleanup`).
    func stop() {
        if let master = runningMaster() { kill(master, SIGTERM) }
        applied = nil
    }

    static func stop(directory: String) {
        for found in processes(configPath: directory + "/haproxy.cfg") where !found.parentIsOurs { kill(found.pid, SIGTERM) }
    }
}
