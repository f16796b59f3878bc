/// RFC 6902 JSON patch (`application/json-patch+json`) over RFC 6901 pointers.
public enum JSONPatch {
    public static let maximumOperations = 10_000

    public static func apply(_ patch: JSONValue, to target: JSONValue) throws(BerthError) -> JSONValue {
        guard case .array(let operations) = patch else {
            throw BerthError(.badRequest, "failed to decode json patch: expected an array of operations")
        }
        // Kubernetes' limit: a patch of more operations is refused before any is applied.
        guard operations.count <= maximumOperations else {
            throw BerthError(.requestEntityTooLarge, "The allowed operations in a JSON patch are limited to \(maximumOperations), got \(operations.count)")
        }
        var document = target
        for (index, operation) in operations.enumerated() {
            guard let op = operation["op"]?.stringValue else { throw BerthError(.badRequest, "failed to decode json patch: operation \(index) has no \"op\"") }
            guard let path = operation["path"]?.stringValue else { throw BerthError(.badRequest, "failed to decode json patch: operation \(index) has no \"path\"") }
            let pointer = try parsePointer(path)
            switch op {
            case "add":
                guard let value = operation["value"] else { throw BerthError(.badRequest, "failed to decode json patch: add operation \(index) has no \"value\"") }
                try add(value, at: pointer[...], in: &document, pointer: pointer)
            case "remove":
                guard !pointer.isEmpty else { throw BerthError(.invalid, "the server rejected our request due to an error in our request: cannot remove the whole document") }
                _ = try remove(at: pointer[...], in: &document, pointer: pointer)
            case "replace":
                guard let value = operation["value"] else { throw BerthError(.badRequest, "failed to decode json patch: replace operation \(index) has no \"value\"") }
                if pointer.isEmpty {
                    document = value
                } else {
                    _ = try remove(at: pointer[...], in: &document, pointer: pointer)
                    try add(value, at: pointer[...], in: &document, pointer: pointer)
                }
            case "move":
                guard let from = operation["from"]?.stringValue else { throw BerthError(.badRequest, "failed to decode json patch: move operation \(index) has no \"from\"") }
                let source = try parsePointer(from)
                guard !source.isEmpty else { throw BerthError(.invalid, "the server rejected our request due to an error in our request: cannot move the whole document") }
                let value = try remove(at: source[...], in: &document, pointer: source)
                try add(value, at: pointer[...], in: &document, pointer: pointer)
            case "copy":
                guard let from = operation["from"]?.stringValue else { throw BerthError(.badRequest, "failed to decode json patch: copy operation \(index) has no \"from\"") }
                try add(try get(try parsePointer(from), in: document), at: pointer[...], in: &document, pointer: pointer)
            case "test":
                let actual = try get(pointer, in: document)
                if actual != operation["value"] ?? .null {
                    throw BerthError(.invalid, "the server rejected our request due to an error in our request: testing value \(path) failed")
                }
            default:
                throw BerthError(.badRequest, "failed to decode json patch: unexpected operation \"\(op)\"")
            }
        }
        return document
    }

    static func parsePointer(_ text: String) throws(BerthError) -> [String] {
        if text.isEmpty { return [] }
        guard text.hasPrefix("/") else { throw BerthError(.badRequest, "failed to decode json patch: path \"\(text)\" must start with '/'") }
        return text.dropFirst().split(separator: "/", omittingEmptySubsequences: false).map {
            $0.contains("~") ? $0.replacingOccurrences(of: "~1", with: "/").replacingOccurrences(of: "~0", with: "~") : String($0)
        }
    }

    static func missing(_ pointer: [String]) -> BerthError {
        BerthError(.invalid, "the server rejected our request due to an error in our request: path /\(pointer.joined(separator: "/")) does not exist")
    }

    static func get(_ pointer: [String], in document: JSONValue) throws(BerthError) -> JSONValue {
        var current = document
        for token in pointer {
            switch current {
            case .object(let fields):
                guard let next = fields[token] else { throw missing(pointer) }
                current = next
            case .array(let items):
                guard let index = Int(token), items.indices.contains(index) else { throw missing(pointer) }
                current = items[index]
            default:
                throw missing(pointer)
            }
        }
        return current
    }

    /// Each operation changes the document in place: taking a level's array or dictionary out
    /// of its enum case (and leaving `.null` there meanwhile) leaves it uniquely referenced, so
    /// an insert costs its own work, not a copy of every level above it. Copied per operation,
    /// 20,000 adds to one list took 4-10 s of CPU.
    static func add(_ value: JSONValue, at pointer: [String], in document: JSONValue) throws(BerthError) -> JSONValue {
        var document = document
        try add(value, at: pointer[...], in: &document, pointer: pointer)
        return document
    }

    static func add(_ value: JSONValue, at path: ArraySlice<String>, in document: inout JSONValue, pointer: [String]) throws(BerthError) {
        guard let token = path.first else {
            document = value
            return
        }
        let rest = path.dropFirst()
        switch document {
        case .object(var fields):
            document = .null
            defer { document = .object(fields) }
            if rest.isEmpty {
                fields[token] = value
            } else {
                guard var child = fields.removeValue(forKey: token) else { throw missing(pointer) }
                defer { fields[token] = child }
                try add(value, at: rest, in: &child, pointer: pointer)
            }
        case .array(var items):
            document = .null
            defer { document = .array(items) }
            if rest.isEmpty {
                if token == "-" {
                    items.append(value)
                } else {
                    guard let index = Int(token), index >= 0, index <= items.count else { throw missing(pointer) }
                    items.insert(value, at: index)
                }
            } else {
                guard let index = Int(token), items.indices.contains(index) else { throw missing(pointer) }
                var child = items[index]
                items[index] = .null
                defer { items[index] = child }
                try add(value, at: rest, in: &child, pointer: pointer)
            }
        default:
            throw missing(pointer)
        }
    }

    static func remove(at pointer: [String], in document: JSONValue) throws(BerthError) -> (document: JSONValue, value: JSONValue) {
        guard !pointer.isEmpty else { throw BerthError(.invalid, "the server rejected our request due to an error in our request: cannot remove the whole document") }
        var document = document
        let value = try remove(at: pointer[...], in: &document, pointer: pointer)
        return (document, value)
    }

    /// Removes what `path` names from `document` in place and returns it.
    static func remove(at path: ArraySlice<String>, in document: inout JSONValue, pointer: [String]) throws(BerthError) -> JSONValue {
        guard let token = path.first else { throw missing(pointer) }
        let rest = path.dropFirst()
        switch document {
        case .object(var fields):
            document = .null
            defer { document = .object(fields) }
            if rest.isEmpty {
                guard let child = fields.removeValue(forKey: token) else { throw missing(pointer) }
                return child
            }
            guard var child = fields.removeValue(forKey: token) else { throw missing(pointer) }
            defer { fields[token] = child }
            return try remove(at: rest, in: &child, pointer: pointer)
        case .array(var items):
            document = .null
            defer { document = .array(items) }
            guard let index = Int(token), items.indices.contains(index) else { throw missing(pointer) }
            if rest.isEmpty { return items.remove(at: index) }
            var child = items[index]
            items[index] = .null
            defer { items[index] = child }
            return try remove(at: rest, in: &child, pointer: pointer)
        default:
            throw missing(pointer)
        }
    }
}

import Foundation
