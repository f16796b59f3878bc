import BerthCore
import Testing

@Suite("json")
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
}
