import BerthCore
import CSQLite

/// A thin, synchronous wrapper over one sqlite3 connection. Not thread-safe: each connection
/// is owned by one thread (the writer) or guarded by a lock (readers).
final class SQLiteConnection {
    private var handle: OpaquePointer?
    private var statements: [String: OpaquePointer] = [:]
    let path: String

    init(path: String, readOnly: Bool = false) throws(BerthError) {
        self.path = path
        let flags = readOnly ? SQLITE_OPEN_READONLY : (SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE)
        let code = sqlite3_open_v2(path, &handle, flags | SQLITE_OPEN_NOMUTEX, nil)
        guard code == SQLITE_OK else {
            let message = handle.map { String(cString: sqlite3_errmsg($0)) } ?? "code \(code)"
            sqlite3_close(handle)
            throw BerthError(.internalError, "failed to open sqlite database \(path): \(message)")
        }
        sqlite3_busy_timeout(handle, 10_000)
    }

    deinit { close() }

    /// Closes the file now rather than whenever the last reference goes: a store that was
    /// closed must let go of the file (it can be reopened, or upgraded, in the same process).
    /// Later calls fail with an error instead of touching a closed handle.
    func close() {
        for statement in statements.values { sqlite3_finalize(statement) }
        statements = [:]
        sqlite3_close(handle)
        handle = nil
    }

    /// For SQLite calls this wrapper does not cover (the online backup).
    var rawHandle: OpaquePointer? { handle }

    var errorMessage: String { handle.map { String(cString: sqlite3_errmsg($0)) } ?? "the database is closed" }

    /// The last failure as a `BerthError`: a full disk is 507 (writes are refused, reads go
    /// on, and nothing half-written stays: SQLite rolls the transaction back); a damaged file
    /// names the file and the way back.
    func failure(_ what: String) -> BerthError {
        let code = handle.map { sqlite3_errcode($0) & 0xff } ?? SQLITE_MISUSE
        switch code {
        case SQLITE_FULL:
            return BerthError(.insufficientStorage, "\(what): insufficient storage: the disk holding \(path) is full")
        case SQLITE_CORRUPT, SQLITE_NOTADB:
            return BerthError(.internalError, "\(what): the store file \(path) is damaged (\(errorMessage)); \(SQLiteConnection.restoreAdvice)")
        default:
            return BerthError(.internalError, "\(what): \(errorMessage)")
        }
    }

    static let restoreAdvice = "restore a backup into an empty data directory with `berth restore FILE --data-dir DIR` and start the server on that directory"

    func execute(_ sql: String) throws(BerthError) {
        guard handle != nil else { throw BerthError(.unavailable, "failed to run sqlite statement: the database is closed") }
        var error: UnsafeMutablePointer<CChar>?
        if sqlite3_exec(handle, sql, nil, nil, &error) != SQLITE_OK {
            sqlite3_free(error)
            throw failure("failed to run sqlite statement")
        }
    }

    /// Runs a cached prepared statement: binds values, calls `row` for each result row.
    func query(_ sql: String, _ values: [SQLiteValue] = [], row: (SQLiteRow) throws(BerthError) -> Void = { _ in }) throws(BerthError) {
        let statement = try prepared(sql)
        defer {
            sqlite3_reset(statement)
            sqlite3_clear_bindings(statement)
        }
        for (index, value) in values.enumerated() {
            let position = Int32(index + 1)
            switch value {
            case .integer(let number): sqlite3_bind_int64(statement, position, number)
            case .text(let text):
                // Explicit length: keys may contain NUL (range bounds like "key\u{0}").
                let bytes = Array(text.utf8)
                bytes.withUnsafeBufferPointer { buffer in
                    buffer.withMemoryRebound(to: CChar.self) { chars in
                        _ = sqlite3_bind_text(statement, position, chars.baseAddress, Int32(chars.count), SQLiteConnection.transient)
                    }
                }
            case .blob(let bytes):
                bytes.withUnsafeBytes { buffer in
                    _ = sqlite3_bind_blob(statement, position, buffer.baseAddress, Int32(buffer.count), SQLiteConnection.transient)
                }
            case .null: sqlite3_bind_null(statement, position)
            }
        }
        while true {
            let code = sqlite3_step(statement)
            if code == SQLITE_DONE { return }
            guard code == SQLITE_ROW else {
                throw failure("failed to run sqlite query")
            }
            try row(SQLiteRow(statement: statement))
        }
    }

    var changes: Int { Int(sqlite3_changes(handle)) }

    private func prepared(_ sql: String) throws(BerthError) -> OpaquePointer {
        if let statement = statements[sql] { return statement }
        guard handle != nil else { throw BerthError(.unavailable, "failed to prepare sqlite statement: the database is closed") }
        var statement: OpaquePointer?
        guard sqlite3_prepare_v2(handle, sql, -1, &statement, nil) == SQLITE_OK, let statement else {
            throw failure("failed to prepare sqlite statement")
        }
        statements[sql] = statement
        return statement
    }

    // SQLITE_TRANSIENT tells sqlite to copy bound buffers before the call returns.
    nonisolated(unsafe) static let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)
}

enum SQLiteValue {
    case integer(Int64)
    case text(String)
    case blob([UInt8])
    case null
}

struct SQLiteRow {
    let statement: OpaquePointer

    func integer(_ column: Int32) -> Int64 { sqlite3_column_int64(statement, column) }

    func text(_ column: Int32) -> String {
        guard let pointer = sqlite3_column_text(statement, column) else { return "" }
        return String(cString: pointer)
    }

    func blob(_ column: Int32) -> [UInt8] {
        let count = Int(sqlite3_column_bytes(statement, column))
        guard count > 0, let pointer = sqlite3_column_blob(statement, column) else { return [] }
        return Array(UnsafeRawBufferPointer(start: pointer, count: count))
    }

    func isNull(_ column: Int32) -> Bool { sqlite3_column_type(statement, column) == SQLITE_NULL }
}
