import BerthCore
import BerthStore
import Foundation
import Hummingbird
import NIOCore

/// Watch streams: newline-delimited `{"type","object"}` events over a chunked response,
/// with ADDED/MODIFIED/DELETED computed against the selectors (an object that stops matching
/// is DELETED for this watcher), optional bookmarks, and 410 Gone for compacted revisions.
extension APIServer {
    enum WatchSignal: Sendable {
        case event(WatchEvent)
        case bookmark
        case finished((any Error)?)
    }

    func watch(_ target: ResourceTarget, _ query: QueryParameters, _ representation: Representation) async throws(BerthError) -> Response {
        let descriptor = target.descriptor
        let selection = try ListSelection(query, descriptor: descriptor, name: target.name)
        let bookmarks = query.flag("allowWatchBookmarks")
        var duration = configuration.maximumWatchDuration
        if let seconds = try query.integer("timeoutSeconds"), seconds > 0 { duration = min(duration, .seconds(seconds)) }
        let requested = query["resourceVersion"] ?? ""
        var initial: [JSONValue] = []
        let startRevision: Int64
        if requested.isEmpty || requested == "0" {
            // No revision: the current state as ADDED events, then changes after it.
            let page = try await storage.list(descriptor, namespace: target.namespace, limit: 0, continueAfter: nil)
            startRevision = page.revision
            for kv in page.kvs {
                let object = try ObjectCodec.decode(kv)
                if selection.matches(object) { initial.append(object) }
            }
        } else {
            guard let revision = Int64(requested) else { throw BerthError(.badRequest, "invalid resourceVersion \"\(requested)\"") }
            startRevision = revision
        }
        let events = try await storage.watch(descriptor, namespace: target.namespace, after: startRevision)
        let context = WatchContext(descriptor: descriptor, selection: selection, representation: representation,
                                   includeObject: query["includeObject"], now: clock.now)
        let interval = configuration.bookmarkInterval
        let initialObjects = initial
        let watchDuration = duration
        let body = ResponseBody { writer in
            var lastRevision = startRevision
            for object in initialObjects { try await writer.write(context.line(type: "ADDED", object)) }
            let (signals, continuation) = AsyncStream<WatchSignal>.makeStream()
            try await withThrowingDiscardingTaskGroup { group in
                group.addTask {
                    do {
                        for try await event in events { continuation.yield(.event(event)) }
                        continuation.yield(.finished(nil))
                    } catch {
                        continuation.yield(.finished(error))
                    }
                }
                group.addTask {
                    try? await Task.sleep(for: watchDuration)
                    continuation.yield(.finished(nil))
                }
                if bookmarks {
                    group.addTask {
                        while !Task.isCancelled {
                            try? await Task.sleep(for: interval)
                            continuation.yield(.bookmark)
                        }
                    }
                }
                loop: for await signal in signals {
                    switch signal {
                    case .event(let event):
                        lastRevision = max(lastRevision, event.kv.modRevision)
                        if let fast = context.fastLine(event) {
                            try await writer.write(fast)
                        } else if let (type, object) = try context.convert(event) {
                            try await writer.write(context.line(type: type, object))
                        }
                    case .bookmark:
                        try await writer.write(context.line(type: "BOOKMARK", context.bookmark(lastRevision), raw: true))
                    case .finished(let error):
                        if let error {
                            let failure = (error as? BerthError) ?? BerthError(.internalError, "watch failed: \(error)")
                            let status = (try? JSONValue(encoding: Status(error: failure))) ?? [:]
                            try await writer.write(context.line(type: "ERROR", status, raw: true))
                        }
                        break loop
                    }
                }
                group.cancelAll()
            }
            try await writer.finish(nil)
        }
        var headers = HTTPFields()
        headers[.contentType] = "application/json"
        headers[.cacheControl] = "no-cache, private"
        return Response(status: .ok, headers: headers, body: body)
    }
}

/// What one watch needs to turn store events into wire events.
struct WatchContext: Sendable {
    let descriptor: ResourceDescriptor
    let selection: ListSelection
    let representation: Representation
    let includeObject: String?
    let now: @Sendable () -> Date

    func convert(_ event: WatchEvent) throws -> (String, JSONValue)? {
        let object = try ObjectCodec.decode(event.kv)
        switch event.kind {
        case .delete:
            return selection.matches(object) ? ("DELETED", object) : nil
        case .put:
            let created = event.kv.version == 1
            if selection.isEverything { return (created ? "ADDED" : "MODIFIED", object) }
            let matchesNow = selection.matches(object)
            let matchedBefore = try !created && (event.previous.map { try selection.matches(ObjectCodec.decode($0)) } ?? false)
            switch (matchedBefore, matchesNow) {
            case (true, true): return ("MODIFIED", object)
            case (false, true): return ("ADDED", object)
            case (true, false): return ("DELETED", object)
            case (false, false): return nil
            }
        }
    }

    /// Without selectors or tables, an event is the stored bytes with the revision spliced in:
    /// no parsing, however many watchers there are.
    func fastLine(_ event: WatchEvent) -> ByteBuffer? {
        guard selection.isEverything, representation == .object else { return nil }
        let type = event.kind == .delete ? "DELETED" : (event.kv.version == 1 ? "ADDED" : "MODIFIED")
        var out: [UInt8] = []
        out.reserveCapacity(event.kv.value.count + 64)
        out.append(contentsOf: "{\"type\":\"\(type)\",\"object\":".utf8)
        ObjectCodec.splice(event.kv.value, revision: event.kv.modRevision, into: &out)
        out.append(contentsOf: "}\n".utf8)
        return ByteBuffer(bytes: out)
    }

    func bookmark(_ revision: Int64) -> JSONValue {
        ["kind": .string(descriptor.kind), "apiVersion": .string(descriptor.apiVersion), "metadata": ["resourceVersion": .string(String(revision))]]
    }

    func line(type: String, _ object: JSONValue, raw: Bool = false) -> ByteBuffer {
        var payload = object
        if !raw, case .table(let apiVersion) = representation {
            payload = TableBuilder.table(descriptor, [object], apiVersion: apiVersion, includeObject: includeObject, listMeta: [:], now: now())
        }
        var out: [UInt8] = []
        out.append(contentsOf: "{\"type\":\"\(type)\",\"object\":".utf8)
        JSONWriter.write(payload, into: &out)
        out.append(contentsOf: "}\n".utf8)
        return ByteBuffer(bytes: out)
    }
}
