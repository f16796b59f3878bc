import BerthCore
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import Synchronization

/// `autoscaling/v1` HorizontalPodAutoscalers, served over the stored `autoscaling/v2` objects
/// (`HPAVersionConversion`): a request is authorized as the same resource, its body converted to
/// v2, handled by the ordinary handlers at the v2 path, and the answer — an object, a list or a
/// watch stream — converted back. Patches are applied to the v1 view, then written as v2.
extension APIServer {
    static let autoscalingV1Prefix = "/apis/autoscaling/v1"

    struct AutoscalingV1Path {
        var target: ResourceTarget
        var v2Path: String

        init?(path: String) {
            guard path.hasPrefix(autoscalingV1Prefix + "/") else { return nil }
            let rest = path.dropFirst(autoscalingV1Prefix.count + 1).split(separator: "/").map(String.init)
            var namespace: String?, name: String?, subresource: String?
            switch rest.count {
            case 1 where rest[0] == "horizontalpodautoscalers": break
            case 3 where rest[0] == "namespaces" && rest[2] == "horizontalpodautoscalers": namespace = rest[1]
            case 4 where rest[0] == "namespaces" && rest[2] == "horizontalpodautoscalers": (namespace, name) = (rest[1], rest[3])
            case 5 where rest[0] == "namespaces" && rest[2] == "horizontalpodautoscalers" && rest[4] == "status":
                (namespace, name, subresource) = (rest[1], rest[3], "status")
            default: return nil
            }
            target = ResourceTarget(descriptor: .horizontalPodAutoscaler, namespace: namespace, name: name, subresource: subresource)
            v2Path = "/apis/autoscaling/v2/" + rest.joined(separator: "/")
        }
    }

    static let autoscalingV1Resources: JSONValue = [
        "kind": "APIResourceList", "apiVersion": "v1", "groupVersion": "autoscaling/v1",
        "resources": [
            ["name": "horizontalpodautoscalers", "singularName": "horizontalpodautoscaler", "namespaced": true, "kind": "HorizontalPodAutoscaler",
             "verbs": Discovery.objectVerbs, "shortNames": ["hpa"], "categories": ["all"]],
            ["name": "horizontalpodautoscalers/status", "singularName": "", "namespaced": true, "kind": "HorizontalPodAutoscaler", "verbs": ["get", "patch", "update"]],
        ],
    ]

    static var autoscalingV1Mount: Mount {
        Mount(name: "autoscaling/v1", matches: { $0 == autoscalingV1Prefix || $0 == autoscalingV1Prefix + "/" || $0.hasPrefix(autoscalingV1Prefix + "/") },
              target: { request, _ in AutoscalingV1Path(path: request.uri.path)?.target }) { server, request, _, channel throws(BerthError) in
            let path = request.uri.path
            if path == autoscalingV1Prefix || path == autoscalingV1Prefix + "/" { return Responses.json(autoscalingV1Resources) }
            guard let route = AutoscalingV1Path(path: path) else { throw BerthError(.notFound, "the server could not find the requested resource") }
            return try await server.serveAutoscalingV1(request, route, channel: channel)
        }
    }

    func serveAutoscalingV1(_ request: Request, _ route: AutoscalingV1Path, channel: (any Channel)?) async throws(BerthError) -> Response {
        var incoming = request
        var head = request.head
        head.path = route.v2Path + (request.uri.query.map { "?" + $0 } ?? "")
        var body = ByteBuffer()
        switch request.method {
        case .post, .put:
            let bytes = try await BodyReader.collect(&incoming, upTo: configuration.maximumBodyBytes)
            body = ByteBuffer(bytes: JSONWriter.bytes(try HPAVersionConversion.toV2(try JSONParser.parse(Array(buffer: bytes)))))
            head.headerFields[.contentType] = "application/json"
        case .patch:
            // The patch is meant for the v1 view: apply it there, write the result as v2.
            guard let name = route.target.name else { throw BerthError(.methodNotAllowed, "patch names one HorizontalPodAutoscaler") }
            let patchBytes = try await BodyReader.collect(&incoming, upTo: configuration.maximumBodyBytes)
            let contentType = (request.headers[.contentType] ?? "").split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces) } ?? ""
            // Server-side apply of a v1 object is taken as a merge of what it names.
            let type = PatchType(rawValue: contentType) ?? .merge
            let stored = try await storage.get(.horizontalPodAutoscaler, namespace: route.target.namespace, name: name)
            let patched = try Self.applyPatch(try JSONParser.parse(Array(buffer: patchBytes)), type, to: HPAVersionConversion.toV1(stored))
            var v2 = try HPAVersionConversion.toV2(patched)
            v2.set(stored.value(at: ["metadata", "resourceVersion"]), at: ["metadata", "resourceVersion"])
            if route.target.subresource != "status" { v2["status"] = stored["status"] }
            head.method = .put
            head.headerFields[.contentType] = "application/json"
            body = ByteBuffer(bytes: JSONWriter.bytes(v2))
        default:
            break
        }
        let response = try await handleResource(Request(head: head, body: RequestBody(buffer: body)), route.target, channel: channel)
        return Self.convertToV1(response)
    }

    /// Objects and lists in a JSON answer (or each event of a watch) turned into v1.
    static func convertToV1(_ response: Response) -> Response {
        guard (response.headers[.contentType] ?? "").hasPrefix("application/json") else { return response }
        var converted = response
        converted.body = ResponseBody { writer in
            let (chunks, continuation) = AsyncStream<[UInt8]>.makeStream()
            let reader = Task {
                try? await response.body.write(CollectingWriter { continuation.yield($0) })
                continuation.finish()
            }
            defer { reader.cancel() }
            var carry: [UInt8] = []
            for await chunk in chunks {
                carry += chunk
                var output: [UInt8] = []
                while let newline = carry.firstIndex(of: 0x0A) {
                    output += convertLine(Array(carry[..<newline]))
                    output.append(0x0A)
                    carry.removeSubrange(...newline)
                }
                if !output.isEmpty { try await writer.write(ByteBuffer(bytes: output)) }
            }
            if !carry.isEmpty { try await writer.write(ByteBuffer(bytes: convertLine(carry))) }
            try await writer.finish(nil)
        }
        converted.headers[.contentLength] = nil
        return converted
    }

    /// One whole JSON document (an answer, or one watch event).
    static func convertLine(_ line: [UInt8]) -> [UInt8] {
        guard let value = try? JSONParser.parse(line) else { return line }
        return JSONWriter.bytes(convertValue(value))
    }

    /// An HPA, a list of them, a watch event or a Status.
    static func convertValue(_ value: JSONValue) -> JSONValue {
        var value = value
        if value["kind"]?.stringValue == "HorizontalPodAutoscaler" { return HPAVersionConversion.toV1(value) }
        if value["kind"]?.stringValue == "HorizontalPodAutoscalerList" {
            value["apiVersion"] = "autoscaling/v1"
            value["items"] = .array((value["items"]?.arrayValue ?? []).map(HPAVersionConversion.toV1))
            return value
        }
        if value["type"] != nil, let object = value["object"], object["kind"]?.stringValue == "HorizontalPodAutoscaler" {
            value["object"] = HPAVersionConversion.toV1(object)
        }
        return value
    }
}

/// Hands each chunk of a response body to a closure.
struct CollectingWriter: ResponseBodyWriter {
    let chunk: ([UInt8]) -> Void
    mutating func write(_ buffer: ByteBuffer) async throws { chunk(Array(buffer: buffer)) }
    consuming func finish(_ trailingHeaders: HTTPFields?) async throws {}
}
