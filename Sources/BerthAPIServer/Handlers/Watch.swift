import BerthCore
import BerthStore
import Foundation
import Hummingbird
import NIOCore
import Synchronization

/// Watch streams: newline-delimited `{"type","object"}` events over a chunked response,
/// with ADDED/MODIFIED/DELETED computed against the selectors (an object that stops matching
/// is DELETED for this watcher), optional bookmarks, and 410 Gone for compacted revisions.
extension APIServer {
    func watch(_ target: ResourceTarget, _ query: QueryParameters, _ representation: Representation,
               channel: (any Channel)? = nil) async throws(BerthError) -> Response {
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
            guard let revision = Int64(requested), revision >= 0 else { throw BerthError(.badRequest, "invalid resourceVersion \"\(requested)\"") }
            startRevision = revision
        }
        // The store puts each committed batch straight into `pending` and wakes the writer;
        // the writer takes everything pending at once, so a burst of events becomes one write
        // (one TLS record run) per watcher instead of one per event.
        let pending = WatchPending()
        let (wakes, wake) = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
        let subscription = try await storage.subscribe(descriptor, namespace: target.namespace, after: startRevision, receiver: WatchReceiver(
            deliver: { batch in
                let taken = pending.add(batch)
                wake.yield()
                // A watcher this far behind has stopped reading (or reads slower than the
                // cluster changes): drop its connection so what it holds is given back at
                // once. Its writer may be blocked on a socket nobody reads; the ERROR event
                // could not reach it anyway. The client resumes from its last revision.
                if !taken, let channel { Self.abort(channel) }
                return taken
            },
            finish: { error in
                pending.finish(error)
                wake.yield()
            }))
        let context = WatchContext(descriptor: descriptor, selection: selection, representation: representation,
                                   includeObject: query["includeObject"], now: clock.now)
        let interval = configuration.bookmarkInterval
        let coalescing = configuration.watchCoalescing
        let ticker = watchTicker
        let initialObjects = initial
        let watchDuration = duration
        let body = ResponseBody { writer in
            var lastRevision = startRevision
            APIServerMetrics.shared.watchStarted(descriptor, namespaced: target.namespace != nil, by: 1)
            defer {
                subscription.cancel()
                APIServerMetrics.shared.watchStarted(descriptor, namespaced: target.namespace != nil, by: -1)
            }
            for object in initialObjects { try await writer.write(context.line(type: "ADDED", object)) }
            try await withThrowingDiscardingTaskGroup { group in
                group.addTask {
                    try? await Task.sleep(for: watchDuration)
                    pending.finish(nil)
                    wake.yield()
                }
                if bookmarks {
                    group.addTask {
                        while !Task.isCancelled {
                            try? await Task.sleep(for: interval)
                            pending.requestBookmark()
                            wake.yield()
                        }
                    }
                }
                let clock = ContinuousClock()
                var lastWrite = clock.now - coalescing
                loop: for await _ in wakes {
                    // Right after a write, let the next events gather until the shared tick.
                    if lastWrite + coalescing > clock.now, !pending.isFinished { await ticker.nextTick() }
                    // At most one write's worth at a time: a stalled client then holds one
                    // such buffer in flight, not everything it has not read.
                    let batch = pending.take(upTo: WatchPending.writeBytes)
                    if batch.more { wake.yield() }
                    var buffer = ByteBuffer()
                    buffer.reserveCapacity(batch.events.reduce(0) { $0 + $1.kv.value.count + 80 })
                    for event in batch.events {
                        lastRevision = max(lastRevision, event.kv.modRevision)
                        if context.writeFastLine(event, into: &buffer) {
                            continue
                        } else if let (type, object) = try context.convert(event) {
                            var line = context.line(type: type, object)
                            buffer.writeBuffer(&line)
                        }
                    }
                    if batch.bookmark {
                        var line = context.line(type: "BOOKMARK", context.bookmark(lastRevision), raw: true)
                        buffer.writeBuffer(&line)
                    }
                    if let outcome = batch.finished, let error = outcome {
                        let failure = (error as? BerthError) ?? BerthError(.internalError, "watch failed: \(error)")
                        let status = (try? JSONValue(encoding: Status(error: failure))) ?? [:]
                        var line = context.line(type: "ERROR", status, raw: true)
                        buffer.writeBuffer(&line)
                    }
                    if buffer.readableBytes > 0 {
                        try await writer.write(buffer)
                        lastWrite = clock.now
                    }
                    if batch.finished != nil { break loop }
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

extension APIServer {
    /// Ends a connection whose peer stopped reading with a reset: closed normally, its
    /// unsent bytes (megabytes, the kernel grows the send buffer) would sit in an orphaned
    /// socket, retransmitted into a zero window for minutes.
    static func abort(_ channel: any Channel) {
        guard let socket = channel as? any SocketOptionProvider else {
            channel.close(promise: nil)
            return
        }
        socket.setSoLinger(linger(l_onoff: 1, l_linger: 0)).whenComplete { _ in
            channel.close(promise: nil)
        }
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
        // Most events of a selective watch (a node's pods) are about other objects: skip them
        // unless their bytes, now or before, could match.
        if !selection.needles.isEmpty && !selection.mayMatch(event.kv.value) && !(event.previous.map { selection.mayMatch($0.value) } ?? false) {
            return nil
        }
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

    /// Without selectors or tables, an event is the stored bytes with the revision spliced in,
    /// written straight into the outgoing buffer: no parsing and no copy in between, however
    /// many watchers there are. Returns false when this watch needs the slow path.
    func writeFastLine(_ event: WatchEvent, into buffer: inout ByteBuffer) -> Bool {
        guard selection.isEverything, representation == .object else { return false }
        let type = event.kind == .delete ? "DELETED" : (event.kv.version == 1 ? "ADDED" : "MODIFIED")
        buffer.writeString("{\"type\":\"\(type)\",\"object\":")
        ObjectCodec.splice(event.kv.value, revision: event.kv.modRevision) { buffer.writeBytes($0) }
        buffer.writeString("}\n")
        return true
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

/// What a watch's producers have collected for its writer since the writer last looked.
final class WatchPending: Sendable {
    struct Batch {
        var events: [WatchEvent] = []
        var bookmark = false
        /// Set once the watch ends: `.some(nil)` for a normal end, `.some(error)` for a failure.
        var finished: (any Error)??
    }

    /// A watcher holding this many undelivered events, or this many bytes of them, is cut off
    /// (it can resume from its last revision), so one stalled client cannot grow the server
    /// without bound. 15 watchers that never read, during 2,000 creates of 20 KB objects, took
    /// the server from 47 to 199 MB before the byte bound.
    static let limit = 200_000
    static let byteLimit = 32 * 1024 * 1024
    /// What one write takes from the pending events at most.
    static let writeBytes = 1024 * 1024
    private let state = Mutex((batch: Batch(), bytes: 0))

    /// False, taking nothing, when the watcher is already too far behind.
    func add(_ events: [WatchEvent]) -> Bool {
        let size = events.reduce(0) { $0 + $1.kv.value.count }
        return state.withLock { state in
            guard state.batch.events.count + events.count <= Self.limit, state.bytes + size <= Self.byteLimit else { return false }
            state.batch.events.append(contentsOf: events)
            state.bytes += size
            return true
        }
    }
    func requestBookmark() { state.withLock { $0.batch.bookmark = true } }
    var isFinished: Bool { state.withLock { $0.batch.finished != nil } }

    func finish(_ error: (any Error)?) {
        state.withLock { state in
            if state.batch.finished == nil { state.batch.finished = .some(error) }
        }
    }

    /// The oldest pending events up to about `maximumBytes` (at least one); `more` when some
    /// are left for the next write. The end of the watch is reported with the last events.
    func take(upTo maximumBytes: Int) -> (events: [WatchEvent], bookmark: Bool, finished: (any Error)??, more: Bool) {
        state.withLock { state in
            var count = 0
            var bytes = 0
            for event in state.batch.events {
                if count > 0 && bytes + event.kv.value.count > maximumBytes { break }
                bytes += event.kv.value.count
                count += 1
            }
            let more = count < state.batch.events.count
            let events: [WatchEvent]
            if more {
                events = Array(state.batch.events[..<count])
                state.batch.events.removeFirst(count)
            } else {
                events = state.batch.events
                state.batch.events.removeAll(keepingCapacity: true)
            }
            state.bytes -= bytes
            let bookmark = !more && state.batch.bookmark
            if bookmark { state.batch.bookmark = false }
            return (events, bookmark, more ? nil : state.batch.finished, more)
        }
    }
}
