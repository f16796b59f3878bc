import BerthCore
import BerthStore
import Foundation
import Logging
import ServiceLifecycle

/// `berth server --backup-interval 1h --backup-keep 24`: a backup of the running store every
/// interval into `--backup-dir`, keeping the newest `keep`.
struct ScheduledBackups: ServiceLifecycle.Service {
    let dataDirectory: String
    let directory: String
    let interval: Duration
    let keep: Int
    let logger: Logger

    /// "90s", "30m", "1h", "2d"; nil when the text is none of these.
    static func parseInterval(_ text: String) -> Duration? {
        guard let unit = text.last, let count = Int(text.dropLast()), count > 0 else { return nil }
        switch unit {
        case "s": return .seconds(count)
        case "m": return .seconds(count * 60)
        case "h": return .seconds(count * 3600)
        case "d": return .seconds(count * 86400)
        default: return nil
        }
    }

    func run() async throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            try? await Task.sleep(for: interval)
            if Task.isShuttingDownGracefully || Task.isCancelled { return }
            takeOne()
        }
    }

    func takeOne() {
        let name = "berth-" + RFC3339.seconds(Date()).replacingOccurrences(of: ":", with: "") + ".db"
        do {
            let summary = try SQLiteBackup.create(source: dataDirectory + "/state.db", destination: directory + "/" + name,
                                                  files: ClusterIdentityFiles.paths(in: dataDirectory))
            logger.info("backup written", metadata: ["file": "\(directory)/\(name)", "revision": "\(summary.revision)", "bytes": "\(summary.bytes)"])
            prune()
        } catch {
            logger.error("backup failed", metadata: ["directory": "\(directory)", "error": "\(error.message)"])
        }
    }

    /// Removes all but the newest `keep` backups (names sort by time).
    func prune() {
        let backups = ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [])
            .filter { $0.hasPrefix("berth-") && $0.hasSuffix(".db") }
            .sorted()
        for old in backups.dropLast(keep) { try? FileManager.default.removeItem(atPath: directory + "/" + old) }
    }
}
