import BerthCore
import Hummingbird
import NIOCore
import NIOHTTP1

/// Reads a request body up to a limit and words what went wrong as Kubernetes would.
enum BodyReader {
    /// The whole body, at most `limit` bytes. A body over the limit is 413; a body the HTTP
    /// decoder could not frame (a bad chunk size, a short body) is 400 — before, every failure
    /// read "larger than the limit".
    static func collect(_ request: inout Request, upTo limit: Int) async throws(BerthError) -> ByteBuffer {
        if let length = request.headers[.contentLength].flatMap(Int.init), length > limit {
            throw BerthError(.requestEntityTooLarge, "the request body is \(length) bytes; the limit is \(limit)")
        }
        do {
            let body = try await request.collectBody(upTo: limit)
            if let capture = AuditCapture.current, capture.keepsBodies { capture.requestBody = Array(buffer: body) }
            return body
        } catch {
            throw failure(error, limit: limit)
        }
    }

    static func failure(_ error: any Error, limit: Int) -> BerthError {
        if error is NIOTooManyBytesError {
            return BerthError(.requestEntityTooLarge, "the request body is larger than \(limit) bytes")
        }
        if let parse = error as? HTTPParserError {
            return BerthError(.badRequest, "failed to read the request body: \(parse)")
        }
        return BerthError(.badRequest, "failed to read the request body: the connection ended before the body was complete")
    }
}
