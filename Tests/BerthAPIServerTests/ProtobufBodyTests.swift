import BerthCore
import BerthTestSupport
import Testing

/// A minimal protobuf writer for building request bodies the way client-go encodes them.
struct ProtoWriter {
    var bytes: [UInt8] = []

    mutating func varint(_ value: UInt64) {
        var value = value
        while value >= 0x80 {
            bytes.append(UInt8(value & 0x7f) | 0x80)
            value >>= 7
        }
        bytes.append(UInt8(value))
    }

    mutating func tag(_ number: Int, _ wire: UInt64) { varint(UInt64(number) << 3 | wire) }
    mutating func int(_ number: Int, _ value: Int64) { tag(number, 0); varint(UInt64(bitPattern: value)) }
    mutating func bytes(_ number: Int, _ value: [UInt8]) { tag(number, 2); varint(UInt64(value.count)); bytes.append(contentsOf: value) }
    mutating func string(_ number: Int, _ value: String) { bytes(number, Array(value.utf8)) }
    mutating func message(_ number: Int, _ build: (inout ProtoWriter) -> Void) {
        var inner = ProtoWriter()
        build(&inner)
        bytes(number, inner.bytes)
    }
    mutating func mapEntry(_ number: Int, _ key: String, _ value: String) {
        message(number) { $0.string(1, key); $0.string(2, value) }
    }

    /// Kubernetes' envelope: magic, then runtime.Unknown{typeMeta, raw}.
    static func envelope(apiVersion: String, kind: String, _ build: (inout ProtoWriter) -> Void) -> [UInt8] {
        var object = ProtoWriter()
        build(&object)
        var unknown = ProtoWriter()
        unknown.message(1) { $0.string(1, apiVersion); $0.string(2, kind) }
        unknown.bytes(2, object.bytes)
        return [0x6b, 0x38, 0x73, 0x00] + unknown.bytes
    }
}

@Suite("protobuf request bodies", .blockingAllowed)
struct ProtobufBodyTests {
    static let protobuf = "application/vnd.kubernetes.protobuf"

    @Test("a Deployment in protobuf is created as its JSON twin would be")
    func deployment() async throws {
        try await APIHarness.run { _, client in
            let body = ProtoWriter.envelope(apiVersion: "apps/v1", kind: "Deployment") { d in
                d.message(1) { meta in
                    meta.string(1, "hello")
                    meta.mapEntry(11, "app", "hello")
                    meta.message(8) { _ in }  // creationTimestamp: empty Time, ignored
                }
                d.message(2) { spec in
                    spec.int(1, 3)
                    spec.message(2) { $0.mapEntry(1, "app", "hello") }
                    spec.message(3) { template in
                        template.message(1) { $0.mapEntry(11, "app", "hello") }
                        template.message(2) { pod in
                            pod.message(2) { container in
                                container.string(1, "main")
                                container.string(2, "berth/busybox:latest")
                                container.string(3, "sleep")
                                container.string(3, "3600")
                                container.message(8) { resources in
                                    resources.message(2) { entry in entry.string(1, "cpu"); entry.message(2) { $0.string(1, "250m") } }
                                }
                            }
                        }
                    }
                    spec.message(4) { strategy in
                        strategy.string(1, "RollingUpdate")
                        strategy.message(2) { rolling in
                            rolling.message(1) { $0.int(1, 1); $0.string(3, "50%") }
                            rolling.message(2) { $0.int(1, 0); $0.int(2, 2) }
                        }
                    }
                }
                d.message(3) { _ in }
            }
            let created = try await client.send(.post, "/apis/apps/v1/namespaces/default/deployments", bytes: body, contentType: Self.protobuf)
            #expect(created.status == 201, "\(created.json)")
            let stored = try await client.send(.get, "/apis/apps/v1/namespaces/default/deployments/hello").json
            #expect(stored["spec"]?["replicas"] == 3)
            #expect(stored.value(at: ["spec", "selector", "matchLabels", "app"]) == "hello")
            let container = stored.value(at: ["spec", "template", "spec", "containers"])?.arrayValue?.first
            #expect(container?["image"] == "berth/busybox:latest")
            #expect(container?["command"] == ["sleep", "3600"])
            #expect(container?.value(at: ["resources", "requests", "cpu"]) == "250m")
            #expect(stored.value(at: ["spec", "strategy", "rollingUpdate", "maxUnavailable"]) == "50%")
            #expect(stored.value(at: ["spec", "strategy", "rollingUpdate", "maxSurge"]) == 2)
        }
    }

    @Test("a ConfigMap and a Secret in protobuf; bytes arrive base64 as in JSON")
    func configMapAndSecret() async throws {
        try await APIHarness.run { _, client in
            let configMap = ProtoWriter.envelope(apiVersion: "v1", kind: "ConfigMap") { c in
                c.message(1) { $0.string(1, "settings") }
                c.mapEntry(2, "mode", "fast")
            }
            let reply1 = try await client.send(.post, "/api/v1/namespaces/default/configmaps", bytes: configMap, contentType: Self.protobuf)
            #expect(reply1.status == 201)
            let reply2 = try await client.send(.get, "/api/v1/namespaces/default/configmaps/settings").json.value(at: ["data", "mode"])
            #expect(reply2 == "fast")
            let secret = ProtoWriter.envelope(apiVersion: "v1", kind: "Secret") { s in
                s.message(1) { $0.string(1, "token") }
                s.message(2) { $0.string(1, "key"); $0.bytes(2, Array("s3cret".utf8)) }
                s.string(3, "Opaque")
            }
            let reply3 = try await client.send(.post, "/api/v1/namespaces/default/secrets", bytes: secret, contentType: Self.protobuf)
            #expect(reply3.status == 201)
            let reply4 = try await client.send(.get, "/api/v1/namespaces/default/secrets/token").json.value(at: ["data", "key"])
            #expect(reply4 == .string(Base64.encode(Array("s3cret".utf8))))
        }
    }

    @Test("fields the server does not know, unknown kinds and broken bytes are refused, nothing stored")
    func refusals() async throws {
        try await APIHarness.run { _, client in
            let unknownField = ProtoWriter.envelope(apiVersion: "v1", kind: "ConfigMap") { c in
                c.message(1) { $0.string(1, "odd") }
                c.string(99, "surprise")
            }
            let refused = try await client.send(.post, "/api/v1/namespaces/default/configmaps", bytes: unknownField, contentType: Self.protobuf)
            #expect(refused.status == 415)
            #expect(refused.json["message"]?.stringValue?.contains("field 99 of ConfigMap") == true)
            let otherKind = ProtoWriter.envelope(apiVersion: "apps/v1", kind: "StatefulSet") { $0.message(1) { $0.string(1, "j") } }
            let reply5 = try await client.send(.post, "/api/v1/namespaces/default/configmaps", bytes: otherKind, contentType: Self.protobuf)
            #expect(reply5.status == 415)
            var truncated = ProtoWriter.envelope(apiVersion: "v1", kind: "ConfigMap") { $0.message(1) { $0.string(1, "cut") } }
            truncated.removeLast(2)
            let reply6 = try await client.send(.post, "/api/v1/namespaces/default/configmaps", bytes: truncated, contentType: Self.protobuf)
            #expect(reply6.status == 400)
            let reply7 = try await client.send(.get, "/api/v1/namespaces/default/configmaps/odd")
            #expect(reply7.status == 404)
            let reply8 = try await client.send(.get, "/api/v1/namespaces/default/configmaps/cut")
            #expect(reply8.status == 404)
        }
    }
}
