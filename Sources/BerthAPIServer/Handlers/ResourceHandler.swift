import BerthCore
import BerthStore
import Hummingbird
import NIOCore

extension APIServer {
    /// Dispatches a request for a resource by verb and subresource.
    /// `channel` is the client's connection (nil in process): a watch that falls too far behind
    /// closes it.
    func handleResource(_ request: Request, _ target: ResourceTarget, channel: (any Channel)? = nil) async throws(BerthError) -> Response {
        let query = QueryParameters(request.uri.query)
        let representation = try Representation.negotiate(request.headers[.accept])
        let descriptor = target.descriptor
        if let subresource = target.subresource, !descriptor.subresources.contains(subresource) {
            throw BerthError(.notFound, "the server could not find the requested resource")
        }
        if let namespace = target.namespace, let problem = NameValidation.dns1123LabelProblem(namespace), request.method != .get {
            throw BerthError(.badRequest, "invalid namespace \"\(namespace)\": \(problem)")
        }
        if target.subresource == "exec", let name = target.name {
            // Reached only when the request was not a WebSocket upgrade, or the upgrade was refused.
            // Starting it is how the reason for a refusal is found; a process that did start is
            // ended at once.
            let (_, process) = try await startExec(namespace: target.namespace ?? "default", name: name, query: query)
            process.terminate()
            throw BerthError(.badRequest, "exec needs a WebSocket upgrade with the v5.channel.k8s.io or v4.channel.k8s.io protocol")
        }
        if target.subresource == "attach", let name = target.name {
            let (_, attachment) = try await startAttach(namespace: target.namespace ?? "default", name: name, query: query)
            attachment.terminate()
            throw BerthError(.badRequest, "attach needs a WebSocket upgrade with the v5.channel.k8s.io or v4.channel.k8s.io protocol")
        }
        if target.subresource == "portforward", let name = target.name {
            _ = try await storage.get(.pod, namespace: target.namespace, name: name)
            throw BerthError(.badRequest, "port-forward needs a WebSocket upgrade with the \(PortForwardSession.subprotocol) protocol")
        }
        if target.subresource == "token", let name = target.name { return try await createToken(request, target, name) }
        if target.subresource == "log", let name = target.name {
            guard request.method == .get else { throw BerthError(.methodNotAllowed, "the server does not allow this method on the requested resource") }
            return try await podLogs(request, target, name)
        }
        if target.subresource == "binding" || target.subresource == "eviction", request.method != .post {
            throw BerthError(.methodNotAllowed, "the server does not allow this method on the requested resource")
        }
        let watch = target.legacyWatch || query.flag("watch")
        switch request.method {
        case .get:
            if watch { return try await self.watch(target, query, representation, channel: channel) }
            guard let name = target.name else { return try await list(target, query, representation) }
            if target.subresource == "scale" { return try await getScale(target, name) }
            return try await get(target, name, query, representation)
        case .post:
            if let name = target.name, target.subresource == "binding" { return try await bindPod(target, name, try await readJSON(request)) }
            if let name = target.name, target.subresource == "eviction" { return try await evictPod(target, name, try await readEviction(request)) }
            guard target.name == nil else { throw BerthError(.methodNotAllowed, "the server does not allow this method on the requested resource") }
            return try await create(target, try await readJSON(request), query, request)
        case .put:
            guard let name = target.name else { throw BerthError(.methodNotAllowed, "the server does not allow this method on the requested resource") }
            let body = try await readJSON(request)
            if target.subresource == "scale" { return try await updateScale(target, name, body) }
            return try await update(target, name, body, query, request)
        case .patch:
            guard let name = target.name else { throw BerthError(.methodNotAllowed, "the server does not allow this method on the requested resource") }
            return try await patch(target, name, request, query)
        case .delete:
            let body = try await readBody(request)
            let options = try DeleteOptions(body: body, query: query)
            guard let name = target.name else { return try await deleteCollection(target, query, options) }
            return try await delete(target, name, options)
        default:
            throw BerthError(.methodNotAllowed, "the server does not allow this method on the requested resource")
        }
    }

    func readBody(_ request: Request) async throws(BerthError) -> [UInt8] {
        var request = request
        let buffer = try await BodyReader.collect(&request, upTo: configuration.maximumBodyBytes)
        return Array(buffer.readableBytesView)
    }

    func readJSON(_ request: Request) async throws(BerthError) -> JSONValue {
        let contentType = request.headers[.contentType] ?? "application/json"
        let mediaType = contentType.split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces) } ?? ""
        if mediaType == "application/vnd.kubernetes.protobuf" {
            // Typed clients (kubectl create …) send protobuf; the kinds they create are decoded
            // (and recorded for the audit log as JSON, as kube-apiserver records them).
            let decoded = try ProtobufDecoder.decodeEnvelope(try await readBody(request))
            if let capture = AuditCapture.current, capture.keepsBodies { capture.requestBody = JSONWriter.bytes(decoded) }
            return decoded
        }
        guard mediaType == "application/json" || mediaType == "" || mediaType == "*/*" else {
            throw BerthError(.unsupportedMediaType, "the body of the request was in an unknown format - accepted media types include: application/json, application/vnd.kubernetes.protobuf")
        }
        let bytes = try await readBody(request)
        guard !bytes.isEmpty else { throw BerthError(.badRequest, "the request body is empty") }
        let value = try JSONParser.parse(bytes)
        guard case .object = value else { throw BerthError(.badRequest, "failed to decode object: the body must be a JSON object") }
        return value
    }
}

/// `meta/v1` DeleteOptions, from the body or the query string.
struct DeleteOptions: Sendable {
    var gracePeriodSeconds: Int?
    var propagationPolicy: String?
    var preconditionUID: String?
    var preconditionResourceVersion: String?
    var dryRun = false

    /// The defaults: the object's own grace period, background propagation.
    init() {}

    init(body: [UInt8], query: QueryParameters) throws(BerthError) {
        if !body.isEmpty {
            let value = try JSONParser.parse(body)
            gracePeriodSeconds = value["gracePeriodSeconds"]?.intValue
            propagationPolicy = value["propagationPolicy"]?.stringValue
            if value["orphanDependents"] == .bool(true) { propagationPolicy = "Orphan" }
            preconditionUID = value.value(at: ["preconditions", "uid"])?.stringValue
            preconditionResourceVersion = value.value(at: ["preconditions", "resourceVersion"])?.stringValue
            dryRun = value["dryRun"]?.arrayValue?.contains("All") ?? false
        }
        if let grace = try query.integer("gracePeriodSeconds") { gracePeriodSeconds = grace }
        if let policy = query["propagationPolicy"] { propagationPolicy = policy }
        if query["orphanDependents"] == "true" { propagationPolicy = "Orphan" }
        if query["dryRun"] == "All" { dryRun = true }
        if let policy = propagationPolicy, !["Orphan", "Background", "Foreground"].contains(policy) {
            throw BerthError.invalid(kind: "DeleteOptions", name: "", causes: [.notSupported("propagationPolicy", policy, ["Foreground", "Background", "Orphan"])])
        }
        if let grace = gracePeriodSeconds, grace < 0 { gracePeriodSeconds = 0 }
    }
}

import Foundation
