import BerthCore
import Foundation

/// Options of `pods/{name}/log`.
public struct LogOptions: Sendable {
    public var follow = false
    public var tailLines: Int?
    public var since: Date?
    public var timestamps = false
    public var limitBytes: Int?

    public init(follow: Bool = false, tailLines: Int? = nil, since: Date? = nil, timestamps: Bool = false, limitBytes: Int? = nil) {
        self.follow = follow
        self.tailLines = tailLines
        self.since = since
        self.timestamps = timestamps
        self.limitBytes = limitBytes
    }
}

/// Reads container logs in the Kubernetes CRI format conmon writes:
/// `2026-11-23T07:06:21.447932637+00:00 stdout F hello` — `F` ends a line, `P` marks a partial one
/// that continues in the next record.
public enum ContainerLog {
    struct Record {
        var timestamp: Substring
        var message: Substring
        var partial: Bool
    }

    static func parse(_ line: Substring) -> Record? {
        let fields = line.split(separator: " ", maxSplits: 3, omittingEmptySubsequences: false)
        guard fields.count >= 3 else { return nil }
        return Record(timestamp: fields[0], message: fields.count == 4 ? fields[3] : "", partial: fields[2] == "P")
    }

    /// Joins partial records and renders whole lines, filtered by `since`.
    static func render(_ text: Substring, options: LogOptions) -> [String] {
        var lines: [String] = []
        var pending = ""
        var pendingTimestamp: Substring?
        for raw in text.split(separator: "\n", omittingEmptySubsequences: true) {
            guard let record = parse(raw) else { continue }
            pending += record.message
            if pendingTimestamp == nil { pendingTimestamp = record.timestamp }
            if record.partial { continue }
            let timestamp = pendingTimestamp ?? record.timestamp
            if let since = options.since, let date = parseTimestamp(timestamp), date < since {
                pending = ""
                pendingTimestamp = nil
                continue
            }
            lines.append(options.timestamps ? "\(timestamp) \(pending)\n" : "\(pending)\n")
            pending = ""
            pendingTimestamp = nil
        }
        return lines
    }

    /// Lines from the newest rotated files (`PATH.TIMESTAMP`, newest first) placed before `lines`
    /// until there are `tail` of them: just after a rotation the current file may hold fewer lines
    /// than asked for, or briefly not exist between the rename and conmon reopening it.
    static func withRotated(_ lines: [String], path: String, tail: Int, options: LogOptions) -> [String] {
        var lines = lines
        for older in rotatedFiles(of: path) where lines.count < tail {
            guard let previous = FileManager.default.contents(atPath: older) else { continue }
            lines = render(Substring(String(decoding: previous, as: UTF8.self)), options: options) + lines
        }
        return Array(lines.suffix(max(0, tail)))
    }

    /// Rotated siblings of a log file, newest first.
    static func rotatedFiles(of path: String) -> [String] {
        let url = URL(fileURLWithPath: path)
        let directory = url.deletingLastPathComponent().path
        let prefix = url.lastPathComponent + "."
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).filter { $0.hasPrefix(prefix) }
        return names.sorted { (Double($0.dropFirst(prefix.count)) ?? 0) > (Double($1.dropFirst(prefix.count)) ?? 0) }.map { directory + "/" + $0 }
    }

    /// Streams the log: what is there now (after `tailLines`), then new lines as they are written,
    /// until `finished` says the container is gone and everything written has been sent.
    public static func follow(path: String, options: LogOptions, finished: @escaping @Sendable () async -> Bool) -> AsyncStream<[UInt8]> {
        AsyncStream { continuation in
            let task = Task {
                var offset: UInt64 = 0
                var carry = ""
                var first = true
                while !Task.isCancelled {
                    let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? UInt64) ?? 0
                    if size < offset { offset = 0; carry = "" }  // rotated or truncated: start over
                    // The first pass always runs: `tailLines` may need the rotated files even
                    // when the current one is empty or missing.
                    if size > offset || first {
                        var data = Data()
                        if size > offset, let handle = FileHandle(forReadingAtPath: path) {
                            try? handle.seek(toOffset: offset)
                            data = (try? handle.read(upToCount: Int(size - offset))) ?? Data()
                            try? handle.close()
                        }
                        offset += UInt64(data.count)
                        var text = carry + String(decoding: data, as: UTF8.self)
                        // Keep an unfinished record (no newline yet, or a partial line) for next time.
                        if let lastNewline = text.lastIndex(of: "\n") {
                            carry = String(text[text.index(after: lastNewline)...])
                            text = String(text[...lastNewline])
                        } else {
                            carry = text
                            text = ""
                        }
                        var lines = render(Substring(text), options: options)
                        if first, let tail = options.tailLines { lines = withRotated(lines, path: path, tail: tail, options: options) }
                        if !lines.isEmpty { continuation.yield(Array(lines.joined().utf8)) }
                    }
                    first = false
                    if !options.follow { break }
                    if await finished() {
                        let after = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? UInt64) ?? 0
                        if after == offset { break }
                        continue
                    }
                    try? await Task.sleep(for: .milliseconds(100))
                }
                continuation.finish()
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }

    static func parseTimestamp(_ text: Substring) -> Date? {
        // RFC 3339 with nanoseconds; conmon writes local offsets like +00:00.
        RFC3339.parse(text)
    }
}
