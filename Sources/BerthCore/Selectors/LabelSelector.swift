/// A parsed label selector (the query-string form: `app=web,tier!=db,env in (a,b),!canary`).
public struct LabelSelector: Sendable, Hashable, CustomStringConvertible {
    public enum Operator: String, Sendable, Hashable {
        case equals = "="
        case notEquals = "!="
        case `in` = "in"
        case notIn = "notin"
        case exists
        case doesNotExist = "!"
        case greaterThan = "gt"
        case lessThan = "lt"
    }

    public struct Requirement: Sendable, Hashable {
        public var key: String
        public var op: Operator
        public var values: [String]

        public func matches(_ labels: [String: String]) -> Bool {
            let value = labels[key]
            switch op {
            case .equals: return value == values.first
            case .notEquals: return value != values.first
            case .in: return value.map(values.contains) ?? false
            case .notIn: return value.map { !values.contains($0) } ?? true
            case .exists: return value != nil
            case .doesNotExist: return value == nil
            case .greaterThan:
                guard let value, let left = Int64(value), let right = values.first.flatMap(Int64.init) else { return false }
                return left > right
            case .lessThan:
                guard let value, let left = Int64(value), let right = values.first.flatMap(Int64.init) else { return false }
                return left < right
            }
        }

        var text: String {
            switch op {
            case .equals, .notEquals: return "\(key)\(op.rawValue)\(values.first ?? "")"
            case .in, .notIn: return "\(key) \(op.rawValue) (\(values.joined(separator: ",")))"
            case .exists: return key
            case .doesNotExist: return "!\(key)"
            case .greaterThan: return "\(key)>\(values.first ?? "")"
            case .lessThan: return "\(key)<\(values.first ?? "")"
            }
        }
    }

    public var requirements: [Requirement]

    public init(requirements: [Requirement] = []) { self.requirements = requirements }

    /// Selects everything.
    public static let everything = LabelSelector()

    public var isEmpty: Bool { requirements.isEmpty }

    public func matches(_ labels: [String: String]?) -> Bool {
        let labels = labels ?? [:]
        return requirements.allSatisfy { $0.matches(labels) }
    }

    public var description: String { requirements.map(\.text).joined(separator: ",") }

    /// Converts a spec-form selector. An empty spec selects everything, as Kubernetes does.
    public init(_ spec: LabelSelectorSpec) throws(BerthError) {
        var requirements: [Requirement] = []
        for (key, value) in (spec.matchLabels ?? [:]).sorted(by: { $0.key < $1.key }) {
            requirements.append(Requirement(key: key, op: .equals, values: [value]))
        }
        for expression in spec.matchExpressions ?? [] {
            let op: Operator
            switch expression.operator {
            case "In": op = .in
            case "NotIn": op = .notIn
            case "Exists": op = .exists
            case "DoesNotExist": op = .doesNotExist
            default: throw BerthError(.badRequest, "failed to parse label selector: \"\(expression.operator)\" is not a valid label selector operator")
            }
            requirements.append(Requirement(key: expression.key, op: op, values: (expression.values ?? []).sorted()))
        }
        self.init(requirements: requirements)
    }

    public init(parsing text: String) throws(BerthError) {
        var parser = LabelSelectorParser(text: text)
        self.init(requirements: try parser.parse())
    }
}

/// Hand-written parser for the label selector grammar of `k8s.io/apimachinery/pkg/labels`.
struct LabelSelectorParser {
    let characters: [Character]
    var index = 0

    init(text: String) { characters = Array(text) }

    func failure(_ reason: String) -> BerthError {
        BerthError(.badRequest, "unable to parse requirement: \(reason)")
    }

    mutating func skipSpaces() {
        while index < characters.count, characters[index] == " " { index += 1 }
    }

    mutating func word() -> String {
        skipSpaces()
        let start = index
        while index < characters.count {
            let character = characters[index]
            if character.isLetter || character.isNumber || "-_./".contains(character) { index += 1 } else { break }
        }
        return String(characters[start..<index])
    }

    mutating func parse() throws(BerthError) -> [LabelSelector.Requirement] {
        var requirements: [LabelSelector.Requirement] = []
        skipSpaces()
        if index == characters.count { return [] }
        while true {
            requirements.append(try requirement())
            skipSpaces()
            if index == characters.count { return requirements }
            guard characters[index] == "," else { throw failure("found '\(characters[index])', expected: ',' or end of string") }
            index += 1
        }
    }

    mutating func requirement() throws(BerthError) -> LabelSelector.Requirement {
        skipSpaces()
        if index < characters.count, characters[index] == "!" {
            index += 1
            let key = word()
            try validateKey(key)
            return .init(key: key, op: .doesNotExist, values: [])
        }
        let key = word()
        try validateKey(key)
        skipSpaces()
        if index == characters.count || characters[index] == "," {
            return .init(key: key, op: .exists, values: [])
        }
        let op: LabelSelector.Operator
        if characters[index] == "=" {
            index += 1
            if index < characters.count, characters[index] == "=" { index += 1 }
            op = .equals
        } else if characters[index] == "!", index + 1 < characters.count, characters[index + 1] == "=" {
            index += 2
            op = .notEquals
        } else if characters[index] == ">" {
            index += 1
            op = .greaterThan
        } else if characters[index] == "<" {
            index += 1
            op = .lessThan
        } else {
            let keyword = word()
            switch keyword {
            case "in": op = .in
            case "notin": op = .notIn
            default: throw failure("found '\(keyword)', expected: in, notin, =, ==, !=, gt, lt")
            }
            skipSpaces()
            guard index < characters.count, characters[index] == "(" else { throw failure("found '\(index < characters.count ? String(characters[index]) : "")', expected: '('") }
            index += 1
            var values: [String] = []
            while true {
                let value = word()
                try validateValue(value)
                values.append(value)
                skipSpaces()
                guard index < characters.count else { throw failure("found '', expected: ')'") }
                if characters[index] == "," { index += 1; continue }
                if characters[index] == ")" { index += 1; break }
                throw failure("found '\(characters[index])', expected: ',' or ')'")
            }
            return .init(key: key, op: op, values: values.sorted())
        }
        let value = word()
        try validateValue(value)
        if op == .greaterThan || op == .lessThan, Int64(value) == nil {
            throw failure("for 'Gt', 'Lt' operators, the value must be an integer")
        }
        return .init(key: key, op: op, values: [value])
    }

    func validateKey(_ key: String) throws(BerthError) {
        if let problem = NameValidation.qualifiedNameProblem(key) {
            throw BerthError(.badRequest, "unable to parse requirement: invalid label key \"\(key)\": \(problem)")
        }
    }

    func validateValue(_ value: String) throws(BerthError) {
        if let problem = NameValidation.labelValueProblem(value) {
            throw BerthError(.badRequest, "unable to parse requirement: invalid label value: \"\(value)\": \(problem)")
        }
    }
}
