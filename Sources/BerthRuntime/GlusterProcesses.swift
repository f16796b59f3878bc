import Foundation

/// GlusterFS processes a Berth data directory started (glusterd, bricks, self-heal and quota
/// daemons, FUSE clients of its mounts): each names a path under that directory in its command
/// line. Killed by `berth cleanup` and by test teardown.
public enum GlusterProcesses {
    @discardableResult
    public static func killAll(under dataDirectory: String) -> [String] {
        var stopped: [String] = []
        for entry in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] {
            guard let pid = Int32(entry), pid != getpid(), let command = ProcFile.read("/proc/\(entry)/cmdline") else { continue }
            let arguments = command.split(separator: "\0").map(String.init)
            guard let program = arguments.first.map({ ($0 as NSString).lastPathComponent }), ["glusterd", "glusterfsd", "glusterfs"].contains(program),
                  arguments.contains(where: { $0.contains(dataDirectory + "/") }) else { continue }
            if kill(pid, SIGKILL) == 0 { stopped.append("\(program) \(pid)") }
        }
        return stopped
    }
}
