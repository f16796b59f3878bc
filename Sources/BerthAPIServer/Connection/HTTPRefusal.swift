import BerthCore
import NIOCore
import NIOHTTP1

/// An answer written below the HTTP layer, when there is no request for it to answer (the head
/// did not parse) or before one could be read (too many connections): a Kubernetes `Status`
/// with `Connection: close`.
struct HTTPRefusal: Sendable {
    var status: Int
    var reason: String
    var message: String
    var retryAfterSeconds: Int?

    func body() -> [UInt8] {
        // The code is the HTTP status itself: 414, 431 and 501 have no `BerthError.Code`.
        var body = Status(status: "Failure", message: message, reason: statusReason, code: status)
        if let retryAfterSeconds {
            var details = StatusDetails()
            details.retryAfterSeconds = retryAfterSeconds
            body.details = details
        }
        return JSONWriter.bytes((try? JSONValue(encoding: body)) ?? [:])
    }

    func head(contentLength: Int) -> HTTPResponseHead {
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: "application/json")
        headers.add(name: "Content-Length", value: String(contentLength))
        headers.add(name: "Connection", value: "close")
        if let retryAfterSeconds { headers.add(name: "Retry-After", value: String(retryAfterSeconds)) }
        return HTTPResponseHead(version: .http1_1, status: HTTPResponseStatus(statusCode: status, reasonPhrase: reason), headers: headers)
    }

    /// Kubernetes' `StatusReason` for the code: the statuses without one of their own
    /// (414, 431, 505) are malformed requests, 501 an unsupported verb.
    var statusReason: String {
        switch status {
        case 414, 431, 505: BerthError.Code.badRequest.rawValue
        case 501: BerthError.Code.methodNotAllowed.rawValue
        default: BerthError.Code(httpStatus: status).rawValue
        }
    }

    /// The whole response as bytes, for writing beneath the HTTP encoder.
    func encoded() -> ByteBuffer {
        let body = body()
        let head = head(contentLength: body.count)
        var text = "HTTP/1.1 \(head.status.code) \(reason)\r\n"
        for (name, value) in head.headers { text += "\(name): \(value)\r\n" }
        text += "\r\n"
        var buffer = ByteBuffer(string: text)
        buffer.writeBytes(body)
        return buffer
    }

    static let malformedRequestLine = HTTPRefusal(status: 400, reason: "Bad Request",
                                                  message: "malformed request line: expected METHOD PATH HTTP/1.1 ending in CRLF")

    /// What a request head the decoder refused deserves.
    static func parseFailure(_ error: HTTPParserError, requestLineComplete: Bool) -> HTTPRefusal {
        switch error {
        case .headerOverflow where !requestLineComplete:
            return HTTPRefusal(status: 414, reason: "URI Too Long", message: "the request line is too long")
        case .headerOverflow:
            return HTTPRefusal(status: 431, reason: "Request Header Fields Too Large", message: "the request head is larger than 80 KiB or has too many fields")
        case .invalidMethod:
            return HTTPRefusal(status: 501, reason: "Not Implemented", message: "the request method is not supported")
        case .paused:
            // llhttp pauses on HTTP/2's connection preface ("PRI * HTTP/2.0").
            return HTTPRefusal(status: 505, reason: "HTTP Version Not Supported", message: "HTTP/2 is not served here; use HTTP/1.1")
        case .invalidVersion, .lfExpected:
            return malformedRequestLine
        default:
            return HTTPRefusal(status: 400, reason: "Bad Request", message: "malformed HTTP request: \(error)")
        }
    }
}
