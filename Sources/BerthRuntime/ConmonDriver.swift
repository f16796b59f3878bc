import BerthCore
import Dispatch
import CBerthSys
import Foundation
import Glibc
import Logging

/// What runc says about a container.
public enum ContainerRuntimeState: Sendable, Equatable {
    case created(pid: Int32)
    case running(pid: Int32)
    case stopped
    /// runc has no record of it (never created, or deleted).
    case missing
}

/// How a container ended, from the files conmon leaves in its persist dir.
public struct ContainerExit: Sendable, Equatable {
    public var code: Int32
    public var oomKilled: Bool
    public var finishedAt: Date
}

/// Runs containers with `runc`, each under its own `conmon` (flags as CRI-O passes them): conmon
/// daemonizes, holds the container's stdio, writes its log in the Kubernetes format and records
/// its exit code, so containers, logs and exit codes outlive the agent.
public struct ConmonDriver: Sendable {
    public var runc: String
    public var conmon: String
    /// runc's state directory (`--root`), private to this agent.
    public var runcRoot: String
    public var exitDirectory: String
    public var socketDirectory: String
    public var logSizeMax: Int64
    let logger: Logger

    public init(stateDirectory: String, runc: String = "/usr/sbin/runc", conmon: String = "/usr/bin/conmon",
                logSizeMax: Int64 = 10 << 20, logger: Logger = Logger(label: "berth.runtime")) throws(BerthError) {
        self.runc = runc
        self.conmon = conmon
        runcRoot = "\(stateDirectory)/runc"
        exitDirectory = "\(stateDirectory)/exits"
        socketDirectory = "\(stateDirectory)/sockets"
        self.logSizeMax = logSizeMax
        self.logger = logger
        for directory in [runcRoot, exitDirectory, socketDirectory] {
            guard FileManager.default.fileExists(atPath: directory) || (try? FileManager.default.createDirectory(
                atPath: directory, withIntermediateDirectories: true)) != nil else {
                throw BerthError(.internalError, "failed to create \(directory)")
            }
        }
    }

