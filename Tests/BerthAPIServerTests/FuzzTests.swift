@testable import BerthAPIServer
import BerthClient
import BerthCore
import BerthTestSupport
import Foundation
import HTTPTypes
import Testing

/// Every decoder of remote input, fed mutated and generated input from a seeded generator plus
/// the kept corpus of nasty cases (`FuzzCorpus/`): each input gets a 4xx Status or a clean
/// error — never a crash (the test process would die), a hang (the suite's time bound) or a
/// 5xx. `FUZZ_ITERATIONS` scales a run up (bench/fuzz.sh); `FUZZ_SEED` replays one.
@Suite("fuzzing remote input", .serialized, .blockingAllowed)
struct FuzzTests {
    static let iterations = ProcessInfo.processInfo.environment["FUZZ_ITERATIONS"].flatMap(Int.init) ?? 400
    static let seed = ProcessInfo.processInfo.environment["FUZZ_SEED"].flatMap(UInt64.init) ?? 0x5EED_BE27

    static let corpusDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("FuzzCorpus")

    /// The kept nasty cases, by file name (the extension says which decoder: json, yaml, patch,
    /// selector, quantity).
    static func corpus(_ suffix: String) -> [[UInt8]] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: corpusDirectory.path)) ?? []
        return names.filter { $0.hasSuffix("." + suffix) }.sorted().compactMap {
            FileManager.default.contents(atPath: corpusDirectory.appendingPathComponent($0).path).map(Array.init)
        }
    }

    static let seeds: [String] = [
        #"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"c","labels":{"a":"b"}},"data":{"k":"v"}}"#,
        #"{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p"},"spec":{"containers":[{"name":"c","image":"berth/busybox:latest","resources":{"limits":{"cpu":"500m","memory":"64Mi"}},"ports":[{"containerPort":80}]}]}}"#,
        #"{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"d"},"spec":{"replicas":2,"selector":{"matchLabels":{"app":"d"}},"template":{"metadata":{"labels":{"app":"d"}},"spec":{"containers":[{"name":"c","image":"x"}]}}}}"#,
        #"{"apiVersion":"v1","kind":"Service","metadata":{"name":"s"},"spec":{"ports":[{"port":80,"targetPort":"http"}],"selector":{"app":"d"}}}"#,
    ]

    /// What a request may answer: success or the client's fault, never the server's.
    static func acceptable(_ status: Int) -> Bool { status < 500 }

    @Test func mutatedBodiesNeverGetA5xx() async throws {
        try await APIHarness.run { _, client in
            var random = SeededRandom(seed: Self.seed)
            let targets = [
                (HTTPRequest.Method.post, "/api/v1/namespaces/default/configmaps"),
                (.post, "/api/v1/namespaces/default/pods"),
                (.post, "/apis/apps/v1/namespaces/default/deployments"),
                (.post, "/api/v1/namespaces/default/services"),
                (.put, "/api/v1/namespaces/default/configmaps/c"),
            ]
            var bodies = Self.corpus("json")
            for iteration in 0..<Self.iterations {
                let seed = Self.seeds[random.below(Self.seeds.count)]
                // Half byte-level (the parser), half value-level (well-formed JSON that
                // reaches decoding, defaults and validation).
                if iteration % 2 == 0 {
                    bodies.append(Mutator.mutate(Array(seed.utf8), &random))
                } else if let value = try? JSONParser.parse(Array(seed.utf8)) {
                    bodies.append(JSONWriter.bytes(Mutator.mutate(value, &random)))
                }
            }
            for (index, body) in bodies.enumerated() {
                let (method, path) = targets[index % targets.count]
                let result = try await client.send(method, path, bytes: body)
                #expect(Self.acceptable(result.status), "\(method) \(path) answered \(result.status) to \(String(decoding: body.prefix(300), as: UTF8.self)): \(result.json)")
            }
            // Protobuf envelopes: the same bytes as a protobuf body.
            for body in bodies.prefix(Self.iterations / 2) {
                let result = try await client.send(.post, "/api/v1/namespaces/default/configmaps", bytes: [0x6B, 0x38, 0x73, 0x00] + body,
                                                   contentType: "application/vnd.kubernetes.protobuf")
                #expect(Self.acceptable(result.status), "protobuf answered \(result.status)")
            }
        }
    }

    @Test func patchesOfEveryTypeNeverGetA5xx() async throws {
        try await APIHarness.run { _, client in
            var random = SeededRandom(seed: Self.seed &+ 1)
            _ = try await client.send(.post, "/api/v1/namespaces/default/configmaps", json: Fixtures.configMap("c"))
            _ = try await client.send(.post, "/apis/apps/v1/namespaces/default/deployments", json: Fixtures.deployment("d"))
            let patchSeeds = [
                (#"{"data":{"k":"v2"},"metadata":{"labels":{"x":null}}}"#, "application/merge-patch+json"),
                (#"{"spec":{"template":{"spec":{"containers":[{"name":"c","image":"y","$patch":"replace"}]}}},"$setElementOrder/containers":[{"name":"c"}]}"#,
                 "application/strategic-merge-patch+json"),
                (#"[{"op":"add","path":"/data/x","value":"1"},{"op":"remove","path":"/data/a"},{"op":"move","from":"/data/x","path":"/data/y"}]"#,
                 "application/json-patch+json"),
                ("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\ndata:\n  k: &a v\n  l: *a\n", "application/apply-patch+yaml"),
            ]
            var cases: [([UInt8], String)] = Self.corpus("patch").map { ($0, "application/json-patch+json") }
                + Self.corpus("yaml").map { ($0, "application/apply-patch+yaml") }
            for _ in 0..<Self.iterations {
                let (seed, type) = patchSeeds[random.below(patchSeeds.count)]
                cases.append((Mutator.mutate(Array(seed.utf8), &random), type))
            }
            for (index, (body, type)) in cases.enumerated() {
                let path = index % 2 == 0 ? "/api/v1/namespaces/default/configmaps/c?fieldManager=fuzz"
                    : "/apis/apps/v1/namespaces/default/deployments/d?fieldManager=fuzz"
                let result = try await client.send(.patch, path, bytes: body, contentType: type)
                #expect(Self.acceptable(result.status), "\(type) answered \(result.status) to \(String(decoding: body.prefix(300), as: UTF8.self)): \(result.json)")
            }
        }
    }

    @Test func queryParametersNeverGetA5xx() async throws {
        try await APIHarness.run { _, client in
            var random = SeededRandom(seed: Self.seed &+ 2)
            var queries = Self.corpus("selector").map { "labelSelector=" + Self.percentEncoded($0) }
            let keys = ["labelSelector", "fieldSelector", "limit", "continue", "resourceVersion", "resourceVersionMatch", "timeoutSeconds",
                        "watch", "fieldValidation", "propagationPolicy", "gracePeriodSeconds", "dryRun", "fieldManager"]
            for _ in 0..<Self.iterations {
                let key = keys[random.below(keys.count)]
                queries.append(key + "=" + Self.percentEncoded(Mutator.selector(&random)))
            }
            for (index, query) in queries.enumerated() {
                let watching = query.hasPrefix("watch=")
                let path = "/api/v1/namespaces/default/configmaps?" + query + (watching ? "&timeoutSeconds=1" : "")
                let result = try await client.send(index % 7 == 0 ? .delete : .get, path)
                #expect(Self.acceptable(result.status), "\(path) answered \(result.status): \(result.json)")
            }
        }
    }

    /// The decoders below the API, called directly: selectors, quantities, YAML (with
    /// kubeconfig's shape), JSON, SPDY frames and header blocks.
    /// The SPDY framing and header decompression kubectl's exec and port-forward streams go
    /// through (raw on a SPDY upgrade, or inside WebSocket messages): arbitrary and mutated
    /// frames end in frames or a clean error.
    @Test func spdyFramesAndHeadersThrowCleanErrors() throws {
        var random = SeededRandom(seed: Self.seed)
        var writer = SPDYHeaderWriter()
        let headers = writer.block([("streamtype", "data"), ("port", "8080"), ("requestid", "0")])
        let valid = SPDYFrame.control(.synStream, Array([0, 0, 0, 1, 0, 0, 0, 0, 0, 0]) + headers) + SPDYFrame.data(streamID: 1, finished: false, Array("hello".utf8))
            + SPDYFrame.ping(id: 7) + SPDYFrame.reset(streamID: 1, status: 5)
        for iteration in 0..<Self.iterations {
            let input: [UInt8] = iteration % 3 == 0 ? (0..<random.below(256)).map { _ in UInt8(truncatingIfNeeded: random.next()) }
                : Mutator.mutate(valid, &random)
            var parser = SPDYFrame.Parser()
            // Fed in pieces, as the network delivers them.
            var offset = 0
            reading: while offset < input.count {
                let end = min(input.count, offset + 1 + random.below(64))
                parser.append(Array(input[offset..<end]))
                offset = end
                while true {
                    let next: SPDYFrame?
                    do { next = try parser.next() } catch { break reading }
                    guard let frame = next else { break }
                    if case .synStream(_, _, let block) = frame { _ = try? SPDYHeaderReader().block(block) }
                }
            }
            _ = try? SPDYHeaderReader().block(Array(input.dropFirst(min(input.count, 18))))
        }
    }

    @Test func decodersThrowCleanErrors() throws {
        var random = SeededRandom(seed: Self.seed &+ 3)
        var texts = (Self.corpus("selector") + Self.corpus("quantity") + Self.corpus("yaml") + Self.corpus("json")).map { String(decoding: $0, as: UTF8.self) }
        for _ in 0..<(Self.iterations * 5) { texts.append(Mutator.selector(&random)) }
        let yamlSeed = "apiVersion: v1\nclusters:\n- cluster: {server: 'https://x:6443'}\n  name: c\ncontexts: [{context: {cluster: c, user: u}, name: x}]\nusers:\n- name: u\n  user: {token: t}\n"
        for _ in 0..<Self.iterations { texts.append(String(decoding: Mutator.mutate(Array(yamlSeed.utf8), &random), as: UTF8.self)) }
        for text in texts {
            _ = try? LabelSelector(parsing: text)
            _ = try? FieldSelector(parsing: text)
            _ = try? Quantity(parsing: text)
            _ = try? YAMLConversion.parseDocuments(text)
            _ = try? JSONParser.parse(Array(text.utf8))
        }
        // SPDY: random frames and header blocks, in random pieces.
        for _ in 0..<Self.iterations {
            var parser = SPDYFrame.Parser()
            var frame = SPDYFrame.control(.synStream, Array(repeating: 0, count: 10) + Mutator.bytes(&random, count: random.below(64)))
            frame = Mutator.mutate(frame, &random)
            var rest = frame[...]
            while !rest.isEmpty {
                let piece = min(rest.count, 1 + random.below(16))
                parser.append(Array(rest.prefix(piece)))
                rest = rest.dropFirst(piece)
                while let next = try? parser.next() { _ = next }
            }
            _ = try? SPDYHeaderReader().block(Mutator.bytes(&random, count: random.below(200)))
            _ = try? SPDYHeaders.decodePairs(Mutator.bytes(&random, count: random.below(200)))
        }
    }

    static func percentEncoded(_ bytes: [UInt8]) -> String {
        percentEncoded(String(decoding: bytes, as: UTF8.self))
    }

    static func percentEncoded(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? ""
    }
}

