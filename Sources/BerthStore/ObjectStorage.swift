import BerthCore

/// API objects on top of the key-value store: keys `/registry/GROUP/PLURAL[/NAMESPACE]/NAME`,
/// values the object's JSON without `resourceVersion` (the key's mod revision is the object's
/// resourceVersion, spliced in on read), and optimistic concurrency on the revision.
public struct ObjectStorage: Sendable {
    public let kv: any KeyValueStore

    public init(kv: any KeyValueStore) { self.kv = kv }

    public static func groupSegment(_ descriptor: ResourceDescriptor) -> String {
        descriptor.group.isEmpty ? "core" : descriptor.group
    }

    public func key(_ descriptor: ResourceDescriptor, namespace: String?, name: String) -> String {
        if descriptor.namespaced {
            return "/registry/\(Self.groupSegment(descriptor))/\(descriptor.plural)/\(namespace ?? "")/\(name)"
        }
        return "/registry/\(Self.groupSegment(descriptor))/\(descriptor.plural)/\(name)"
    }

    /// The prefix of a kind's keys, in one namespace or (nil) all of them.
    /// Where every object of a kind is kept.
    public static func prefix(_ descriptor: ResourceDescriptor) -> String { "/registry/\(groupSegment(descriptor))/\(descriptor.plural)/" }

    public func prefix(_ descriptor: ResourceDescriptor, namespace: String?) -> String {
        if descriptor.namespaced, let namespace, !namespace.isEmpty {
            return "/registry/\(Self.groupSegment(descriptor))/\(descriptor.plural)/\(namespace)/"
        }
        return "/registry/\(Self.groupSegment(descriptor))/\(descriptor.plural)/"
    }

    public func get(_ descriptor: ResourceDescriptor, namespace: String?, name: String) async throws(BerthError) -> JSONValue {
        guard let kv = try await kv.get(key(descriptor, namespace: namespace, name: name)) else {
            throw BerthError.notFound(descriptor.plural, name, group: descriptor.group)
        }
        return try ObjectCodec.decode(kv)
    }

    /// A page of a kind's objects in key order, starting after `continueAfter` (a key); at a
    /// past `revision` when it is > 0 (the pages after a list's first).
    public func list(_ descriptor: ResourceDescriptor, namespace: String?, limit: Int, continueAfter: String?,
                     revision: Int64 = 0) async throws(BerthError) -> RangeResult {
        let prefix = prefix(descriptor, namespace: namespace)
        let start = continueAfter.map { $0 + "\u{0}" } ?? prefix
        guard start.hasPrefix(prefix) else { throw BerthError(.badRequest, "invalid continue token") }
        return try await kv.range(from: start, to: KeyRange.prefixEnd(prefix), limit: limit, revision: revision)
    }

    /// Stores a new object; 409 AlreadyExists when the name is taken.
    public func create(_ descriptor: ResourceDescriptor, _ object: JSONValue) async throws(BerthError) -> JSONValue {
        let name = object.value(at: ["metadata", "name"])?.stringValue ?? ""
        let namespace = object.value(at: ["metadata", "namespace"])?.stringValue
        let key = key(descriptor, namespace: namespace, name: name)
        let bytes = ObjectCodec.encode(object)
        let result = try await kv.txn(if: [.absent(key)], then: [.put(key: key, value: bytes)], else: [])
        guard result.succeeded else { throw BerthError.alreadyExists(descriptor.plural, name, group: descriptor.group) }
        return ObjectCodec.withResourceVersion(object, result.revision)
    }

    /// What `create(_:_:reserving:)` found.
    public enum ReservingOutcome: Sendable {
        case created(JSONValue)
        case nameTaken
        /// Some reserved keys exist already (someone else holds them); nothing was written.
        case keysTaken([String])
        /// The guard moved (check again); nothing was written.
        case guardMoved
    }

