import BerthCore
import BerthTestSupport
import Testing

@Suite("quantities", .blockingAllowed)
struct QuantityTests {
    @Test(arguments: [
        ("250m", "250m"), ("1.5Gi", "1536Mi"), ("0.5", "500m"), ("1000", "1k"), ("2", "2"), ("1Gi", "1Gi"), ("1024Mi", "1Gi"),
        ("1e3", "1e3"), ("100M", "100M"), ("0", "0"), ("1.5", "1500m"), ("512Ki", "512Ki"), ("0.1m", "100u"), ("-1", "-1"),
        ("1500Mi", "1500Mi"), ("3000m", "3"), ("1.000001", "1000001u"), ("123456789n", "123456789n"),
    ])
    func canonicalForm(_ input: String, _ expected: String) throws {
        #expect(try Quantity(parsing: input).description == expected)
    }

    @Test func valuesRoundUp() throws {
        #expect(try Quantity(parsing: "250m").milliValue == 250)
        #expect(try Quantity(parsing: "1.5").milliValue == 1500)
        #expect(try Quantity(parsing: "1Gi").value == 1_073_741_824)
        #expect(try Quantity(parsing: "1.5").value == 2)
        #expect(try Quantity(parsing: "1n").milliValue == 1)
    }

    @Test(arguments: ["", "abc", "1.2.3", "Gi", "1Gib", "1 Gi", "--1", "1e", ".", "1ee3"])
    func rejectsGarbage(_ input: String) {
        #expect(throws: BerthError.self) { try Quantity(parsing: input) }
    }

    @Test func decodesNumbersAndStrings() throws {
        let value = try JSONParser.parse(#"{"limits":{"cpu":2,"memory":"128Mi"}}"#).decode(ResourceRequirements.self)
        #expect(value.limits?["cpu"]?.description == "2")
        #expect(value.limits?["memory"]?.value == 134_217_728)
        #expect(try Quantity(parsing: "1Gi") > Quantity(parsing: "1000Mi"))
    }
}