/// SplitMix64: the same seed gives the same inputs on every machine.
struct SeededRandom {
    var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    mutating func below(_ bound: Int) -> Int { bound <= 1 ? 0 : Int(next() % UInt64(bound)) }
}

/// Turns good input into nearly-good input: the kind that reaches deep into a decoder.
enum Mutator {
    static let interesting: [String] = [
        "", "null", "true", "-1", "0", "1e999", "9223372036854775808", "-9223372036854775809", "\"\"", "[]", "{}", "\"\\u0000\"",
        "\"\\ud800\"", "\u{FEFF}", "NaN", "1.5e-400", String(repeating: "[", count: 300), String(repeating: "{\"a\":", count: 300),
        "\"" + String(repeating: "a", count: 70_000) + "\"", "&a [*a]", "*x", "!!binary AAAA", "<<: {}", "$patch", "$retainKeys",
        "\"$setElementOrder/containers\"", "~1", "/-", "../..", "\"1Ei\"", "\"1e1000\"", "\"0.000000001m\"",
    ]

    static func mutate(_ input: [UInt8], _ random: inout SeededRandom) -> [UInt8] {
        var bytes = input
        for _ in 0..<(1 + random.below(4)) {
            guard !bytes.isEmpty else { return Array(interesting[random.below(interesting.count)].utf8) }
            let at = random.below(bytes.count)
            switch random.below(7) {
            case 0: bytes[at] = UInt8(truncatingIfNeeded: random.next())
            case 1: bytes.removeSubrange(at..<min(bytes.count, at + 1 + random.below(8)))
            case 2: bytes.insert(contentsOf: interesting[random.below(interesting.count)].utf8, at: at)
            case 3: bytes = Array(bytes.prefix(at))
            case 4: bytes.insert(contentsOf: bytes[at..<min(bytes.count, at + 1 + random.below(32))], at: random.below(bytes.count))
            case 5: bytes[at] = Array("{}[]\",:\\".utf8)[random.below(8)]
            default:
                // Swap a value for an interesting one: after a colon, up to the next comma.
                if let colon = bytes[at...].firstIndex(of: UInt8(ascii: ":")) {
                    let end = bytes[colon...].firstIndex(where: { $0 == UInt8(ascii: ",") || $0 == UInt8(ascii: "}") }) ?? bytes.count
                    bytes.replaceSubrange((colon + 1)..<end, with: interesting[random.below(interesting.count)].utf8)
                }
            }
        }
        return bytes
    }

