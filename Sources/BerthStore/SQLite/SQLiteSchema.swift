/// The on-disk layout of `SQLiteStore`: current state in `kv`, every change in `log`
/// (what watches replay), counters in `meta`, leases in `leases`.
///
/// `kv` and `log` are rowid tables on 8 KB pages. They were `WITHOUT ROWID` tables on 4 KB
/// pages, where a row keeps at most about a quarter of a page inline (~1,000 bytes): nearly
/// every stored object (a pod is 1–3 KB) spilled into an overflow page of its own, in both
/// tables, so each write touched two more pages and the file was three times its data.
/// A rowid table keeps rows up to almost a page inline. `SQLiteLayout` upgrades older files.
enum SQLiteSchema {
    static let pageSize = 8192

    static func kvTable(_ name: String) -> String {
        """
        CREATE TABLE IF NOT EXISTS \(name)(
            key TEXT NOT NULL PRIMARY KEY, value BLOB NOT NULL, create_rev INTEGER NOT NULL,
            mod_rev INTEGER NOT NULL, version INTEGER NOT NULL, lease INTEGER NOT NULL DEFAULT 0
        );
        """
    }

    static func logTable(_ name: String) -> String {
        """
        CREATE TABLE IF NOT EXISTS \(name)(
            rev INTEGER NOT NULL, sub INTEGER NOT NULL, key TEXT NOT NULL, deleted INTEGER NOT NULL,
            value BLOB NOT NULL, create_rev INTEGER NOT NULL, version INTEGER NOT NULL,
            lease INTEGER NOT NULL, prev_rev INTEGER NOT NULL,
            UNIQUE(rev, sub)
        );
        """
    }

    /// The page size applies only to a file not written yet (an older file is rebuilt by
    /// `SQLiteLayout`), so it comes before anything else.
    static let statements = """
        PRAGMA page_size=\(pageSize);
        PRAGMA journal_mode=WAL;
        PRAGMA synchronous=FULL;
        \(kvTable("kv"))
        CREATE INDEX IF NOT EXISTS kv_lease ON kv(lease) WHERE lease != 0;
        \(logTable("log"))
        CREATE TABLE IF NOT EXISTS meta(name TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
        INSERT OR IGNORE INTO meta(name, value) VALUES ('revision', 1), ('compacted', 0), ('lease_seq', 0);
        CREATE TABLE IF NOT EXISTS leases(id INTEGER PRIMARY KEY, ttl INTEGER NOT NULL);
        """

    static let selectKey = "SELECT key, value, create_rev, mod_rev, version, lease FROM kv WHERE key = ?"
    static let selectRange = "SELECT key, value, create_rev, mod_rev, version, lease FROM kv WHERE key >= ? AND key < ? ORDER BY key LIMIT ?"
    static let selectPrefixKeys = "SELECT key, value, create_rev, mod_rev, version, lease FROM kv WHERE key >= ? AND key < ? ORDER BY key"
    static let upsert = "INSERT OR REPLACE INTO kv(key, value, create_rev, mod_rev, version, lease) VALUES (?, ?, ?, ?, ?, ?)"
    static let deleteKey = "DELETE FROM kv WHERE key = ?"
    static let appendLog = "INSERT INTO log(rev, sub, key, deleted, value, create_rev, version, lease, prev_rev) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
    static let selectLog = "SELECT rev, key, deleted, value, create_rev, version, lease, prev_rev FROM log WHERE rev > ? AND rev <= ? AND key >= ? AND key < ? ORDER BY rev, sub"
    static let selectLogValue = "SELECT value, create_rev, version, lease FROM log WHERE rev = ? AND key = ? AND deleted = 0"
    static let readMeta = "SELECT value FROM meta WHERE name = ?"
    static let writeMeta = "UPDATE meta SET value = ? WHERE name = ?"

    static func keyValue(_ row: SQLiteRow) -> KeyValue {
        KeyValue(key: row.text(0), value: row.blob(1), createRevision: row.integer(2), modRevision: row.integer(3), version: row.integer(4), lease: row.integer(5))
    }
}
