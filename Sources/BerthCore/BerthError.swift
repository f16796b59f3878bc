/// The one error type of Berth. Its code maps to a Kubernetes `Status` reason and HTTP code;
/// `causes` carry one entry per offending field for 422 Invalid.
public struct BerthError: Error, Sendable, CustomStringConvertible {
    public enum Code: String, Sendable, Codable {
        case badRequest = "BadRequest"
        case unauthorized = "Unauthorized"
        case forbidden = "Forbidden"
        case notFound = "NotFound"
        case methodNotAllowed = "MethodNotAllowed"
        case notAcceptable = "NotAcceptable"
        case alreadyExists = "AlreadyExists"
        case conflict = "Conflict"
        case gone = "Expired"
        case requestEntityTooLarge = "RequestEntityTooLarge"
        case unsupportedMediaType = "UnsupportedMediaType"
        /// A range (a blob's `Range`, an upload's `Content-Range`) that does not fit.
        case requestedRangeNotSatisfiable = "RequestedRangeNotSatisfiable"
        case invalid = "Invalid"
        case tooManyRequests = "TooManyRequests"
        case internalError = "InternalError"
        case unavailable = "ServiceUnavailable"
        /// The store's disk is full (WebDAV's 507): writes are refused, reads go on.
        case insufficientStorage = "InsufficientStorage"
        case timeout = "Timeout"
        case unknown = "Unknown"

        public init(from decoder: any Decoder) throws {
            let raw = try decoder.singleValueContainer().decode(String.self)
            self = Code(rawValue: raw) ?? .unknown
        }

        public var httpStatus: Int {
            switch self {
            case .badRequest: 400
            case .unauthorized: 401
            case .forbidden: 403
            case .notFound: 404
            case .methodNotAllowed: 405
            case .notAcceptable: 406
            case .alreadyExists, .conflict: 409
            case .gone: 410
            case .requestEntityTooLarge: 413
            case .unsupportedMediaType: 415
            case .requestedRangeNotSatisfiable: 416
            case .invalid: 422
            case .tooManyRequests: 429
            case .internalError, .unknown: 500
            case .unavailable: 503
            case .insufficientStorage: 507
            case .timeout: 504
            }
        }

        public init(httpStatus: Int) {
            switch httpStatus {
            case 400: self = .badRequest
            case 401: self = .unauthorized
            case 403: self = .forbidden
            case 404: self = .notFound
            case 405: self = .methodNotAllowed
            case 406: self = .notAcceptable
            case 409: self = .conflict
            case 410: self = .gone
            case 413: self = .requestEntityTooLarge
            case 415: self = .unsupportedMediaType
            case 416: self = .requestedRangeNotSatisfiable
            case 422: self = .invalid
            case 429: self = .tooManyRequests
            case 503: self = .unavailable
            case 507: self = .insufficientStorage
            case 504: self = .timeout
            case 500..<600: self = .internalError
            default: self = .unknown
            }
        }
    }

    public var code: Code
    public var message: String
    public var causes: [StatusCause]
    /// Which object the error is about, for `Status.details`.
    public var details: StatusDetails?
    public var underlying: String?

    public init(_ code: Code, _ message: String, causes: [StatusCause] = [], details: StatusDetails? = nil, underlying: String? = nil) {
        self.code = code
        self.message = message
        self.causes = causes
        self.details = details
        self.underlying = underlying
    }

    public var description: String { message }

    public static func notFound(_ resource: String, _ name: String, group: String = "") -> BerthError {
        let qualified = group.isEmpty ? resource : "\(resource).\(group)"
        return BerthError(.notFound, "\(qualified) \"\(name)\" not found",
                          details: StatusDetails(name: name, group: group, kind: resource))
    }

    public static func alreadyExists(_ resource: String, _ name: String, group: String = "") -> BerthError {
        let qualified = group.isEmpty ? resource : "\(resource).\(group)"
        return BerthError(.alreadyExists, "\(qualified) \"\(name)\" already exists",
                          details: StatusDetails(name: name, group: group, kind: resource))
    }

    public static func conflict(_ resource: String, _ name: String, group: String = "") -> BerthError {
        let qualified = group.isEmpty ? resource : "\(resource).\(group)"
        return BerthError(
            .conflict,
            "Operation cannot be fulfilled on \(qualified) \"\(name)\": the object has been modified; please apply your changes to the latest version and try again",
            details: StatusDetails(name: name, group: group, kind: resource))
    }

    /// 422 with one cause per field, worded like Kubernetes: `Kind "name" is invalid: field: reason`.
    public static func invalid(kind: String, name: String, group: String = "", causes: [StatusCause]) -> BerthError {
        let summary = causes.map { "\($0.field ?? ""): \($0.message ?? "")" }.joined(separator: ", ")
        let qualified = group.isEmpty ? kind : "\(kind).\(group)"
        let list = causes.count > 1 ? "[\(summary)]" : summary
        return BerthError(.invalid, "\(qualified) \"\(name)\" is invalid: \(list)", causes: causes,
                          details: StatusDetails(name: name, group: group, kind: kind, causes: causes))
    }

    /// Maps a `DecodingError` to a 400 naming the JSON path of the offending field.
    public static func decoding(_ error: DecodingError, kind: String) -> BerthError {
        func path(_ keys: [any CodingKey]) -> String {
            let text = keys.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined()
            return text.hasPrefix(".") ? String(text.dropFirst()) : text
        }
        let (field, reason): (String, String)
        switch error {
        case .typeMismatch(let type, let context):
            (field, reason) = (path(context.codingPath), "expected \(jsonTypeName(type))")
        case .valueNotFound(let type, let context):
            (field, reason) = (path(context.codingPath), "expected \(jsonTypeName(type)), got null")
        case .keyNotFound(let key, let context):
            (field, reason) = (path(context.codingPath + [key]), "required field missing")
        case .dataCorrupted(let context):
            (field, reason) = (path(context.codingPath), context.debugDescription)
        @unknown default:
            (field, reason) = ("", "\(error)")
        }
        let cause = StatusCause(reason: "FieldValueInvalid", message: reason, field: field)
        return BerthError(.badRequest, "failed to decode \(kind): \(field): \(reason)", causes: [cause])
    }

    static func jsonTypeName(_ type: Any.Type) -> String {
        if type == String.self { return "string" }
        if type == Bool.self { return "boolean" }
        if type == Int.self || type == Int32.self || type == Int64.self || type == Double.self { return "number" }
        return String(describing: type).hasPrefix("Array") ? "array" : "object"
    }
}

