import BerthClient
import BerthCore
import Hummingbird
import HTTPTypes
import NIOCore

/// The API server answering clients of its own process (controllers, scheduler, the agent of
/// `berth up`) without TLS or sockets: the request goes through `respond` exactly as a network
/// request does (the admin token is checked, admission and watches are the same code), and the
/// body is written into the client's pipe.
public struct InProcessServer: InProcessAPI {
    let server: APIServer

    public init(server: APIServer) { self.server = server }

    public func serve(_ request: InProcessRequest, into body: BodyPipe) async {
        var fields = HTTPFields()
        for header in request.headers {
            if let name = HTTPField.Name(header.name) { fields.append(HTTPField(name: name, value: header.value)) }
        }
        let head = HTTPRequest(method: HTTPRequest.Method(request.method) ?? .get, scheme: "https", authority: "in-process",
                               path: request.path, headerFields: fields)
        let requestBody = RequestBody(buffer: request.body.map { ByteBuffer(bytes: $0) } ?? ByteBuffer())
        let response = await server.respond(to: Request(head: head, body: requestBody), channel: nil)
        body.respond(status: Int(response.status.code), warnings: response.headers[values: Self.warning])
        do {
            try await response.body.write(PipeWriter(pipe: body))
            body.finish()
        } catch {
            body.finish(error)
        }
    }

    static let warning = HTTPField.Name("Warning")!
}

/// Hummingbird's body writer, writing into a `BodyPipe`.
struct PipeWriter: ResponseBodyWriter {
    let pipe: BodyPipe

    mutating func write(_ buffer: ByteBuffer) async throws {
        try await pipe.write(buffer)
    }

    consuming func finish(_ trailingHeaders: HTTPFields?) async throws {}
}
