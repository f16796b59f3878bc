import BerthAPIServer
import BerthCore
import BerthStore
import Foundation
import Hummingbird
import HummingbirdTesting
import NIOCore
import Testing

/// An API server on a fresh SQLite store in a temporary directory, called through
/// Hummingbird's test client. `run` tears everything down even when the body throws.
struct APIHarness {
    let server: APIServer
    let store: SQLiteStore

    static func run(token: String? = nil, bookmarkInterval: Duration = .seconds(60),
                    _ body: @Sendable (APIHarness, any TestClientProtocol) async throws -> Void) async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("berth-api-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let store = try SQLiteStore(path: directory.appendingPathComponent("state.db").path)
        var configuration = APIServerConfiguration(adminToken: token)
        configuration.bookmarkInterval = bookmarkInterval
        let server = APIServer(store: store, configuration: configuration)
        try await server.bootstrap()
        let app = Application(responder: server.responder, services: server.services)
        let harness = APIHarness(server: server, store: store)
        do {
            try await app.test(.router) { client in try await body(harness, client) }
        } catch {
            await store.close()
            throw error
        }
        await store.close()
    }
}

/// Small helpers so tests read like the requests they make.
extension TestClientProtocol {
    @discardableResult
    func send(_ method: HTTPRequest.Method, _ path: String, json: JSONValue? = nil, body: String? = nil, bytes: [UInt8]? = nil,
              contentType: String = "application/json", headers: HTTPFields = [:]) async throws -> (status: Int, json: JSONValue, headers: HTTPFields) {
        var fields = headers
        var buffer: ByteBuffer?
        if let json { buffer = ByteBuffer(bytes: JSONWriter.bytes(json)) }
        if let body { buffer = ByteBuffer(string: body) }
        if let bytes { buffer = ByteBuffer(bytes: bytes) }
        if buffer != nil { fields[.contentType] = contentType }
        return try await execute(uri: path, method: method, headers: fields, body: buffer) { response in
            let bytes = Array(response.body.readableBytesView)
            let value = (try? JSONParser.parse(bytes)) ?? .string(String(decoding: bytes, as: UTF8.self))
            return (Int(response.status.code), value, response.headers)
        }
    }
}

enum Fixtures {
    static func configMap(_ name: String, namespace: String = "default", labels: [String: String] = [:], data: [String: String] = ["a": "1"]) -> JSONValue {
        var meta: JSONValue = ["name": .string(name), "namespace": .string(namespace)]
        if !labels.isEmpty { meta["labels"] = .object(labels.mapValues { .string($0) }) }
        return ["apiVersion": "v1", "kind": "ConfigMap", "metadata": meta, "data": .object(data.mapValues { .string($0) })]
    }

    static func deployment(_ name: String, replicas: Int = 2, image: String = "berth/busybox:latest") -> JSONValue {
        [
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": ["name": .string(name), "labels": ["app": .string(name)]],
            "spec": [
                "replicas": .number(String(replicas)),
                "selector": ["matchLabels": ["app": .string(name)]],
                "template": [
                    "metadata": ["labels": ["app": .string(name)]],
                    "spec": ["containers": [["name": "main", "image": .string(image), "ports": [["containerPort": 8080]],
                                             "env": [["name": "A", "value": "1"]]]]],
                ],
            ],
        ]
    }

    static func pod(_ name: String, node: String? = nil, labels: [String: String] = [:]) -> JSONValue {
        var spec: JSONValue = ["containers": [["name": "main", "image": "berth/busybox:latest"]]]
        if let node { spec["nodeName"] = .string(node) }
        return ["apiVersion": "v1", "kind": "Pod", "metadata": ["name": .string(name), "labels": .object(labels.mapValues { .string($0) })], "spec": spec]
    }
}
