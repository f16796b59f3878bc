/// RFC 6902 JSON patch (`application/json-patch+json`) over RFC 6901 pointers.
public enum JSONPatch {
    public static func apply(_ patch: JSONValue, to target: JSONValue) throws(BerthError) -> JSONValue {
        guard case .array(let operations) = patch else {
            throw BerthError(.badRequest, "failed to decode json patch: expected an array of operations")
        }
        var document = target
        for (index, operation) in operations.enumerated() {
            guard let op = operation["op"]?.stringValue else { throw BerthError(.badRequest, "failed to decode json patch: operation \(index) has no \"op\"") }
            guard let path = operation["path"]?.stringValue else { throw BerthError(.badRequest, "failed to decode json patch: operation \(index) has no \"path\"") }
            let pointer = try parsePointer(path)
            switch op {
            case "add":
                guard let value = operation["value"] else { throw BerthError(.badRequest, "failed to decode json patch: add operation \(index) has no \"value\"") }
                document = try add(value, at: pointer, in: document)
            case "remove":
                document = try remove(at: pointer, in: document).document
            case "replace":
                guard let value = operation["value"] else { throw BerthError(.badRequest, "failed to decode json patch: replace operation \(index) has no \"value\"") }
                document = try remove(at: pointer, in: document).document
                document = try add(value, at: pointer, in: document)
            case "move":
                guard let from = operation["from"]?.stringValue else { throw BerthError(.badRequest, "failed to decode json patch: move operation \(index) has no \"from\"") }
                let removed = try remove(at: try parsePointer(from), in: document)
                document = try add(removed.value, at: pointer, in: removed.document)
            case "copy":
                guard let from = operation["from"]?.stringValue else { throw BerthError(.badRequest, "failed to decode json patch: copy operation \(index) has no \"from\"") }
                document = try add(try get(try parsePointer(from), in: document), at: pointer, in: document)
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
            $0.replacingOccurrences(of: "~1", with: "/").replacingOccurrences(of: "~0", with: "~")
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

    static func add(_ value: JSONValue, at pointer: [String], in document: JSONValue) throws(BerthError) -> JSONValue {
        guard let token = pointer.first else { return value }
        let rest = Array(pointer.dropFirst())
        switch document {
        case .object(var fields):
            if rest.isEmpty {
                fields[token] = value
            } else {
                guard let child = fields[token] else { throw missing(pointer) }
                fields[token] = try add(value, at: rest, in: child)
            }
            return .object(fields)
        case .array(var items):
            if rest.isEmpty {
                if token == "-" {
                    items.append(value)
                } else {
                    guard let index = Int(token), index >= 0, index <= items.count else { throw missing(pointer) }
                    items.insert(value, at: index)
                }
            } else {
                guard let index = Int(token), items.indices.contains(index) else { throw missing(pointer) }
                items[index] = try add(value, at: rest, in: items[index])
            }
            return .array(items)
        default:
            throw missing(pointer)
        }
    }

    static func remove(at pointer: [String], in document: JSONValue) throws(BerthError) -> (document: JSONValue, value: JSONValue) {
        guard let token = pointer.first else { throw BerthError(.invalid, "the server rejected our request due to an error in our request: cannot remove the whole document") }
        let rest = Array(pointer.dropFirst())
        switch document {
        case .object(var fields):
            guard let child = fields[token] else { throw missing(pointer) }
            if rest.isEmpty {
                fields.removeValue(forKey: token)
                return (.object(fields), child)
            }
            let removed = try remove(at: rest, in: child)
            fields[token] = removed.document
            return (.object(fields), removed.value)
        case .array(var items):
            guard let index = Int(token), items.indices.contains(index) else { throw missing(pointer) }
            if rest.isEmpty {
                let value = items.remove(at: index)
                return (.array(items), value)
            }
            let removed = try remove(at: rest, in: items[index])
            items[index] = removed.document
            return (.array(items), removed.value)
        default:
            throw missing(pointer)
        }
    }
}

import Foundation
