import BerthCore
import Foundation
import Glibc

extension PodWorker {
    /// Size-based rotation as the kubelet does it: a running container's log that outgrew the
    /// limit is renamed to `N.log.TIMESTAMP` and conmon is told to reopen its log file (message
    /// type 2 on its control FIFO, `bundle/ctl`, as CRI-O does);
    /// only the newest rotated files are kept. conmon's own `--log-size-max` (set higher) is the
    /// backstop if the agent is down.
    func rotateLogs() {
        let limit = context.configuration.containerLogMaxSize
        for (name, entry) in record.containers where entry.startedAt != nil {
            let path = "\(logDirectory)/\(name)/\(entry.restartCount).log"
            guard let size = (try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? Int64, size > limit else { continue }
            let control = open("\(bundle(name))/ctl", O_WRONLY | O_NONBLOCK | O_CLOEXEC)
            guard control >= 0 else { continue }
            defer { close(control) }
            let stamp = String(format: "%.6f", Date().timeIntervalSince1970)
            guard rename(path, "\(path).\(stamp)") == 0 else { continue }
            _ = "2 0 0\n".withCString { write(control, $0, 6) }
            let directory = "\(logDirectory)/\(name)"
            let prefix = "\(entry.restartCount).log."
            let rotated = ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).filter { $0.hasPrefix(prefix) }.sorted {
                (Double($0.dropFirst(prefix.count)) ?? 0) < (Double($1.dropFirst(prefix.count)) ?? 0)
            }
            for old in rotated.dropLast(context.configuration.containerLogMaxFiles - 1) {
                try? FileManager.default.removeItem(atPath: "\(directory)/\(old)")
            }
        }
    }
}