    /// Stores a new object and, in the same transaction, reserve keys that must not exist yet
    /// (a Service's cluster IP and node ports): either all are written or none.
    public func create(_ descriptor: ResourceDescriptor, _ object: JSONValue, reserving keys: [String: [UInt8]],
                       guardedBy guardKey: GuardKey? = nil) async throws(BerthError) -> ReservingOutcome {
        let name = object.value(at: ["metadata", "name"])?.stringValue ?? ""
        let namespace = object.value(at: ["metadata", "namespace"])?.stringValue
        let key = key(descriptor, namespace: namespace, name: name)
        let reserved = keys.keys.sorted()
        let compares = [Compare.absent(key)] + reserved.map { Compare.absent($0) } + (guardKey?.compares ?? [])
        let writes = [Operation.put(key: key, value: ObjectCodec.encode(object))] + reserved.map { Operation.put(key: $0, value: keys[$0] ?? []) }
            + (guardKey?.bumps ?? [])
        let result = try await kv.txn(if: compares, then: writes, else: ([key] + reserved).map { Operation.get(key: $0) })
        if result.succeeded { return .created(ObjectCodec.withResourceVersion(object, result.revision)) }
        if case .get(.some) = result.results.first { return .nameTaken }
        var taken: [String] = []
        for (index, reservedKey) in reserved.enumerated() where index + 1 < result.results.count {
            if case .get(.some) = result.results[index + 1] { taken.append(reservedKey) }
        }
        return taken.isEmpty && guardKey != nil ? .guardMoved : .keysTaken(taken)
    }

    /// Keys that stand for sets of objects checked together (all IPPools' addresses, all nodes'
    /// pod subnets). A write reads the guards of the sets it checks against and requires them
    /// unchanged, and moves the guard of the set it belongs to: of a pool write and a node write
    /// that checked each other's set, whichever commits second sees a moved guard and checks again,
    /// while two node writes (which only move the node guard) never get in each other's way.
    public struct GuardKey: Sendable {
        /// Guards read before the check, with their modification revisions (0: did not exist).
        public let checked: [(key: String, revision: Int64)]
        /// Guards this write moves.
        public let moved: [String]
        /// Objects rewritten in the same transaction if still at their revision (a quota's
        /// `status.used` charged with the write it admits).
        public var companions: [(key: String, revision: Int64, value: [UInt8])] = []

        public init(checked: [(key: String, revision: Int64)], moved: [String], companions: [(key: String, revision: Int64, value: [UInt8])] = []) {
            self.checked = checked
            self.moved = moved
            self.companions = companions
        }

        var compares: [Compare] {
            checked.map { $0.revision == 0 ? .absent($0.key) : .unchanged($0.key, since: $0.revision) } + companions.map { .unchanged($0.key, since: $0.revision) }
        }
        var bumps: [Operation] { moved.map { .put(key: $0, value: Array("moved".utf8)) } + companions.map { .put(key: $0.key, value: $0.value) } }
    }

    /// Reads the guards a write checks against; `moving` are the guards the write moves.
    public func guardKey(checking keys: [String], moving: [String]) async throws(BerthError) -> GuardKey {
        var checked: [(key: String, revision: Int64)] = []
        for key in keys { checked.append((key, try await kv.get(key)?.modRevision ?? 0)) }
        return GuardKey(checked: checked, moved: moving)
    }

    /// Stores a new object if the guard has not moved; nil when it has (check again). 409
    /// AlreadyExists when the name is taken.
    public func create(_ descriptor: ResourceDescriptor, _ object: JSONValue, guardedBy guardKey: GuardKey) async throws(BerthError) -> JSONValue? {
        let name = object.value(at: ["metadata", "name"])?.stringValue ?? ""
        let key = key(descriptor, namespace: object.value(at: ["metadata", "namespace"])?.stringValue, name: name)
        let result = try await kv.txn(if: [.absent(key)] + guardKey.compares, then: [.put(key: key, value: ObjectCodec.encode(object))] + guardKey.bumps,
                                      else: [.get(key: key)])
        if result.succeeded { return ObjectCodec.withResourceVersion(object, result.revision) }
        if case .get(.some) = result.results.first { throw BerthError.alreadyExists(descriptor.plural, name, group: descriptor.group) }
        return nil
    }

