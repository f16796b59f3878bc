/// A field selector: `metadata.name=web,status.phase!=Running`. Only `=`, `==` and `!=`,
/// as in Kubernetes; which fields are allowed depends on the kind.
public struct FieldSelector: Sendable, Hashable {
    public struct Requirement: Sendable, Hashable {
        public var field: String
        public var value: String
        public var negated: Bool

        public init(field: String, value: String, negated: Bool) {
            self.field = field
            self.value = value
            self.negated = negated
        }
    }

    public var requirements: [Requirement]

    public init(requirements: [Requirement] = []) { self.requirements = requirements }

    public var isEmpty: Bool { requirements.isEmpty }

    public init(parsing text: String) throws(BerthError) {
        var requirements: [Requirement] = []
        for term in Self.splitTerms(text) where !term.isEmpty {
            if let range = term.range(of: "!=") {
                requirements.append(.init(field: String(term[..<range.lowerBound]), value: Self.unescape(term[range.upperBound...]), negated: true))
            } else if let range = term.range(of: "==") {
                requirements.append(.init(field: String(term[..<range.lowerBound]), value: Self.unescape(term[range.upperBound...]), negated: false))
            } else if let range = term.range(of: "=") {
                requirements.append(.init(field: String(term[..<range.lowerBound]), value: Self.unescape(term[range.upperBound...]), negated: false))
            } else {
                throw BerthError(.badRequest, "invalid selector: '\(text)'; can't understand '\(term)'")
            }
        }
        self.init(requirements: requirements)
    }

    /// Splits on commas not escaped with a backslash.
    static func splitTerms(_ text: String) -> [String] {
        var terms: [String] = []
        var current = ""
        var escaped = false
        for character in text {
            if escaped {
                current.append("\\")
                current.append(character)
                escaped = false
            } else if character == "\\" {
                escaped = true
            } else if character == "," {
                terms.append(current)
                current = ""
            } else {
                current.append(character)
            }
        }
        terms.append(current)
        return terms.map { $0.trimmingCharacters(in: " ") }
    }

    static func unescape(_ text: Substring) -> String {
        var out = ""
        var escaped = false
        for character in text {
            if escaped { out.append(character); escaped = false } else if character == "\\" { escaped = true } else { out.append(character) }
        }
        return out
    }

    /// Checks the fields against those the kind supports.
    public func validate(supported: Set<String>, kind: String) throws(BerthError) {
        for requirement in requirements where !supported.contains(requirement.field) {
            throw BerthError(.badRequest, "field label not supported: \(requirement.field)")
        }
    }

    public func matches(_ object: JSONValue) -> Bool {
        requirements.allSatisfy { requirement in
            let path = requirement.field.split(separator: ".").map(String.init)
            let actual: String
            switch object.value(at: path) {
            case .string(let text): actual = text
            case .bool(let flag): actual = flag ? "true" : "false"
            case .number(let text): actual = text
            default: actual = ""
            }
            return (actual == requirement.value) != requirement.negated
        }
    }
}

extension String {
    func trimmingCharacters(in set: Character) -> String {
        var text = Substring(self)
        while text.first == set { text = text.dropFirst() }
        while text.last == set { text = text.dropLast() }
        return String(text)
    }
}
