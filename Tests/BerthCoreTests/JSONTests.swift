import BerthCore
import BerthTestSupport
import Testing

@Suite("json", .blockingAllowed)
struct JSONTests {
    @Test func roundTripsExactly() throws {
        let text = #"{"apiVersion":"v1","kind":"X","metadata":{"name":"a"},"big":9223372036854775807,"f":1.5e-3,"s":"é\n\"\\\u0001","t":true,"n":null,"a":[]}"#
        let value = try JSONParser.parse(text)
        #expect(value["big"] == .number("9223372036854775807"))
        #expect(value["s"] == .string("é\n\"\\\u{1}"))
        #expect(try JSONParser.parse(JSONWriter.bytes(value)) == value)
        #expect(JSONWriter.string(value).hasPrefix(#"{"apiVersion":"v1","kind":"X","metadata":"#))
    }

    @Test func decodesSurrogatePairs() throws {
        #expect(try JSONParser.parse(#""\ud83d\ude00""#) == .string("😀"))
    }

    @Test(arguments: ["", "{", "{\"a\"}", "[1,]", "01", "1.", "tru", "\"\u{1}\"", "{\"a\":1}x", "\"\\x\"", "-", "[" + String(repeating: "[", count: 300)])
    func rejectsMalformed(_ text: String) {
        #expect(throws: BerthError.self) { try JSONParser.parse(text) }
    }

    @Test func stringsWithoutEscapesKeepTheirBytes() throws {
        #expect(try JSONParser.parse(#"["plain","naïve 日本","a\\tb"]"#) == .array(["plain", "naïve 日本", "a\\tb"]))
        // Invalid UTF-8 (a lone continuation byte, a truncated sequence) is refused, not repaired.
        for bad: [UInt8] in [[0x22, 0x61, 0x80, 0x22], [0x22, 0xE6, 0x97, 0x22]] {
            #expect(throws: BerthError.self) { try JSONParser.parse(bad) }
        }
    }

    @Test func collectionsDecodeDirectlyAndStillWordTheirErrors() throws {
        let meta = try JSONParser.parse(#"{"name":"a","labels":{"app":"web"},"annotations":{}}"#).decode(ObjectMeta.self)
        #expect(meta.labels == ["app": "web"])
        #expect(meta.annotations == [:])
        let container = try JSONParser.parse(#"{"name":"c","image":"i","command":["sh","-c"],"resources":{"limits":{"cpu":"1.5","memory":64}}}"#).decode(Container.self)
        #expect(container.command == ["sh", "-c"])
        #expect(container.resources?.limits?["cpu"]?.milliValue == 1500)
        #expect(container.resources?.limits?["memory"]?.value == 64)
        // A wrong element type is still a 400-style error naming the field, as before.
        do {
            _ = try JSONParser.parse(#"{"name":"a","labels":{"app":1}}"#).decode(ObjectMeta.self)
            Issue.record("a number label was accepted")
        } catch {
            #expect(error.message.contains("labels"))
        }
        #expect(throws: BerthError.self) { try JSONParser.parse(#"{"limits":{"cpu":"lots"}}"#).decode(ResourceRequirements.self) }
        #expect(throws: BerthError.self) { try JSONParser.parse(#"{"name":"c","command":["sh",2]}"#).decode(Container.self) }
    }

    @Test func writesTheKnownPrefixThenSortedKeysAndEscapes() {
        let value: JSONValue = ["zeta": 1, "metadata": ["b": "x", "a": "y"], "alpha": "tab\there \"q\" \\ \u{1}", "kind": "K", "apiVersion": "v1"]
        #expect(JSONWriter.string(value) == #"{"apiVersion":"v1","kind":"K","metadata":{"a":"y","b":"x"},"alpha":"tab\there \"q\" \\ \u0001","zeta":1}"#)
        #expect(JSONWriter.orderedKeys(value.objectValue!) == ["apiVersion", "kind", "metadata", "alpha", "zeta"])
    }
}