    static let interestingValues: [JSONValue] = [
        .null, true, false, .number("-1"), .number("0"), .number("2147483648"), .number("1e308"), .number("-0.5"), "", "-1", "1e1000",
        "500m", "64Mi", "-1Gi", "0x10", "a/b", .string(String(repeating: "x", count: 300)), "UPPER", "..", [], [:], [.null], ["": ""],
        ["name": "dup"], [["name": "c", "image": ""]],
    ]

    /// A well-formed document with one to three changes: a leaf replaced by an interesting
    /// value, a key removed, or a key added.
    static func mutate(_ value: JSONValue, _ random: inout SeededRandom) -> JSONValue {
        var result = value
        for _ in 0..<(1 + random.below(3)) { result = mutateOnce(result, &random, depth: 0) }
        return result
    }

    private static func mutateOnce(_ value: JSONValue, _ random: inout SeededRandom, depth: Int) -> JSONValue {
        switch value {
        case .object(var fields) where !fields.isEmpty && depth < 12:
            let keys = fields.keys.sorted()
            let key = keys[random.below(keys.count)]
            switch random.below(6) {
            case 0: fields.removeValue(forKey: key)
            case 1: fields[["spec", "status", "metadata", "labels", "x", "$patch", "apiVersion"][random.below(7)]] = interestingValues[random.below(interestingValues.count)]
            case 2: fields[key] = interestingValues[random.below(interestingValues.count)]
            default: fields[key] = mutateOnce(fields[key]!, &random, depth: depth + 1)
            }
            return .object(fields)
        case .array(var items) where !items.isEmpty && depth < 12:
            let index = random.below(items.count)
            switch random.below(4) {
            case 0: items.remove(at: index)
            case 1: items.append(items[index])
            default: items[index] = mutateOnce(items[index], &random, depth: depth + 1)
            }
            return .array(items)
        default:
            return interestingValues[random.below(interestingValues.count)]
        }
    }

    static func bytes(_ random: inout SeededRandom, count: Int) -> [UInt8] {
        (0..<count).map { _ in UInt8(truncatingIfNeeded: random.next()) }
    }

    /// Selector-ish text: the alphabet selectors, quantities and query values are made of.
    static func selector(_ random: inout SeededRandom) -> String {
        let atoms = ["a", "app", "=", "==", "!=", ",", " in ", " notin ", "(", ")", "!", "x.y/z", "-", "1", "Mi", "m", "e", ".", "k8s.io/",
                     "metadata.name", "spec.nodeName", "status.phase", "\u{0}", "%", "\u{1F600}", String(repeating: "a", count: 300)]
        return (0..<random.below(12)).map { _ in atoms[random.below(atoms.count)] }.joined()
    }
}
