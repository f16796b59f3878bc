import ArgumentParser
import BerthCore
import BerthStore
import Foundation

/// The files of a data directory that make up the cluster's identity: restored with the
/// store, they let agents and kubeconfigs trust the restored cluster as they did the old one.
enum ClusterIdentityFiles {
    // Not admin.kubeconfig: the server writes it anew at every start, with its own address.
    static let names = ["admin.token", "ca.crt", "ca.key", "apiserver.crt", "apiserver.key"]

    static func paths(in directory: String) -> [String: String] {
        Dictionary(uniqueKeysWithValues: names.map { ($0, directory + "/" + $0) })
    }
}

/// `berth backup`: a consistent copy of the embedded store and the cluster's identity in one
/// file, taken while the server runs.
struct BackupCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backup", abstract: "Write a consistent backup of the cluster (store and identity) to one file, while it serves.")

    @Option(help: "The file to write.") var out: String
    @Option(help: "The data directory of the server (`berth up` or `berth server` on SQLite).") var dataDir = DataDirectory.standard

    func run() async throws {
        let clock = ContinuousClock()
        let started = clock.now
        let summary = try SQLiteBackup.create(source: dataDir + "/state.db", destination: out, files: ClusterIdentityFiles.paths(in: dataDir))
        let seconds = (clock.now - started).seconds
        print("backed up revision \(summary.revision) (\(summary.keys) objects, \(summary.bytes) bytes, \(summary.files.count) identity files) to \(out) in \(String(format: "%.2f", seconds)) s")
    }
}

/// `berth restore`: a backup back into an empty data directory; `berth up` or `berth server`
/// on that directory then serves the cluster as it was at the backup's revision.
struct RestoreCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "restore", abstract: "Restore a backup written by `berth backup` into an empty data directory.")

    @Argument(help: "The backup file.") var backup: String
    @Option(help: "The data directory to restore into (must not hold a store).") var dataDir = DataDirectory.standard

    func run() async throws {
        let summary = try SQLiteBackup.restore(backup: backup, storePath: dataDir + "/state.db", directory: dataDir)
        print("restored revision \(summary.revision) (\(summary.keys) objects, \(summary.files.count) identity files) into \(dataDir)")
    }
}

extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
