import BerthCore
import BerthRuntime
import Foundation
import Logging

/// The node's `glusterd`, which the agent starts, checks and restarts like a container's conmon:
/// its own working and run directories under the data directory, listening on the node's
/// address, found again after an agent restart through its PID file (never a second one), and
/// stopped with its bricks by `berth cleanup`.
struct GlusterDaemon: Sendable {
    let directory: String
    let address: String
    let logger: Logger

    init(configuration: AgentConfiguration, logger: Logger) {
        directory = configuration.dataDirectory + "/glusterd"
        address = configuration.nodeAddress
        self.logger = logger
    }

    var volfile: String { "\(directory)/glusterd.vol" }
    /// Where this node mounts GlusterFS volumes (pods' volumes, snapshots, restores).
    var mounts: String { (directory as NSString).deletingLastPathComponent + "/glusterfs" }
    var socket: String { "\(directory)/run/glusterd.socket" }
    var pidFile: String { "\(directory)/glusterd.pid" }

    /// The management configuration. The keepalive options are not optional in practice:
    /// without them glusterd 10 fails every peer connection ("connect returned -2").
    var configuration: String {
        """
        volume management
            type mgmt/glusterd
            option working-directory \(directory)/work
            option run-directory \(directory)/run
            option glusterd-sockfile \(socket)
            option transport-type socket
            option transport.address-family inet
            option transport.socket.bind-address \(address)
            option transport.socket.listen-port 24007
            option transport.socket.keepalive-time 10
            option transport.socket.keepalive-interval 2
            option transport.socket.read-fail-log off
            option ping-timeout 0
            option event-threads 1
            option max-port 60999
        end-volume

        """
    }

    /// The running glusterd's PID, if the PID file names a live glusterd of this configuration.
    var runningPID: Int32? {
        guard let text = try? String(contentsOfFile: pidFile, encoding: .utf8), let pid = Int32(text.trimmingCharacters(in: .whitespacesAndNewlines)),
              let command = ProcFile.read("/proc/\(pid)/cmdline"), command.contains(volfile),
              (ProcFile.read("/proc/\(pid)/stat") ?? "").split(separator: " ").dropFirst(2).first != "Z" else { return nil }
        return pid
    }

    /// Starts glusterd unless it runs; waits for its CLI socket.
    func ensureRunning() async throws(BerthError) {
        if runningPID != nil, FileManager.default.fileExists(atPath: socket) { return }
        for path in ["work", "run", "log"] { try PodVolumes.makeDirectory("\(directory)/\(path)", mode: 0o700) }
        guard FileManager.default.createFile(atPath: volfile, contents: Data(configuration.utf8)) else {
            throw BerthError(.internalError, "cannot write \(volfile)")
        }
        let started = try await Subprocess.run("/usr/sbin/glusterd", ["-f", volfile, "-p", pidFile, "-l", "\(directory)/log/glusterd.log", "--log-level=WARNING"])
        guard started.succeeded else { throw BerthError(.internalError, "glusterd did not start: \(started.errorText)") }
        for _ in 0..<50 {
            if runningPID != nil, FileManager.default.fileExists(atPath: socket) {
                logger.info("glusterd started", metadata: ["pid": "\(runningPID ?? 0)", "address": "\(address)"])
                return
            }
            try? await Task.sleep(for: .milliseconds(100))
        }
        throw BerthError(.internalError, "glusterd did not come up; see \(directory)/log/glusterd.log")
    }

    /// Runs the GlusterFS CLI against this node's glusterd.
    func cli(_ arguments: [String]) async throws(BerthError) -> String {
        let result = try await Subprocess.run("/usr/sbin/gluster", ["--glusterd-sock=\(socket)", "--mode=script", "--timeout=30"] + arguments)
        let output = String(decoding: result.standardOutput, as: UTF8.self)
        guard result.succeeded else {
            throw BerthError(.internalError, "gluster \(arguments.joined(separator: " ")): \(output.isEmpty ? result.errorText : output)".trimmingCharacters(in: .whitespacesAndNewlines))
        }
        return output
    }
}
