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
    var logPath: String { directory + "/haproxy.log" }
    /// HAProxy's stdout: the access log (`HAProxyConfig`), rotated by `rotateAccessLog`.
    var accessLogPath: String { directory + "/access.log" }

    /// The master this agent started or adopted; trusted while it lives and its command line
    /// is ours or unreadable (a master re-executing itself on reload has none for a moment).
    private var master: pid_t?

    /// The master's PID when one runs on our configuration. Found by looking, not by trusting
    /// a pid file (HAProxy rewrites its own at each reload): a master is a process running
    /// `haproxy -W -f` on this configuration whose parent is not one — its workers are its
    /// children; a `haproxy -c` check of the next configuration is not one. Should two ever run
    /// (both would share the ports through SO_REUSEPORT, one serving stale routes), the oldest
    /// is kept and the others are killed with their workers.
    func runningMaster() -> pid_t? {
        if let master, Self.isAlive(master), Self.arguments(of: master).map({ $0.isEmpty || Self.isMaster($0, configPath: configPath) }) ?? true {
            return master
        }
        let masters = Self.processes(configPath: configPath).filter { !$0.parentIsOurs }.map(\.pid).sorted()
        master = masters.first
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

    /// Running (a zombie, killed and not yet reaped, is not).
    static func isAlive(_ pid: pid_t) -> Bool {
        guard kill(pid, 0) == 0, let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8), let close = stat.lastIndex(of: ")") else { return false }
        return stat[stat.index(after: close)...].split(separator: " ").first != "Z"
    }

    /// A process's arguments; nil when it is gone.
    static func arguments(of pid: pid_t) -> [String]? {
        guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else { return nil }
        return data.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
    }

    /// HAProxy in master-worker mode (master or worker) on exactly `configPath`.
    static func isMaster(_ arguments: [String], configPath: String) -> Bool {
        guard arguments.first == binary, arguments.contains("-W"), !arguments.contains("-c"),
              let flag = arguments.firstIndex(of: "-f"), flag + 1 < arguments.count else { return false }
        return arguments[flag + 1] == configPath
    }

    /// Every process running HAProxy on `configPath` (masters and their workers).
    static func processes(configPath: String) -> [Found] {
        var parents: [pid_t: pid_t] = [:]
        for entry in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] {
            guard let pid = pid_t(entry), let arguments = arguments(of: pid), isMaster(arguments, configPath: configPath),
                  let parent = parentOf(entry) else { continue }
            parents[pid] = parent
        }
        return parents.map { Found(pid: $0.key, parentIsOurs: parents[$0.value] != nil) }
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
        self.master = nil
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
        let access = open(accessLogPath, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o600)
        let devNull = open("/dev/null", O_RDWR | O_CLOEXEC)
        defer {
            if log >= 0 { close(log) }
            if access >= 0 { close(access) }
            if devNull >= 0 { close(devNull) }
        }
        do {
            let output = log >= 0 ? log : devNull
            let pid = try Subprocess.spawn(Self.binary, ["-W", "-f", configPath],
                                           descriptors: [0: devNull, 1: access >= 0 ? access : devNull, 2: output], newSession: true)
            // Reaped when it exits, so a dead master leaves no zombie behind.
            BlockingThreads.shared.run { _ = Subprocess.waitForExit(pid) }
            master = pid
            logger.info("ingress HAProxy started", metadata: ["pid": "\(pid)", "config": "\(configPath)"])
        } catch {
            logger.error("could not start HAProxy", metadata: ["error": "\(error.message)"])
        }
    }

    /// Keeps the access log under `limit` bytes: copied to `access.log.SECONDS` and truncated
    /// (HAProxy holds the file open for appending and cannot be asked to reopen it; a line
    /// written between the copy and the truncation is lost), the newest `keep` copies kept.
    func rotateAccessLog(limit: Int64 = 16 << 20, keep: Int = 4) {
        guard let size = (try? FileManager.default.attributesOfItem(atPath: accessLogPath))?[.size] as? Int64, size > limit else { return }
        let stamp = String(format: "%.6f", Date().timeIntervalSince1970)
        do {
            try FileManager.default.copyItem(atPath: accessLogPath, toPath: "\(accessLogPath).\(stamp)")
        } catch {
            logger.warning("could not rotate the ingress access log", metadata: ["error": "\(error)"])
            return
        }
        _ = truncate(accessLogPath, 0)
        let prefix = "access.log."
        let rotated = ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).filter { $0.hasPrefix(prefix) }
            .sorted { (Double($0.dropFirst(prefix.count)) ?? 0) < (Double($1.dropFirst(prefix.count)) ?? 0) }
        for old in rotated.dropLast(keep) { try? FileManager.default.removeItem(atPath: directory + "/" + old) }
    }

    /// Restarts HAProxy if it died (with the configuration last applied).
    func supervise() {
        rotateAccessLog()
        guard !Task.isCancelled, applied != nil, runningMaster() == nil else { return }
        logger.warning("ingress HAProxy is not running; starting it again")
        start()
    }

    /// Stops HAProxy (the node no longer carries ingress, or `berth cleanup`).
    func stop() {
        if let master = runningMaster() { kill(master, SIGTERM) }
        applied = nil
        master = nil
    }

    static func stop(directory: String) {
        for found in processes(configPath: directory + "/haproxy.cfg") where !found.parentIsOurs { kill(found.pid, SIGTERM) }
    }
}
