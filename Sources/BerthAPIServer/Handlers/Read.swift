import Glibc
import BerthCore
import BerthStore
import Foundation
import Hummingbird

/// Selection parameters shared by list and watch.
struct ListSelection: Sendable {
    var labels: LabelSelector
    var fields: FieldSelector
    /// Byte strings that every object the selectors can match contains as stored (see `mayMatch`).
    private(set) var needles: [[UInt8]] = []
    /// The namespaces a user who may not list them all is shown (`VisibleNamespaces`), for
    /// lists and watches of namespaces alike; nil shows all.
    private(set) var visibleNames: Set<String>?

    init(_ query: QueryParameters, descriptor: ResourceDescriptor, name: String? = nil) throws(BerthError) {
        labels = try LabelSelector(parsing: query["labelSelector"] ?? "")
        fields = try FieldSelector(parsing: query["fieldSelector"] ?? "")
        try fields.validate(supported: descriptor.fieldSelectors, kind: descriptor.kind)
        if let name { fields.requirements.append(.init(field: "metadata.name", value: name, negated: false)) }
        needles = Self.needles(labels: labels, fields: fields)
        if descriptor.kind == "Namespace" || descriptor.kind == "Tenant" { visibleNames = VisibleNamespaces.granted }
    }

    var isEverything: Bool { labels.isEmpty && fields.isEmpty && visibleNames == nil }

    /// String-valued fields whose equality requirement can be looked for in the stored bytes.
    static let stringFields = ["metadata.name", "metadata.namespace", "spec.nodeName", "status.phase"]

    /// Stored objects are written by `JSONWriter`: compact, `"key":"value"` with no spaces and one
    /// escaping of each string. So a label requirement that needs the key (=, in, exists, gt, lt)
    /// needs `"key":` in the bytes (with `=`, `"key":"value"`), and `spec.nodeName=X` needs
    /// `"nodeName":"X"`. Negations and empty values can match an object without the key.
    static func needles(labels: LabelSelector, fields: FieldSelector) -> [[UInt8]] {
        var needles: [[UInt8]] = []
        func quoted(_ text: String) -> [UInt8] {
            var out: [UInt8] = []
            JSONWriter.writeString(text, into: &out)
            return out
        }
        for requirement in labels.requirements {
            switch requirement.op {
            case .equals: needles.append(quoted(requirement.key) + [UInt8(ascii: ":")] + quoted(requirement.values.first ?? ""))
            case .in, .exists, .greaterThan, .lessThan: needles.append(quoted(requirement.key) + [UInt8(ascii: ":")])
            case .notEquals, .notIn, .doesNotExist: break
            }
        }
        for requirement in fields.requirements where !requirement.negated && !requirement.value.isEmpty && stringFields.contains(requirement.field) {
            let key = String(requirement.field.split(separator: ".").last ?? "")
            needles.append(quoted(key) + [UInt8(ascii: ":")] + quoted(requirement.value))
        }
        return needles
    }

    /// False when the stored bytes lack something every match needs: the object cannot match,
    /// and need not be parsed. True means "parse and check".
    func mayMatch(_ stored: [UInt8]) -> Bool {
        for needle in needles {
            if !ByteSearch.contains(stored, needle) { return false }
        }
        return true
    }

    /// False when the object's key names an object the user is not shown (checked before parsing:
    /// a tenant's owner among 10,000 namespaces sees ten of them).
    func mayMatch(key: String) -> Bool {
        guard let visibleNames else { return true }
        guard let slash = key.lastIndex(of: "/") else { return false }
        return visibleNames.contains(String(key[key.index(after: slash)...]))
    }

    func matches(_ object: JSONValue) -> Bool {
        if let visibleNames, !visibleNames.contains(object.value(at: ["metadata", "name"])?.stringValue ?? "") { return false }
        if !labels.isEmpty {
            let labelMap = (object.value(at: ["metadata", "labels"])?.objectValue ?? [:]).compactMapValues(\.stringValue)
            if !labels.matches(labelMap) { return false }
        }
        return fields.isEmpty || fields.matches(object)
    }
}

/// The opaque `continue` token: the last key served and the list's revision.
struct ContinueToken {
    var key: String
    var revision: Int64