    /// Replaces an object if it is still at `revision` and the guard has not moved; 409
    /// Conflict otherwise (the caller reads and checks again), 404 if gone.
    public func update(_ descriptor: ResourceDescriptor, _ object: JSONValue, expectedRevision revision: Int64, guardedBy guardKey: GuardKey) async throws(BerthError) -> JSONValue {
        let name = object.value(at: ["metadata", "name"])?.stringValue ?? ""
        let key = key(descriptor, namespace: object.value(at: ["metadata", "namespace"])?.stringValue, name: name)
        let result = try await kv.txn(if: [.unchanged(key, since: revision)] + guardKey.compares,
                                      then: [.put(key: key, value: ObjectCodec.encode(object))] + guardKey.bumps, else: [.get(key: key)])
        guard result.succeeded else {
            if case .get(nil) = result.results.first { throw BerthError.notFound(descriptor.plural, name, group: descriptor.group) }
            throw BerthError.conflict(descriptor.plural, name, group: descriptor.group)
        }
        return ObjectCodec.withResourceVersion(object, result.revision)
    }

    /// Replaces an object if it is still at `revision`; 409 Conflict otherwise, 404 if gone.
    public func update(_ descriptor: ResourceDescriptor, _ object: JSONValue, expectedRevision revision: Int64) async throws(BerthError) -> JSONValue {
        let name = object.value(at: ["metadata", "name"])?.stringValue ?? ""
        let namespace = object.value(at: ["metadata", "namespace"])?.stringValue
        let key = key(descriptor, namespace: namespace, name: name)
        let result = try await kv.txn(if: [.unchanged(key, since: revision)], then: [.put(key: key, value: ObjectCodec.encode(object))], else: [.get(key: key)])
        guard result.succeeded else {
            if case .get(nil) = result.results.first { throw BerthError.notFound(descriptor.plural, name, group: descriptor.group) }
            throw BerthError.conflict(descriptor.plural, name, group: descriptor.group)
        }
        return ObjectCodec.withResourceVersion(object, result.revision)
    }

    /// What `update(_:_:expectedRevision:reserving:releasing:)` found.
    public enum ReservingUpdateOutcome: Sendable {
        case updated(JSONValue)
        /// Some keys to reserve exist already (none: the guard moved); nothing was written.
        case keysTaken([String])
    }

    /// Replaces an object if it is still at `revision` and, in the same transaction, reserves
    /// keys that must not exist yet and deletes keys it no longer holds (a Service whose node
    /// ports change). 409 Conflict when the object moved on, 404 when it is gone.
    public func update(_ descriptor: ResourceDescriptor, _ object: JSONValue, expectedRevision revision: Int64,
                       reserving keys: [String: [UInt8]], releasing released: [String],
                       guardedBy guardKey: GuardKey? = nil) async throws(BerthError) -> ReservingUpdateOutcome {
        let name = object.value(at: ["metadata", "name"])?.stringValue ?? ""
        let namespace = object.value(at: ["metadata", "namespace"])?.stringValue
        let key = key(descriptor, namespace: namespace, name: name)
        let reserved = keys.keys.sorted()
        let compares = [Compare.unchanged(key, since: revision)] + reserved.map { Compare.absent($0) } + (guardKey?.compares ?? [])
        let writes = [Operation.put(key: key, value: ObjectCodec.encode(object))] + reserved.map { Operation.put(key: $0, value: keys[$0] ?? []) }
            + released.map { Operation.delete(key: $0) } + (guardKey?.bumps ?? [])
        let result = try await kv.txn(if: compares, then: writes, else: ([key] + reserved).map { Operation.get(key: $0) })
        if result.succeeded { return .updated(ObjectCodec.withResourceVersion(object, result.revision)) }
        guard case .get(let current) = result.results.first, let current else { throw BerthError.notFound(descriptor.plural, name, group: descriptor.group) }
        if current.modRevision != revision { throw BerthError.conflict(descriptor.plural, name, group: descriptor.group) }
        var taken: [String] = []
        for (index, reservedKey) in reserved.enumerated() where index + 1 < result.results.count {
            if case .get(.some) = result.results[index + 1] { taken.append(reservedKey) }
        }
        return .keysTaken(taken)
    }

