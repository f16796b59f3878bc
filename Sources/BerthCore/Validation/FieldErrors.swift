/// Collects one `StatusCause` per offending field while a validator walks an object.
public struct FieldErrors: Sendable {
    public var causes: [StatusCause] = []

    public init() {}

    public var isEmpty: Bool { causes.isEmpty }

    public mutating func required(_ field: String) { causes.append(.required(field)) }
    public mutating func invalid(_ field: String, _ value: String, _ detail: String) { causes.append(.invalid(field, value, detail)) }
    public mutating func forbidden(_ field: String, _ detail: String) { causes.append(.forbidden(field, detail)) }
    public mutating func notSupported(_ field: String, _ value: String, _ supported: [String]) {
        causes.append(.notSupported(field, value, supported))
    }
    public mutating func duplicate(_ field: String, _ value: String) {
        causes.append(StatusCause(reason: "FieldValueDuplicate", message: "Duplicate value: \"\(value)\"", field: field))
    }
    public mutating func immutable(_ field: String) { causes.append(.immutable(field)) }
    /// Kubernetes' `TooMany`: "Too many: 101: must have at most 100 items".
    public mutating func tooMany(_ field: String, _ count: Int, _ limit: Int) {
        causes.append(StatusCause(reason: "FieldValueTooMany", message: "Too many: \(count): must have at most \(limit) items", field: field))
    }
    public mutating func append(contentsOf other: FieldErrors) { causes.append(contentsOf: other.causes) }

    mutating func check(_ field: String, _ value: String, _ problem: String?) {
        if let problem { invalid(field, value, problem) }
    }
}
