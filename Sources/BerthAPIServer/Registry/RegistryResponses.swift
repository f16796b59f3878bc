import BerthCore
import BerthRegistry
import HTTPTypes
import Hummingbird
import NIOCore

/// Answers in the distribution protocol's words: every response says
/// `Docker-Distribution-API-Version: registry/2.0`; a failure is `{"errors":[{code,message}]}`
/// with the status its code pairs with, and a 401 carries the token flow's challenge.
enum RegistryResponses {
    static let apiVersion = HTTPField.Name("Docker-Distribution-API-Version")!
    static let contentDigest = HTTPField.Name("Docker-Content-Digest")!
    static let uploadUUID = HTTPField.Name("Docker-Upload-UUID")!
    static let ociSubject = HTTPField.Name("OCI-Subject")!
    static let ociFiltersApplied = HTTPField.Name("OCI-Filters-Applied")!
    static let range = HTTPField.Name("Range")!
    static let link = HTTPField.Name("Link")!

    static func headers(_ extra: HTTPFields = [:]) -> HTTPFields {
        var fields = extra
        fields[apiVersion] = "registry/2.0"
        return fields
    }

    static func empty(_ status: HTTPResponse.Status, _ extra: HTTPFields = [:]) -> Response {
        var fields = headers(extra)
        fields[.contentLength] = "0"
        return Response(status: status, headers: fields, body: ResponseBody())
    }

    static func json(_ value: JSONValue, status: HTTPResponse.Status = .ok, _ extra: HTTPFields = [:]) -> Response {
        Responses.json(value, status: status, headers: headers(extra))
    }

    static func error(_ server: APIServer, _ error: BerthError, _ request: Request) -> Response {
        var fields = headers()
        if error.code == .unauthorized {
            fields[.wwwAuthenticate] = RegistryChallenge.header(for: error, host: request.head.authority ?? "localhost")
        }
        let entry: JSONValue = ["code": .string(error.ociCode), "message": .string(error.message)]
        let body = JSONWriter.bytes(["errors": [entry]])
        fields[.contentType] = "application/json"
        let status = HTTPResponse.Status(code: error.code.httpStatus)
        if request.method == .head {
            fields[.contentLength] = String(body.count)
            return Response(status: status, headers: fields, body: ResponseBody())
        }
        return Response(status: status, headers: fields, body: ResponseBody(byteBuffer: ByteBuffer(bytes: body)))
    }
}
