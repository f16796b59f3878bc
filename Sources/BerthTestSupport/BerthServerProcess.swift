import BerthClient
import BerthCore
import Foundation

/// A real `berth server` or `berth up` started from the build directory on a free loopback port with its own
/// data directory; stopped by PID (SIGKILL when asked to simulate a crash).
public final class BerthServerProcess: @unchecked Sendable {
    public static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    public static var binary: String { packageRoot.appendingPathComponent(".build/debug/berth").path }

    public let dataDirectory: String
    public private(set) var port: Int
    public private(set) var process: Process?
    private let logPath: String

    let extraArguments: [String]
    /// `server` (control plane alone, the default: API tests must not start containers) or `up`
    /// (control plane and a local agent; its tests must delete their pods and clean the host).
    let role: String
    /// The address to listen on; 127.0.0.1 unless a test builds its own underlay.
    public let host: String

    /// `dataDirectory`: where the server keeps its state (a fresh temporary one when nil).
    public init(role: String = "server", host: String = "127.0.0.1", extraArguments: [String] = [], dataDirectory: String? = nil) {
        self.extraArguments = extraArguments
        self.role = role
        self.host = host
        self.dataDirectory = dataDirectory ?? FileManager.default.temporaryDirectory.appendingPathComponent("berth-e2e-\(UUID().uuidString)").path
        port = Self.freePort()
        logPath = self.dataDirectory + ".log"
    }

    public var kubeconfigPath: String { dataDirectory + "/admin.kubeconfig" }

    /// Starts the process; when the port was taken between `freePort` and the start (by any
    /// socket on this busy machine), tries again on another one.
    public func start() async throws {
        for attempt in 1...3 {
            do {
                try await startOnce()
                return
            } catch let error as BerthError where attempt < 3 && error.message.contains("cannot listen on") {
                port = Self.freePort()
            }
        }
    }

    private func startOnce() async throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Self.binary)
        var arguments = [role, "--data-dir", dataDirectory, "--listen", "\(host):\(port)"] + extraArguments
        // `berth up` carries ingress on ports 80 and 443 by default: tests that want it name
        // their own ports; the others leave the machine's ports alone.
        if role == "up", !extraArguments.contains(where: { $0.hasPrefix("--ingress") }) { arguments.append("--no-ingress-node") }
        process.arguments = arguments
        FileManager.default.createFile(atPath: logPath, contents: nil)
        let log = FileHandle(forWritingAtPath: logPath)
        log?.seekToEndOfFile()
        process.standardOutput = log
        process.standardError = log
        try process.run()
        self.process = process
        for _ in 0..<200 {
            if FileManager.default.fileExists(atPath: kubeconfigPath), let client = try? client() {
                let reply = try? await client.request(.GET, "/readyz", timeout: .seconds(2))
                await client.shutdown()
                if reply?.status == 200 { return }
            }
            if !process.isRunning { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        let output = (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
        throw BerthError(.unavailable, "berth \(role) did not become ready: \(output)")
    }

    public func client() throws -> APIClient {
        try APIClient(config: Kubeconfig.load(path: kubeconfigPath))
    }

    /// SIGKILL: no graceful shutdown, as in a crash or power cut of the process.
    public func kill9() {
        guard let process, process.isRunning else { return }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    public func stop() {
        guard let process, process.isRunning else { return }
        kill(process.processIdentifier, SIGTERM)
        for _ in 0..<100 where process.isRunning { usleep(50_000) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }

    public func cleanUp() {
        stop()
        try? FileManager.default.removeItem(atPath: dataDirectory)
        try? FileManager.default.removeItem(atPath: logPath)
    }

    public static func freePort() -> Int { FreePort.next() }
}

/// Runs a command to completion (bounded by a timeout), capturing stdout and stderr.
public struct CommandResult: Sendable {
    public var status: Int32
    public var output: String
    public var error: String
}

public func runCommand(_ executable: String, _ arguments: [String], input: String? = nil, timeout: TimeInterval = 60) throws -> CommandResult {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    let output = Pipe()
    let error = Pipe()
    process.standardOutput = output
    process.standardError = error
    let inputPipe = Pipe()
    process.standardInput = input == nil ? FileHandle.nullDevice : inputPipe
    try process.run()
    if let input {
        inputPipe.fileHandleForWriting.write(Data(input.utf8))
        try? inputPipe.fileHandleForWriting.close()
    }
    let deadline = Date().addingTimeInterval(timeout)
    // Drain both pipes while waiting so a chatty command cannot block on a full pipe.
    let outData = DataBox()
    let errData = DataBox()
    let group = DispatchGroup()
    group.enter()
    BlockingThreads.shared.run { outData.data = output.fileHandleForReading.readDataToEndOfFile(); group.leave() }
    group.enter()
    BlockingThreads.shared.run { errData.data = error.fileHandleForReading.readDataToEndOfFile(); group.leave() }
    while process.isRunning && Date() < deadline { usleep(20_000) }
    if process.isRunning { kill(process.processIdentifier, SIGKILL) }
    process.waitUntilExit()
    group.wait()
    return CommandResult(status: process.terminationStatus, output: String(decoding: outData.data, as: UTF8.self), error: String(decoding: errData.data, as: UTF8.self))
}

/// Collects a pipe's bytes on a reader thread; read only after the thread is done.
final class DataBox: @unchecked Sendable {
    var data = Data()
}
