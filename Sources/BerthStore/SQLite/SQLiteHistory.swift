import BerthCore

/// Reads at a past revision and the compaction that keeps them possible.
///
/// `kv` holds only the current state. A key unchanged since revision R reads from `kv`; a key
/// changed after R is found by its first `log` row after R, whose `prev_rev` names the row
/// that held its value at R (0: it did not exist at R). Compaction at C therefore keeps, for
/// every key, its newest row at or below C (dropping only rows a newer row at or below C
/// supersedes, and deletions), so that every read at C or later can be answered — as etcd's
/// compaction keeps each key's latest revision.
enum SQLiteHistory {
    static let changesAfter = "SELECT key, prev_rev FROM log WHERE rev > ? AND key >= ? AND key < ? ORDER BY rev, sub"
    static let changesOfKeyAfter = "SELECT prev_rev FROM log WHERE rev > ? AND key = ? ORDER BY rev, sub LIMIT 1"
    static let unchangedRange = "SELECT key, value, create_rev, mod_rev, version, lease FROM kv WHERE key >= ? AND key < ? AND mod_rev <= ? ORDER BY key LIMIT ?"
    static let unchangedKey = "SELECT key, value, create_rev, mod_rev, version, lease FROM kv WHERE key = ? AND mod_rev <= ?"
    static let superseded = "SELECT prev_rev, key FROM log WHERE rev > ? AND rev <= ? AND prev_rev > 0"
    static let deleteRow = "DELETE FROM log WHERE rev = ? AND key = ?"
    static let deleteTombstones = "DELETE FROM log WHERE rev > ? AND rev <= ? AND deleted = 1"

    /// Keys in `[key, end)` (`end == nil`: the one key) as they were at `revision`, which must
    /// be at or above the compacted revision; runs inside the caller's read transaction.
    static func range(_ connection: SQLiteConnection, from key: String, to end: String?, limit: Int, at revision: Int64)
        throws(BerthError) -> (items: [KeyValue], more: Bool) {
        let compacted = try SQLiteWriter.meta(connection, "compacted")
        guard revision >= compacted else {
            throw BerthError(.gone, "required revision \(revision) has been compacted (\(compacted))")
        }
        // The value each changed key had at `revision`: the revision of that row, or 0.
        var changed: [String: Int64] = [:]
        var items: [KeyValue] = []
        if let end {
            try connection.query(changesAfter, [.integer(revision), .text(key), .text(end)]) { row in
                let name = row.text(0)
                if changed[name] == nil { changed[name] = row.integer(1) }
            }
            let fetch = limit > 0 ? Int64(limit) + 1 : -1
            try connection.query(unchangedRange, [.text(key), .text(end), .integer(revision), .integer(fetch)]) { row in
                items.append(SQLiteSchema.keyValue(row))
            }
        } else {
            try connection.query(changesOfKeyAfter, [.integer(revision), .text(key)]) { row in changed[key] = row.integer(0) }
            try connection.query(unchangedKey, [.text(key), .integer(revision)]) { row in items.append(SQLiteSchema.keyValue(row)) }
        }
        for (name, valueRevision) in changed where valueRevision > 0 {
            var found = false
            try connection.query(SQLiteSchema.selectLogValue, [.integer(valueRevision), .text(name)]) { row in
                found = true
                items.append(KeyValue(key: name, value: row.blob(0), createRevision: row.integer(1), modRevision: valueRevision,
                                      version: row.integer(2), lease: row.integer(3)))
            }
            // Only a store compacted before history was kept this way lacks the row.
            guard found else { throw BerthError(.gone, "required revision \(revision) has been compacted") }
        }
        if !changed.isEmpty {
            // Keys compare as bytes, as SQLite's BINARY collation orders them.
            items.sort { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }
        }
        let more = limit > 0 && items.count > limit
        if more { items.removeSubrange(limit...) }
        return (items, more)
    }

    /// Compacts `(from, to]`: drops the rows superseded by a row in that span and the deletions
    /// in it. Runs in the writer's transaction.
    static func compact(_ connection: SQLiteConnection, from: Int64, to: Int64) throws(BerthError) {
        var rows: [(Int64, String)] = []
        try connection.query(superseded, [.integer(from), .integer(to)]) { row in rows.append((row.integer(0), row.text(1))) }
        for (revision, key) in rows {
            try connection.query(deleteRow, [.integer(revision), .text(key)]) { _ in }
        }
        try connection.query(deleteTombstones, [.integer(from), .integer(to)]) { _ in }
    }
}
