import BerthCore
import CSQLite
import Foundation

/// Backups of the embedded store: one SQLite file holding a consistent copy of the store (its
/// objects, revisions, history and leases) and the cluster's identity files beside it (CA,
/// serving certificate, admin token) in a `backup_files` table, so one file brings a cluster
/// back on this host or another.
public enum SQLiteBackup {
    /// What a backup took.
    public struct Summary: Sendable, Equatable {
        public var revision: Int64
        public var keys: Int
        public var bytes: Int
        public var files: [String]
    }

    /// Copies the store at `source` into `destination` while the store keeps serving: one
    /// read transaction for the whole copy (SQLite's online backup in a single step), so the
    /// copy is the store at one revision, and writers go on appending to the WAL meanwhile.
    /// `files` (name → path) are stored beside it. Written to a temporary name and renamed,
    /// so `destination` is either the old file or a whole backup.
    public static func create(source: String, destination: String, files: [String: String]) throws(BerthError) -> Summary {
        guard FileManager.default.fileExists(atPath: source) else {
            throw BerthError(.notFound, "failed to back up: no store at \(source)")
        }
        let partial = destination + ".partial"
        try? FileManager.default.removeItem(atPath: partial)
        do throws(BerthError) {
            let from = try SQLiteConnection(path: source, readOnly: true)
            let to = try SQLiteConnection(path: partial)
            try copy(from: from, to: to, what: "failed to back up \(source)")
            from.close()
            try to.execute("PRAGMA journal_mode=DELETE")
            try to.execute("CREATE TABLE backup_files (name TEXT PRIMARY KEY, mode INTEGER NOT NULL, bytes BLOB NOT NULL)")
            var stored: [String] = []
            for (name, path) in files.sorted(by: { $0.key < $1.key }) {
                guard let data = FileManager.default.contents(atPath: path) else { continue }
                let mode = (try? FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int) ?? 0o600
                try to.query("INSERT INTO backup_files (name, mode, bytes) VALUES (?, ?, ?)", [.text(name), .integer(Int64(mode)), .blob(Array(data))])
                stored.append(name)
            }
            let summary = try summarize(to, files: stored)
            to.close()
            try syncAndRename(partial, to: destination)
            var result = summary
            result.bytes = (try? FileManager.default.attributesOfItem(atPath: destination)[.size] as? Int) ?? 0
            return result
        } catch {
            try? FileManager.default.removeItem(atPath: partial)
            throw error
        }
    }

    /// Brings a backup back as the store `storePath` and the identity files into `directory`.
    /// Refuses to overwrite an existing store: a restore never replaces a cluster by accident.
    public static func restore(backup: String, storePath: String, directory: String) throws(BerthError) -> Summary {
        guard FileManager.default.fileExists(atPath: backup) else { throw BerthError(.notFound, "failed to restore: no backup at \(backup)") }
        guard !FileManager.default.fileExists(atPath: storePath) else {
            throw BerthError(.alreadyExists, "failed to restore: \(storePath) exists; restore into an empty data directory")
        }
        try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let partial = storePath + ".partial"
        try? FileManager.default.removeItem(atPath: partial)
        do throws(BerthError) {
            let from = try SQLiteConnection(path: backup, readOnly: true)
            try SQLiteWriter.checkIntegrity(from, path: backup)
            var files: [(name: String, mode: Int, bytes: [UInt8])] = []
            do throws(BerthError) {
                try from.query("SELECT name, mode, bytes FROM backup_files ORDER BY name") { row in
                    files.append((row.text(0), Int(row.integer(1)), row.blob(2)))
                }
            } catch {
                throw BerthError(.badRequest, "failed to restore: \(backup) is not a Berth backup (no backup_files table)")
            }
            let to = try SQLiteConnection(path: partial)
            try copy(from: from, to: to, what: "failed to restore \(backup)")
            from.close()
            try to.execute("DROP TABLE backup_files")
            try to.execute("PRAGMA journal_mode=WAL")
            let summary = try summarize(to, files: files.map(\.name))
            to.close()
            for file in files {
                guard !file.name.contains("/"), !file.name.hasPrefix(".") else { continue }
                let path = directory + "/" + file.name
                guard FileManager.default.createFile(atPath: path, contents: Data(file.bytes), attributes: [.posixPermissions: file.mode & 0o777]) else {
                    throw BerthError(.internalError, "failed to restore: cannot write \(path)")
                }
            }
            try syncAndRename(partial, to: storePath)
            return summary
        } catch {
            try? FileManager.default.removeItem(atPath: partial)
            throw error
        }
    }

    private static func copy(from: SQLiteConnection, to: SQLiteConnection, what: String) throws(BerthError) {
        guard let backup = sqlite3_backup_init(to.rawHandle, "main", from.rawHandle, "main") else {
            throw to.failure(what)
        }
        // -1: every page in one step, inside one read transaction on the source.
        let code = sqlite3_backup_step(backup, -1)
        sqlite3_backup_finish(backup)
        guard code == SQLITE_DONE else { throw to.failure(what) }
    }

    private static func summarize(_ connection: SQLiteConnection, files: [String]) throws(BerthError) -> Summary {
        var keys = 0
        try connection.query("SELECT count(*) FROM kv") { row in keys = Int(row.integer(0)) }
        return Summary(revision: try SQLiteWriter.meta(connection, "revision"), keys: keys, bytes: 0, files: files)
    }

    private static func syncAndRename(_ partial: String, to destination: String) throws(BerthError) {
        let fd = open(partial, O_RDONLY)
        if fd >= 0 {
            fsync(fd)
            close(fd)
        }
        guard rename(partial, destination) == 0 else {
            throw BerthError(.internalError, "failed to write \(destination): \(String(cString: strerror(errno)))")
        }
    }
}
