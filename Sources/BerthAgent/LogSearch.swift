import BerthCore
import Foundation

/// `berth logs -l app=web --since 1h --grep ERROR [-f]` on one node: the lines of every
/// container of the namespace's pods whose labels match — running ones and, from
/// `LogArchive`, ended ones — newer than `since` and containing `grep` (plain text, case
/// sensitive), newest first; with `follow`, then new lines of the running pods (pods that
/// start meanwhile included) as they are written. Entries are JSON lines:
/// `{"time","namespace","pod","container","line","ended"}`.
public struct LogQuery: Sendable {
    public var namespace: String
    public var selector: LabelSelector
    public var since: Date?
    public var grep: String?
    public var limit: Int
    public var follow: Bool

    public init(namespace: String, selector: LabelSelector, since: Date?, grep: String?, limit: Int, follow: Bool) {
        self.namespace = namespace
        self.selector = selector
        self.since = since
        self.grep = grep
        self.limit = limit
        self.follow = follow
    }
}

struct LogEntry {
    var time: Date
    var stamp: String
    var namespace: String
    var pod: String
    var container: String
    var line: String
    var ended: Bool

    var json: [UInt8] {
        JSONWriter.bytes(["time": .string(stamp), "namespace": .string(namespace), "pod": .string(pod), "container": .string(container),
                          "line": .string(line), "ended": .bool(ended)]) + [0x0A]
    }
}

/// Whole lines out of CRI log text (`TIME STREAM F|P MESSAGE`), partial records joined.
struct CRILines {
    private var pending = ""
    private var pendingStamp: Substring?

    mutating func feed(_ text: Substring, _ emit: (Substring, String) -> Void) {
        for raw in text.split(separator: "\n", omittingEmptySubsequences: true) {
            let fields = raw.split(separator: " ", maxSplits: 3, omittingEmptySubsequences: false)
            guard fields.count >= 3 else { continue }
            pending += fields.count == 4 ? fields[3] : ""
            if pendingStamp == nil { pendingStamp = fields[0] }
            if fields[2] == "P" { continue }
            emit(pendingStamp ?? fields[0], pending)
            pending = ""
            pendingStamp = nil
        }
    }
}

extension AgentService {
    struct LogSource {
        var namespace: String
        var pod: String
        var directory: String
        var ended: Bool
    }

    func logSources(_ query: LogQuery, includeEnded: Bool) async -> [LogSource] {
        var sources: [LogSource] = []
        for worker in await manager.allWorkers() {
            let facts = await worker.logFacts()
            if facts.namespace == query.namespace, query.selector.matches(facts.labels) {
                sources.append(LogSource(namespace: facts.namespace, pod: facts.name, directory: facts.directory, ended: false))
            }
        }
        if includeEnded {
            for (pod, directory) in LogArchive.ended(configuration) where pod.namespace == query.namespace && query.selector.matches(pod.labels) {
                sources.append(LogSource(namespace: pod.namespace, pod: pod.name, directory: directory, ended: true))
            }
        }
        return sources
    }

    /// Every matching line now, newest first, at most `limit`.
    func searchLogs(_ query: LogQuery) async -> [LogEntry] {
        var entries: [LogEntry] = []
        for source in await logSources(query, includeEnded: true) {
            for container in Self.subdirectories(source.directory) {
                let directory = source.directory + "/" + container
                for file in ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []) where file.contains(".log") {
                    guard let data = FileManager.default.contents(atPath: directory + "/" + file) else { continue }
                    var lines = CRILines()
                    lines.feed(Substring(String(decoding: data, as: UTF8.self))) { stamp, line in
                        if let grep = query.grep, !line.contains(grep) { return }
                        guard let time = RFC3339.parse(stamp) else { return }
                        if let since = query.since, time < since { return }
                        entries.append(LogEntry(time: time, stamp: String(stamp), namespace: source.namespace, pod: source.pod, container: container,
                                                line: line, ended: source.ended))
                    }
                }
            }
        }
        entries.sort { $0.time > $1.time }
        return Array(entries.prefix(query.limit))
    }

    /// The search, then (with `follow`) new lines as they come, as JSON lines.
    public func logSearch(_ query: LogQuery) async -> AsyncStream<[UInt8]> {
        let found = await searchLogs(query)
        return AsyncStream { continuation in
            continuation.yield(found.flatMap(\.json))
            guard query.follow else {
                continuation.finish()
                return
            }
            let task = Task {
                // Files known at the start are followed from their end; later ones from the start.
                var offsets: [String: UInt64] = [:]
                var first = true
                while !Task.isCancelled {
                    for source in await self.logSources(query, includeEnded: false) {
                        for container in Self.subdirectories(source.directory) {
                            let directory = source.directory + "/" + container
                            for file in ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []) where file.hasSuffix(".log") {
                                let path = directory + "/" + file
                                let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? UInt64) ?? 0
                                var offset = offsets[path] ?? (first ? size : 0)
                                if size < offset { offset = 0 }
                                guard size > offset, let handle = FileHandle(forReadingAtPath: path) else {
                                    offsets[path] = offset
                                    continue
                                }
                                try? handle.seek(toOffset: offset)
                                let data = (try? handle.read(upToCount: Int(size - offset))) ?? Data()
                                try? handle.close()
                                // Only whole records; the rest is read next time.
                                guard let end = data.lastIndex(of: 0x0A) else {
                                    offsets[path] = offset
                                    continue
                                }
                                offsets[path] = offset + UInt64(end - data.startIndex + 1)
                                var lines = CRILines()
                                var output: [UInt8] = []
                                lines.feed(Substring(String(decoding: data[data.startIndex...end], as: UTF8.self))) { stamp, line in
                                    if let grep = query.grep, !line.contains(grep) { return }
                                    output += LogEntry(time: Date(), stamp: String(stamp), namespace: source.namespace, pod: source.pod,
                                                       container: container, line: line, ended: false).json
                                }
                                if !output.isEmpty { continuation.yield(output) }
                            }
                        }
                    }
                    first = false
                    try? await Task.sleep(for: .milliseconds(250))
                }
                continuation.finish()
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }

    static func subdirectories(_ path: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).filter { name in
            var isDirectory: ObjCBool = false
            return FileManager.default.fileExists(atPath: path + "/" + name, isDirectory: &isDirectory) && isDirectory.boolValue
        }.sorted()
    }
}

extension PodWorker {
    func logFacts() -> (namespace: String, name: String, labels: [String: String], directory: String) {
        (record.namespace, record.name, pod.metadata.labels ?? [:], logDirectory)
    }
}

extension LogQuery {
    /// From the query string the API server passes on: `namespace`, `labelSelector`,
    /// `sinceSeconds`, `grep`, `limit` (default 1000, at most 10000), `follow`.
    public init(queryString: String) throws(BerthError) {
        var values: [String: String] = [:]
        for item in URLComponents(string: "?" + queryString)?.queryItems ?? [] { values[item.name] = item.value ?? "" }
        guard let namespace = values["namespace"], !namespace.isEmpty else { throw BerthError(.badRequest, "a log search needs namespace") }
        self.namespace = namespace
        selector = try LabelSelector(parsing: values["labelSelector"] ?? "")
        since = values["sinceSeconds"].flatMap(Double.init).map { Date().addingTimeInterval(-$0) }
        grep = values["grep"].flatMap { $0.isEmpty ? nil : $0 }
        limit = min(10_000, max(1, values["limit"].flatMap(Int.init) ?? 1000))
        follow = values["follow"] == "true"
    }
}
