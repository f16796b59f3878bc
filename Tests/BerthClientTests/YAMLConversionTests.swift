@testable import BerthClient
import BerthCore
import BerthTestSupport
import Testing

@Suite("YAML manifests to JSON", .blockingAllowed)
struct YAMLConversionTests {
    @Test func plainScalarsFollowKubernetesYAMLRules() throws {
        let yaml = """
        apiVersion: v1
        kind: ConfigMap
        nulls: [~, null, Null, NULL]
        empty:
        trues: [true, True, TRUE, yes, Yes, on, ON]
        falses: [false, False, no, NO, off, Off]
        ints: [0, 42, -17, +5, 1_000, 0644, 0o17, 0x1F, 0b101, 9223372036854775807]
        floats: [1.5, -0.25, 1e3, 2.5E-1, .5, 1., 3.0]
        strings: [1.2.3, 0x, 12:30, 2024-01-01, "true", '42', v1, 9223372036854775808x, .inf, .nan, "", yes please]
        mode: 0644
        """
        let document = try #require(YAMLConversion.parseDocuments(yaml).first)
        #expect(document["nulls"] == [nil, nil, nil, nil])
        #expect(document["empty"] == .null && document.objectValue?.keys.contains("empty") == true)
        #expect(document["trues"] == [true, true, true, true, true, true, true])
        #expect(document["falses"] == [false, false, false, false, false, false])
        #expect(document["ints"] == [.number("0"), .number("42"), .number("-17"), .number("5"), .number("1000"), .number("420"),
                                     .number("15"), .number("31"), .number("5"), .number("9223372036854775807")])
        #expect(document["floats"] == [.number("1.5"), .number("-0.25"), .number("1000"), .number("0.25"), .number("0.5"), .number("1"), .number("3")])
        #expect(document["strings"] == ["1.2.3", "0x", "12:30", "2024-01-01", "true", "42", "v1", "9223372036854775808x", ".inf", ".nan", "", "yes please"])
        #expect(document["mode"] == .number("420"))
    }

    @Test func explicitTagsAndBlockScalarsKeepTheirMeaning() throws {
        let yaml = """
        a: !!int "7"
        b: !!bool "true"
        c: |
          0644
        d: >
          true
        """
        let document = try #require(YAMLConversion.parseDocuments(yaml).first)
        #expect(document["a"] == .number("7"))
        #expect(document["b"] == true)
        #expect(document["c"] == "0644\n")
        #expect(document["d"] == "true")
    }

    @Test func multipleDocumentsAndErrors() throws {
        let documents = try YAMLConversion.parseDocuments("a: 1\n---\n---\nb: [x]\n")
        #expect(documents == [["a": .number("1")], ["b": ["x"]]])
        #expect(throws: BerthError.self) { try YAMLConversion.parseDocuments("a: [1, 2\n") }
        #expect(throws: BerthError.self) { try YAMLConversion.parseDocuments("[1]: x\n") }
    }

    /// Nine levels of anchors, each referring nine times to the one before: 9^9 nodes from a
    /// few hundred bytes. Expanded without a bound this took 24 GB and the server with it.
    static func aliasBomb(levels: Int) -> String {
        var lines = ["a0: &a0 [\(Array(repeating: "\"x\"", count: 9).joined(separator: ","))]"]
        for level in 1..<levels {
            lines.append("a\(level): &a\(level) [\(Array(repeating: "*a\(level - 1)", count: 9).joined(separator: ","))]")
        }
        return lines.joined(separator: "\n") + "\n"
    }

    @Test func anAliasBombIsRefusedAfterBoundedWork() throws {
        let bomb = Self.aliasBomb(levels: 9)
        #expect(bomb.utf8.count < 500)
        let clock = ContinuousClock()
        let started = clock.now
        let error = #expect(throws: BerthError.self) { try YAMLConversion.parseDocuments(bomb) }
        #expect(error?.code == .badRequest)
        #expect(error?.message.contains("excessive aliasing") == true)
        // Bounded work, not a timing claim: the budget is ~100,000 nodes, done in well under a
        // minute even on a loaded host, where the unbounded expansion never finished.
        #expect(clock.now - started < .seconds(60))
    }

    @Test func modestAnchorsAndAliasesStillWork() throws {
        let yaml = """
        base: &base {cpu: 100m, memory: 64Mi}
        containers:
        - {name: a, resources: {limits: *base}}
        - {name: b, resources: {limits: *base}}
        """
        let document = try #require(YAMLConversion.parseDocuments(yaml).first)
        #expect(document["containers"]?.arrayValue?.count == 2)
        #expect(document["containers"]?.arrayValue?[1]["resources"]?["limits"]?["memory"] == "64Mi")
        // Three levels of nine: 729 nodes, well inside the allowance.
        #expect(try YAMLConversion.parseDocuments(Self.aliasBomb(levels: 3)).count == 1)
    }
}
