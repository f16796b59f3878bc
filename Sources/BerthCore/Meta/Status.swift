/// `meta.k8s.io/v1` Status, the body of every error response.
public struct Status: Codable, Sendable, Hashable {
    public var apiVersion: String = "v1"
    public var kind: String = "Status"
    public var metadata: ListMeta = ListMeta()
    public var status: String?
    public var message: String?
    public var reason: String?
    public var details: StatusDetails?
    public var code: Int?

    public init(status: String? = nil, message: String? = nil, reason: String? = nil, details: StatusDetails? = nil, code: Int? = nil) {
        self.status = status
        self.message = message
        self.reason = reason
        self.details = details
        self.code = code
    }

    public init(error: BerthError) {
        var details = error.details
        if !error.causes.isEmpty {
            if details == nil { details = StatusDetails() }
            details?.causes = error.causes
        }
        self.init(status: "Failure", message: error.message, reason: error.code.rawValue, details: details, code: error.code.httpStatus)
    }

    public static func success(details: StatusDetails? = nil) -> Status {
        Status(status: "Success", details: details, code: nil)
    }
}

public struct StatusDetails: Codable, Sendable, Hashable {
    public var name: String?
    public var group: String?
    public var kind: String?
    public var uid: String?
    public var causes: [StatusCause]?
    public var retryAfterSeconds: Int?

    public init(name: String? = nil, group: String? = nil, kind: String? = nil, uid: String? = nil, causes: [StatusCause]? = nil) {
        self.name = name
        self.group = group
        self.kind = kind
        self.uid = uid
        self.causes = causes
    }
}

public struct StatusCause: Codable, Sendable, Hashable {
    public var reason: String?
    public var message: String?
    public var field: String?

    public init(reason: String? = nil, message: String? = nil, field: String? = nil) {
        self.reason = reason
        self.message = message
        self.field = field
    }

    public static func required(_ field: String) -> StatusCause {
        StatusCause(reason: "FieldValueRequired", message: "Required value", field: field)
    }

    public static func invalid(_ field: String, _ value: String, _ detail: String) -> StatusCause {
        StatusCause(reason: "FieldValueInvalid", message: "Invalid value: \"\(value)\": \(detail)", field: field)
    }

    public static func forbidden(_ field: String, _ detail: String) -> StatusCause {
        StatusCause(reason: "FieldValueForbidden", message: "Forbidden: \(detail)", field: field)
    }

    public static func notSupported(_ field: String, _ value: String, _ supported: [String]) -> StatusCause {
        let list = supported.map { "\"\($0)\"" }.joined(separator: ", ")
        return StatusCause(reason: "FieldValueNotSupported", message: "Unsupported value: \"\(value)\": supported values: \(list)", field: field)
    }

    public static func unknownField(_ field: String) -> StatusCause {
        StatusCause(reason: "FieldValueInvalid", message: "unknown field \"\(field)\"", field: field)
    }

    public static func immutable(_ field: String) -> StatusCause {
        StatusCause(reason: "FieldValueInvalid", message: "Invalid value: field is immutable", field: field)
    }
}
