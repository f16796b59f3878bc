import BerthCore
import Foundation
import Yams

/// YAML ⇄ `JSONValue`: manifests in, `-o yaml` out.
public enum YAMLConversion {
    /// Parses a multi-document YAML (or JSON) stream; empty documents are skipped.
    public static func parseDocuments(_ text: String) throws(BerthError) -> [JSONValue] {
        do {
            var documents: [JSONValue] = []
            // The basic resolver tags every untagged scalar a string; `YAMLPlainScalar` then
            // reads the plain ones without Yams' regular expressions (ICU on Linux).
            var nodes = try Yams.compose_all(yaml: text, .basic)
            // Yams resolves an alias to the anchored node itself, so composing is cheap; it is
            // the conversion that copies the node once per reference. A 324-byte document whose
            // anchors nest nine deep names 9^9 nodes. Without aliases a node takes at least a
            // byte of input, so a budget of the input's size plus a margin for small anchored
            // snippets admits every honest manifest and refuses a bomb after a bounded amount
            // of work (go-yaml refuses "excessive aliasing" the same way).
            var budget = NodeBudget(remaining: text.utf8.count + NodeBudget.aliasAllowance)
            while let node = nodes.next() {
                let value = try convert(node, budget: &budget)
                if !value.isNull { documents.append(value) }
            }
            // The sequence ends at a syntax error and keeps it here instead of throwing.
            if let error = nodes.error { throw error }
            return documents
        } catch let error as BerthError {
            throw error
        } catch {
            throw BerthError(.badRequest, "failed to parse yaml: \(error)")
        }
    }

    /// How many nodes the conversion may still produce.
    struct NodeBudget {
        /// Nodes beyond the input's size that anchors and aliases may add.
        static let aliasAllowance = 100_000
        var remaining: Int

        mutating func spend() throws(BerthError) {
            remaining -= 1
            if remaining < 0 {
                throw BerthError(.badRequest, "failed to parse yaml: the document expands to too many nodes (excessive aliasing)")
            }
        }
    }

    static func convert(_ node: Yams.Node, budget: inout NodeBudget) throws -> JSONValue {
        try budget.spend()
        switch node {
        case .scalar(let scalar):
            switch node.tag.description {
            case Tag.Name.str.rawValue:
                return scalar.style == .plain ? YAMLPlainScalar.resolve(scalar.string) : .string(scalar.string)
            // Explicit tags (`!!int "7"`) apply to quoted scalars too.
            case Tag.Name.null.rawValue: return .null
            case Tag.Name.bool.rawValue, Tag.Name.int.rawValue, Tag.Name.float.rawValue:
                let value = YAMLPlainScalar.resolve(scalar.string)
                switch (node.tag.description, value) {
                case (Tag.Name.bool.rawValue, .bool), (Tag.Name.int.rawValue, .number), (Tag.Name.float.rawValue, .number): return value
                default: return .string(scalar.string)
                }
            default: return .string(scalar.string)
            }
        case .mapping(let mapping):
            var fields: [String: JSONValue] = [:]
            for (key, value) in mapping {
                guard let name = key.string else { throw BerthError(.badRequest, "failed to parse yaml: mapping keys must be strings") }
                fields[name] = try convert(value, budget: &budget)
            }
            return .object(fields)
        case .sequence(let sequence):
            var items: [JSONValue] = []
            items.reserveCapacity(sequence.count)
            for item in sequence { items.append(try convert(item, budget: &budget)) }
            return .array(items)
        case .alias:
            throw BerthError(.badRequest, "failed to parse yaml: aliases are not supported")
        }
    }

    /// Block-style YAML with `apiVersion`, `kind`, `metadata` first, as kubectl prints.
    public static func emit(_ value: JSONValue) -> String {
        var out = ""
        emit(value, indent: 0, into: &out, inSequence: false)
        return out
    }

    static func emit(_ value: JSONValue, indent: Int, into out: inout String, inSequence: Bool) {
        let pad = String(repeating: "  ", count: indent)
        switch value {
        case .object(let fields):
            if fields.isEmpty { out += "{}\n"; return }
            var first = true
            for key in JSONWriter.orderedKeys(fields) {
                let child = fields[key]!
                let prefix = first && inSequence ? "" : pad
                first = false
                out += prefix + scalarText(key) + ":"
                switch child {
                case .object(let nested) where !nested.isEmpty:
                    out += "\n"
                    emit(child, indent: indent + 1, into: &out, inSequence: false)
                case .array(let items) where !items.isEmpty:
                    out += "\n"
                    emit(child, indent: indent, into: &out, inSequence: false)
                default:
                    out += " "
                    emit(child, indent: indent + 1, into: &out, inSequence: false)
                }
            }
        case .array(let items):
            if items.isEmpty { out += "[]\n"; return }
            for item in items {
                out += pad + "- "
                switch item {
                case .object(let nested) where !nested.isEmpty:
                    emit(item, indent: indent + 1, into: &out, inSequence: true)
                case .array(let nested) where !nested.isEmpty:
                    out += "\n"
                    emit(item, indent: indent + 1, into: &out, inSequence: false)
                default:
                    emit(item, indent: indent + 1, into: &out, inSequence: false)
                }
            }
        case .string(let text):
            if text.contains("\n") {
                out += "|" + (text.hasSuffix("\n") ? "" : "-") + "\n"
                for line in text.split(separator: "\n", omittingEmptySubsequences: false).dropLast(text.hasSuffix("\n") ? 1 : 0) {
                    out += pad + line + "\n"
                }
            } else {
                out += scalarText(text) + "\n"
            }
        case .number(let text): out += text + "\n"
        case .bool(let flag): out += (flag ? "true" : "false") + "\n"
        case .null: out += "null\n"
        }
    }

    /// A string as a YAML scalar: plain when unambiguous, JSON-quoted otherwise.
    static func scalarText(_ text: String) -> String {
        let reserved: Set<String> = ["", "~", "null", "Null", "NULL", "true", "True", "TRUE", "false", "False", "FALSE", "yes", "Yes", "no", "No", "on", "On", "off", "Off", "y", "n", "Y", "N"]
        let looksNumeric = Double(text) != nil || Int(text) != nil || text.hasPrefix("0x") || text.hasPrefix("0o") || text == ".inf" || text == ".nan"
        let specialStart = text.first.map { "-?:,[]{}#&*!|>'\"%@` ".contains($0) } ?? true
        let plain = !reserved.contains(text) && !looksNumeric && !specialStart && !text.contains(": ") && !text.contains(" #")
            && !text.hasSuffix(":") && !text.hasSuffix(" ") && text.unicodeScalars.allSatisfy { $0.value >= 0x20 && $0.value != 0x7F }
        return plain ? text : JSONWriter.string(.string(text))
    }
}
