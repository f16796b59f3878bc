import BerthCore

/// The error codes of the OCI Distribution Specification. A registry failure is a `BerthError`
/// whose first cause carries the code as its reason: handlers throw it like any other error and
/// the registry's responder words it as the protocol does (`{"errors":[{"code","message"}]}`).
public enum OCIErrorCode: String, Sendable {
    case blobUnknown = "BLOB_UNKNOWN"
    case blobUploadInvalid = "BLOB_UPLOAD_INVALID"
    case blobUploadUnknown = "BLOB_UPLOAD_UNKNOWN"
    case digestInvalid = "DIGEST_INVALID"
    case manifestBlobUnknown = "MANIFEST_BLOB_UNKNOWN"
    case manifestInvalid = "MANIFEST_INVALID"
    case manifestUnknown = "MANIFEST_UNKNOWN"
    case nameInvalid = "NAME_INVALID"
    case nameUnknown = "NAME_UNKNOWN"
    case sizeInvalid = "SIZE_INVALID"
    case unauthorized = "UNAUTHORIZED"
    case denied = "DENIED"
    case unsupported = "UNSUPPORTED"
    case tooManyRequests = "TOOMANYREQUESTS"
    case rangeInvalid = "RANGE_INVALID"
    case quotaExceeded = "DENIED_QUOTA"

    /// The HTTP status the specification pairs with the code.
    var status: BerthError.Code {
        switch self {
        case .blobUnknown, .blobUploadUnknown, .manifestUnknown, .nameUnknown: .notFound
        case .unauthorized: .unauthorized
        case .denied, .quotaExceeded: .forbidden
        case .unsupported: .methodNotAllowed
        case .tooManyRequests: .tooManyRequests
        default: .badRequest
        }
    }
}

extension BerthError {
    /// A registry failure with its OCI code (`DENIED_QUOTA` is answered as `DENIED`).
    public static func oci(_ code: OCIErrorCode, _ message: String, status: BerthError.Code? = nil) -> BerthError {
        BerthError(status ?? code.status, message, causes: [StatusCause(reason: code.rawValue, message: message)])
    }

    /// The OCI code of an error: the one it carries, else the nearest for its HTTP status.
    public var ociCode: String {
        if let reason = causes.first?.reason, reason.allSatisfy({ $0.isUppercase || $0 == "_" }) {
            return reason == OCIErrorCode.quotaExceeded.rawValue ? OCIErrorCode.denied.rawValue : reason
        }
        switch code {
        case .unauthorized: return OCIErrorCode.unauthorized.rawValue
        case .forbidden: return OCIErrorCode.denied.rawValue
        case .tooManyRequests: return OCIErrorCode.tooManyRequests.rawValue
        case .methodNotAllowed: return OCIErrorCode.unsupported.rawValue
        case .requestEntityTooLarge: return OCIErrorCode.sizeInvalid.rawValue
        default: return "UNKNOWN"
        }
    }
}