    var encoded: String { Base64.encode(JSONWriter.bytes(["start": .string(key), "rv": .number(String(revision))])) }

    init(key: String, revision: Int64) {
        self.key = key
        self.revision = revision
    }

    init(_ text: String) throws(BerthError) {
        guard let bytes = Base64.decode(text), let value = try? JSONParser.parse(bytes),
              let key = value["start"]?.stringValue, let revision = value["rv"]?.intValue
        else { throw BerthError(.badRequest, "continue key is not valid: illegal base64 data") }
        self.key = key
        self.revision = Int64(revision)
    }
}

extension APIServer {
    func get(_ target: ResourceTarget, _ name: String, _ query: QueryParameters, _ representation: Representation) async throws(BerthError) -> Response {
        let object = try await readForRequest(target.descriptor, namespace: target.namespace, name: name, firstAttempt: true)
        switch representation {
        case .object: return Responses.json(object)
        case .table(let apiVersion):
            return Responses.json(TableBuilder.table(target.descriptor, [object], apiVersion: apiVersion, includeObject: query["includeObject"],
                                                     listMeta: [:], now: clock.now()))
        }
    }

    func list(_ target: ResourceTarget, _ query: QueryParameters, _ representation: Representation) async throws(BerthError) -> Response {
        let descriptor = target.descriptor
        let selection = try ListSelection(query, descriptor: descriptor)
        let limit = max(0, try query.integer("limit") ?? 0)
        var startAfter: String?
        // The revision every page of this list is read at: a continued list stays the snapshot
        // its first page saw, as Kubernetes serves it.
        var snapshot: Int64 = 0
        let requested = query["resourceVersion"] ?? ""
        if let text = query["continue"], !text.isEmpty {
            if !requested.isEmpty {
                throw BerthError.invalid(kind: "ListOptions", name: "", causes: [.invalid("resourceVersion", requested, "specifying resource version is not allowed when using continue")])
            }
            let token = try ContinueToken(text)
            startAfter = token.key
            snapshot = max(0, token.revision)
        } else if requested != "0", !requested.isEmpty {
            guard let revision = Int64(requested), revision > 0 else { throw BerthError(.badRequest, "invalid resourceVersion \"\(requested)\"") }
            // A revision the store has not reached yet is waited for, then refused with 504,
            // for Exact too: a snapshot "at" a future revision would be today's state.
            try await waitForRevision(revision)
            if query["resourceVersionMatch"] == "Exact" { snapshot = revision }
        }
        if let match = query["resourceVersionMatch"], !match.isEmpty {
            guard match == "Exact" || match == "NotOlderThan" else {
                throw BerthError.invalid(kind: "ListOptions", name: "", causes: [.notSupported("resourceVersionMatch", match, ["Exact", "NotOlderThan"])])
            }
            if requested.isEmpty || (match == "Exact" && requested == "0") {
                throw BerthError.invalid(kind: "ListOptions", name: "", causes: [.forbidden("resourceVersionMatch", "resourceVersionMatch is forbidden unless resourceVersion is provided")])
            }
        }
        var kept: [KeyValue] = []
        var parsed: [JSONValue] = []
        var revision: Int64 = snapshot
        var more = false
        var lastKey: String?
        let needsParsing = !selection.isEverything || representation != .object
        // A user shown a few namespaces (or tenants) among thousands: read just those, in one
        // read transaction (one snapshot), instead of scanning every one.
        if let visible = selection.visibleNames, startAfter == nil, snapshot == 0, visible.count <= 1000, limit == 0 || visible.count <= limit {
            let keys = visible.sorted().map { storage.key(descriptor, namespace: nil, name: $0) }
            let read = try await storage.kv.txn(if: [], then: keys.map { .get(key: $0) }, else: [])
            revision = read.revision
            for case .get(let found?) in read.results where selection.mayMatch(found.value) {
                let object = try ObjectCodec.decode(found)
                guard selection.matches(object) else { continue }
                parsed.append(object)
                kept.append(found)
            }
        } else {
            // Fill the page even when selectors drop items, as a client expects `limit` items per page.
            repeat {
                let pageSize = limit > 0 ? max(limit - kept.count, selection.isEverything ? 0 : 500) : 0
                let page: RangeResult
                do throws(BerthError) {
                    page = try await storage.list(descriptor, namespace: target.namespace, limit: pageSize, continueAfter: lastKey ?? startAfter, revision: revision)
                } catch {
                    guard error.code == .gone, startAfter != nil, revision == snapshot else { throw error }
                    throw BerthError(.gone, "The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter.")
                }
                if revision == 0 { revision = page.revision }
                more = page.more
                for kv in page.kvs {
                    lastKey = kv.key
                    if needsParsing {
                        guard selection.mayMatch(key: kv.key), selection.mayMatch(kv.value) else { continue }
                        let object = try ObjectCodec.decode(kv)
                        guard selection.matches(object) else { continue }
                        parsed.append(object)
                    }
                    kept.append(kv)
                    if limit > 0, kept.count == limit {
                        more = more || kv.key != page.kvs.last?.key
                        break
                    }
                }
            } while more && limit > 0 && kept.count < limit
        }
        let token = more && limit > 0 ? ContinueToken(key: lastKey ?? "", revision: revision).encoded : nil
        var listMeta: JSONValue = ["resourceVersion": .string(String(revision))]
        if let token { listMeta["continue"] = .string(token) }
        switch representation {
        case .table(let apiVersion):
            return Responses.json(TableBuilder.table(descriptor, parsed, apiVersion: apiVersion, includeObject: query["includeObject"], listMeta: listMeta, now: clock.now()))
        case .object:
            let bytes = listBytes(descriptor, kept, listMeta: listMeta)
            if bytes.count >= HeapTrimmer.largeResponseBytes { HeapTrimmer.shared.trimSoon() }
            return Responses.bytes(bytes)
        }
    }

