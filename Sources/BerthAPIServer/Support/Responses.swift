import BerthCore
import Hummingbird
import NIOCore

/// Building JSON responses and `Status` errors.
enum Responses {
    static func json(_ value: JSONValue, status: HTTPResponse.Status = .ok, headers: HTTPFields = [:]) -> Response {
        bytes(JSONWriter.bytes(value), status: status, headers: headers)
    }

    static func bytes(_ bytes: [UInt8], status: HTTPResponse.Status = .ok, headers: HTTPFields = [:]) -> Response {
        var fields = headers
        fields[.contentType] = "application/json"
        if let capture = AuditCapture.current, capture.keepsBodies { capture.responseBody = bytes }
        return Response(status: status, headers: fields, body: ResponseBody(byteBuffer: ByteBuffer(bytes: bytes)))
    }

    static func status(_ error: BerthError, headers: HTTPFields = [:]) -> Response {
        let value = (try? JSONValue(encoding: Status(error: error))) ?? ["kind": "Status", "apiVersion": "v1", "status": "Failure", "message": .string(error.message)]
        return json(value, status: HTTPResponse.Status(code: error.code.httpStatus), headers: headers)
    }

    static func success(details: StatusDetails? = nil) -> Response {
        json((try? JSONValue(encoding: Status.success(details: details))) ?? [:])
    }
}

/// What representation the client asked for in `Accept`.
enum Representation: Sendable, Equatable {
    case object
    case table(apiVersion: String)

    static func negotiate(_ accept: String?) throws(BerthError) -> Representation {
        guard let accept, !accept.isEmpty else { return .object }
        // What controllers, agents and most clients send: no need to take it apart.
        if accept == "application/json" || accept == "*/*" || accept == "application/json, */*" { return .object }
        var sawAcceptable = false
        for entry in accept.split(separator: ",") {
            let parts = entry.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }
            let mediaType = parts.first ?? ""
            var parameters: [String: String] = [:]
            for parameter in parts.dropFirst() {
                let pair = parameter.split(separator: "=", maxSplits: 1).map(String.init)
                if pair.count == 2 { parameters[pair[0]] = pair[1] }
            }
            guard mediaType == "application/json" || mediaType == "*/*" || mediaType == "application/*" else { continue }
            if let kind = parameters["as"] {
                if kind == "Table", parameters["g"] == "meta.k8s.io", let version = parameters["v"], version == "v1" || version == "v1beta1" {
                    return .table(apiVersion: "meta.k8s.io/\(version)")
                }
                continue
            }
            sawAcceptable = true
            return .object
        }
        if !sawAcceptable {
            throw BerthError(.notAcceptable, "only the following media types are accepted: application/json, application/json;as=Table;v=v1;g=meta.k8s.io")
        }
        return .object
    }
}

import Foundation
