import BerthCore
import Foundation

/// Brings a store file written by an older Berth to `SQLiteSchema`'s layout, once, before the
/// store opens: `kv` and `log` copied into rowid tables, then the file rebuilt on the current
/// page size. Each step is atomic (one transaction; `VACUUM`), and each is decided afresh
/// from the file, so a crash part way through is finished on the next start.
enum SQLiteLayout {
    /// Runs on the writer's connection before any other connection to the file is open.
    static func upgrade(_ connection: SQLiteConnection, path: String) throws(BerthError) {
        let tables = try legacyTables(connection)
        let pageSize = try integer(connection, "PRAGMA page_size")
        let pages = try integer(connection, "PRAGMA page_count")
        // A new file (no pages yet) gets the page size from `SQLiteSchema.statements`.
        let smallPages = pages > 0 && pageSize < SQLiteSchema.pageSize
        guard !tables.isEmpty || smallPages else { return }
        FileHandle.standardError.write(Data("berth: upgrading the store's file layout at \(path) (once; larger stores take a while)\n".utf8))
        // The page size can change only outside WAL mode, and leaving WAL mode needs the
        // only connection to the file: with another process on it, the upgrade waits for a
        // later start.
        guard try text(connection, "PRAGMA journal_mode=DELETE") == "delete" else { return }
        try connection.execute("PRAGMA page_size=\(SQLiteSchema.pageSize)")
        if !tables.isEmpty {
            var script = "BEGIN IMMEDIATE;\n"
            if tables.contains("kv") {
                script += SQLiteSchema.kvTable("kv_upgrade") + """
                    INSERT INTO kv_upgrade(key, value, create_rev, mod_rev, version, lease)
                        SELECT key, value, create_rev, mod_rev, version, lease FROM kv ORDER BY key;
                    DROP TABLE kv;
                    ALTER TABLE kv_upgrade RENAME TO kv;
                    """
            }
            if tables.contains("log") {
                script += SQLiteSchema.logTable("log_upgrade") + """
                    INSERT INTO log_upgrade(rev, sub, key, deleted, value, create_rev, version, lease, prev_rev)
                        SELECT rev, sub, key, deleted, value, create_rev, version, lease, prev_rev FROM log ORDER BY rev, sub;
                    DROP TABLE log;
                    ALTER TABLE log_upgrade RENAME TO log;
                    """
            }
            script += "COMMIT;"
            do {
                try connection.execute(script)
            } catch {
                try? connection.execute("ROLLBACK")
                throw error
            }
        }
        try connection.execute("VACUUM")
    }

    /// `kv` and `log` when they are still `WITHOUT ROWID` tables.
    static func legacyTables(_ connection: SQLiteConnection) throws(BerthError) -> Set<String> {
        var found: Set<String> = []
        try connection.query("SELECT name, sql FROM sqlite_master WHERE type = 'table' AND name IN ('kv', 'log')") { row in
            if row.text(1).uppercased().contains("WITHOUT ROWID") { found.insert(row.text(0)) }
        }
        return found
    }

    private static func integer(_ connection: SQLiteConnection, _ sql: String) throws(BerthError) -> Int64 {
        var value: Int64 = 0
        try connection.query(sql) { row in value = row.integer(0) }
        return value
    }

    private static func text(_ connection: SQLiteConnection, _ sql: String) throws(BerthError) -> String {
        var value = ""
        try connection.query(sql) { row in value = row.text(0) }
        return value.lowercased()
    }
}