    /// Deletes an object if it is still at `revision` (any revision when nil); returns its last state.
    /// Deletes an object if it is still at `revision` (any revision when nil), with `alsoDelete`
    /// (keys it reserved) in the same transaction.
    public func delete(_ descriptor: ResourceDescriptor, namespace: String?, name: String, expectedRevision revision: Int64?,
                       alsoDelete: [String] = []) async throws(BerthError) -> JSONValue {
        let key = key(descriptor, namespace: namespace, name: name)
        let compares: [Compare] = revision.map { [.unchanged(key, since: $0)] } ?? [Compare(key: key, .createRevision(0), .notEqual)]
        let result = try await kv.txn(if: compares, then: [.delete(key: key)] + alsoDelete.map { .delete(key: $0) }, else: [.get(key: key)])
        guard result.succeeded, case .delete(let deleted) = result.results.first, let last = deleted.first else {
            if case .get(.some) = result.results.first { throw BerthError.conflict(descriptor.plural, name, group: descriptor.group) }
            throw BerthError.notFound(descriptor.plural, name, group: descriptor.group)
        }
        var object = try ObjectCodec.decode(last)
        object = ObjectCodec.withResourceVersion(object, result.revision)
        return object
    }

    public func watch(_ descriptor: ResourceDescriptor, namespace: String?, after revision: Int64) async throws(BerthError) -> WatchStream {
        try await kv.watch(prefix: prefix(descriptor, namespace: namespace), after: revision)
    }

    public func subscribe(_ descriptor: ResourceDescriptor, namespace: String?, after revision: Int64,
                          receiver: WatchReceiver) async throws(BerthError) -> WatchSubscription {
        try await kv.subscribe(prefix: prefix(descriptor, namespace: namespace), after: revision, receiver: receiver)
    }
}

/// Stored bytes ⇄ API objects.
public enum ObjectCodec {
    static let metadataMarker = Array("\"metadata\":{".utf8)

    /// Serializes an object for storage, without `resourceVersion` (the revision is the truth).
    public static func encode(_ object: JSONValue) -> [UInt8] {
        var stored = object
        stored.set(nil, at: ["metadata", "resourceVersion"])
        return JSONWriter.bytes(stored)
    }

    public static func decode(_ kv: KeyValue) throws(BerthError) -> JSONValue {
        let object = try JSONParser.parse(kv.value)
        return withResourceVersion(object, kv.modRevision)
    }

    public static func withResourceVersion(_ object: JSONValue, _ revision: Int64) -> JSONValue {
        var object = object
        object.set(.string(String(revision)), at: ["metadata", "resourceVersion"])
        return object
    }

    /// The stored bytes with `"resourceVersion":"N"` inserted at the start of `metadata`,
    /// without parsing: stored objects are written by `JSONWriter`, which puts `apiVersion`,
    /// `kind` and `metadata` first, so the first `"metadata":{` is the object's own.
    public static func splice(_ bytes: [UInt8], revision: Int64, into out: inout [UInt8]) {
        splice(bytes, revision: revision) { out.append(contentsOf: $0) }
    }

    /// The same splice handed out in pieces, so a caller can write them straight into its own
    /// buffer (a watch writes each event into the outgoing `ByteBuffer` without a copy between).
    public static func splice(_ bytes: [UInt8], revision: Int64, emit: (UnsafeRawBufferPointer) -> Void) {
        bytes.withUnsafeBytes { raw in
            guard let position = firstIndex(of: metadataMarker, in: bytes) else {
                emit(raw)
                return
            }
            let end = position + metadataMarker.count
            emit(UnsafeRawBufferPointer(rebasing: raw[..<end]))
            var version = "\"resourceVersion\":\"\(revision)\""
            if end < bytes.count, bytes[end] != UInt8(ascii: "}") { version += "," }
            version.withUTF8 { emit(UnsafeRawBufferPointer($0)) }
            emit(UnsafeRawBufferPointer(rebasing: raw[end...]))
        }
    }

    static func firstIndex(of needle: [UInt8], in haystack: [UInt8]) -> Int? {
        guard haystack.count >= needle.count else { return nil }
        // The marker sits within the first few hundred bytes; stop looking after that.
        let limit = min(haystack.count - needle.count, 4096)
        var index = 0
        while index <= limit {
            if haystack[index] == needle[0] {
                var matched = true
                for offset in 1..<needle.count where haystack[index + offset] != needle[offset] {
                    matched = false
                    break
                }
                if matched { return index }
            }
            index += 1
        }
        return nil
    }
}