    /// Writes the bundle and creates the container under conmon; returns the container's pid.
    /// The container exists (`created`) but runs nothing until `start`.
    public func create(_ configuration: ContainerConfiguration, bundle: String, logPath: String) async throws(BerthError) -> Int32 {
        let spec = SpecBuilder.spec(for: configuration)
        do {
            try FileManager.default.createDirectory(atPath: bundle, withIntermediateDirectories: true)
            try FileManager.default.createDirectory(atPath: (logPath as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            for stale in ["exit", "oom", "pidfile", "conmon.pid"] { try? FileManager.default.removeItem(atPath: "\(bundle)/\(stale)") }
            try? FileManager.default.removeItem(atPath: "\(exitDirectory)/\(configuration.id)")
            try JSONCoding.encode(spec).write(to: URL(fileURLWithPath: "\(bundle)/config.json"))
        } catch let error as BerthError {
            throw error
        } catch {
            throw BerthError(.internalError, "failed to write bundle \(bundle): \(error)")
        }
        var sync: [Int32] = [-1, -1]
        guard berth_pipe_cloexec(&sync) == 0 else { throw BerthError.posix("create sync pipe for", configuration.id) }
        let arguments = [
            "--api-version", "1", "-c", configuration.id, "-u", configuration.id, "-n", configuration.id,
            "-r", runc, "-b", bundle, "-p", "\(bundle)/pidfile", "-P", "\(bundle)/conmon.pid",
            "--persist-dir", bundle, "--exit-dir", exitDirectory, "--socket-dir-path", socketDirectory,
            "-l", "k8s-file:\(logPath)", "--log-size-max", String(logSizeMax), "--log-level", "error",
            "--runtime-arg", "--root=\(runcRoot)",
        ] + (configuration.terminal ? ["-t"] : []) + (configuration.openStdin ? ["-i"] : [])
            + (configuration.openStdin && !configuration.stdinOnce ? ["--leave-stdin-open"] : [])
        var environment = Subprocess.currentEnvironment().filter { !$0.hasPrefix("_OCI_") && !$0.hasPrefix("NOTIFY_SOCKET=") }
        environment.append("_OCI_SYNCPIPE=3")
        let devNull = open("/dev/null", O_RDWR | O_CLOEXEC)
        let pid: pid_t
        do {
            pid = try Subprocess.spawn(conmon, arguments, environment: environment, descriptors: [0: devNull, 1: devNull, 2: devNull, 3: sync[1]])
        } catch {
            close(devNull); close(sync[0]); close(sync[1])
            throw error
        }
        close(devNull)
        close(sync[1])
        let readEnd = sync[0]
        // conmon's first process exits once it has daemonized; reap it, then read the pid report.
        let message: [UInt8] = await withCheckedContinuation { continuation in
            BlockingThreads.shared.run {
                _ = Subprocess.waitForExit(pid)
                var collected: [UInt8] = []
                var chunk = [UInt8](repeating: 0, count: 4096)
                while !collected.contains(UInt8(ascii: "\n")) && !collected.contains(UInt8(ascii: "}")) {
                    let count = chunk.withUnsafeMutableBytes { read(readEnd, $0.baseAddress!, $0.count) }
                    if count < 0 && errno == EINTR { continue }
                    if count <= 0 { break }
                    collected.append(contentsOf: chunk[0..<count])
                }
                close(readEnd)
                continuation.resume(returning: collected)
            }
        }
        let report = try? JSONParser.parse(message)
        let containerPID = report?["data"]?.intValue ?? -1
        guard containerPID > 0 else {
            let reason = report?["message"]?.stringValue ?? String(decoding: message, as: UTF8.self)
            await delete(configuration.id)
            throw BerthError(.invalid, "failed to create container \(configuration.id): \(Self.trimRuncMessage(reason))")
        }
        return Int32(containerPID)
    }

    /// conmon's attach socket for a container (its socket directory links to the bundle).
    public func attachSocketPath(_ id: String) -> String { "\(socketDirectory)/\(id)/attach" }

    /// conmon's control FIFO (terminal resizes) for a container.
    public func controlPath(_ id: String) -> String { "\(socketDirectory)/\(id)/ctl" }

    /// Whether runc keeps state for this id (a cheap check: runc's state directory).
    public func exists(_ id: String) -> Bool {
        FileManager.default.fileExists(atPath: "\(runcRoot)/\(id)")
    }

    /// Starts the user process of a created container.
    public func start(_ id: String) async throws(BerthError) {
        let result = try await Subprocess.run(runc, ["--root", runcRoot, "start", id])
        guard result.succeeded else {
            throw BerthError(.invalid, "failed to start container \(id): \(Self.trimRuncMessage(result.errorText))")
        }
    }

    public func state(_ id: String) async -> ContainerRuntimeState {
        guard let result = try? await Subprocess.run(runc, ["--root", runcRoot, "state", id]), result.succeeded,
              let state = try? JSONParser.parse(result.standardOutput) else { return .missing }
        let pid = Int32(state["pid"]?.intValue ?? 0)
        switch state["status"]?.stringValue {
        case "created": return .created(pid: pid)
        case "running", "paused": return .running(pid: pid)
        default: return .stopped
        }
    }

    /// Container ids runc knows in this agent's root, with their state.
    public func list() async -> [String: ContainerRuntimeState] {
        guard let result = try? await Subprocess.run(runc, ["--root", runcRoot, "list", "--format", "json"]), result.succeeded,
              case .array(let items)? = try? JSONParser.parse(result.standardOutput.isEmpty ? Array("[]".utf8) : result.standardOutput)
        else { return [:] }
        var states: [String: ContainerRuntimeState] = [:]
        for item in items {
            guard let id = item["id"]?.stringValue else { continue }
            let pid = Int32(item["pid"]?.intValue ?? 0)
            states[id] = switch item["status"]?.stringValue {
            case "created": .created(pid: pid)
            case "running", "paused": .running(pid: pid)
            default: .stopped
            }
        }
        return states
    }

    /// The exit conmon recorded for a container, once it has exited.
    public func exit(bundle: String) -> ContainerExit? {
        let path = "\(bundle)/exit"
        guard let text = try? String(contentsOfFile: path, encoding: .utf8), let code = Int32(text.trimmingCharacters(in: .whitespacesAndNewlines)) else { return nil }
        let finished = (try? FileManager.default.attributesOfItem(atPath: path)[.modificationDate] as? Date) ?? Date()
        return ContainerExit(code: code, oomKilled: FileManager.default.fileExists(atPath: "\(bundle)/oom"), finishedAt: finished)
    }

    public func kill(_ id: String, signal: String = "TERM", all: Bool = false) async {
        _ = try? await Subprocess.run(runc, ["--root", runcRoot, "kill"] + (all ? ["--all"] : []) + [id, signal])
    }

    /// Removes the container from runc (killing it first if it still runs).
    public func delete(_ id: String) async {
        _ = try? await Subprocess.run(runc, ["--root", runcRoot, "delete", "--force", id])
        try? FileManager.default.removeItem(atPath: "\(exitDirectory)/\(id)")
    }

    /// runc's errors arrive as logfmt lines; keep just the message.
    static func trimRuncMessage(_ text: String) -> String {
        var message = text.trimmingCharacters(in: .whitespacesAndNewlines)
        if let range = message.range(of: "msg=\"") {
            message = String(message[range.upperBound...])
            if let end = message.range(of: "\"", options: .backwards) { message = String(message[..<end.lowerBound]) }
            message = message.replacingOccurrences(of: "\\\"", with: "\"")
        }
        return message
    }
}