    /// Writes a list without re-serializing items: stored bytes with the revision spliced in.
    func listBytes(_ descriptor: ResourceDescriptor, _ items: [KeyValue], listMeta: JSONValue) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(items.reduce(128) { $0 + $1.value.count + 32 })
        out.append(contentsOf: "{\"apiVersion\":\"\(descriptor.apiVersion)\",\"kind\":\"\(descriptor.kind)List\",\"metadata\":".utf8)
        JSONWriter.write(listMeta, into: &out)
        out.append(contentsOf: ",\"items\":[".utf8)
        for (index, kv) in items.enumerated() {
            if index > 0 { out.append(UInt8(ascii: ",")) }
            ObjectCodec.splice(kv.value, revision: kv.modRevision, into: &out)
        }
        out.append(contentsOf: "]}".utf8)
        return out
    }

    /// "Not older than" semantics: a revision the store has not reached yet is waited for briefly.
    func waitForRevision(_ revision: Int64) async throws(BerthError) {
        for _ in 0..<30 {
            if try await storage.kv.currentRevision() >= revision { return }
            try? await Task.sleep(for: .milliseconds(100))
        }
        throw BerthError(.timeout, "Too large resource version: \(revision), current: \(try await storage.kv.currentRevision())")
    }
}

/// Builds `meta.k8s.io/v1` Table responses.
enum TableBuilder {
    static func columnDefinitions(_ descriptor: ResourceDescriptor) -> JSONValue {
        .array(descriptor.columns.map { column in
            ["name": .string(column.name), "type": .string(column.type), "format": .string(column.format),
             "description": .string(column.description), "priority": .number(String(column.priority))]
        })
    }

    static func rowObject(_ object: JSONValue, includeObject: String?) -> JSONValue? {
        switch includeObject ?? "Metadata" {
        case "None": return nil
        case "Object": return object
        default:
            return ["kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": object["metadata"] ?? [:]]
        }
    }

    static func table(_ descriptor: ResourceDescriptor, _ objects: [JSONValue], apiVersion: String, includeObject: String?,
                      listMeta: JSONValue, now: Date, withColumns: Bool = true) -> JSONValue {
        let rows: [JSONValue] = objects.map { object in
            var row: JSONValue = ["cells": .array(descriptor.row(object, now))]
            if let included = rowObject(object, includeObject: includeObject) { row["object"] = included }
            return row
        }
        return ["kind": "Table", "apiVersion": .string(apiVersion), "metadata": listMeta,
                "columnDefinitions": withColumns ? columnDefinitions(descriptor) : .array([]), "rows": .array(rows)]
    }
}
