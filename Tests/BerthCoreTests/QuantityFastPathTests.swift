@testable import BerthCore
import BerthTestSupport
import Testing

/// The byte-level parser for common quantities must agree with the general one wherever it
/// answers, and step aside (nil) where it cannot be sure.
@Suite("quantity fast path", .blockingAllowed)
struct QuantityFastPathTests {
    static let inputs = [
        "250m", "1.5Gi", "0.5", "1000", "2", "1Gi", "1024Mi", "100M", "0", "1.5", "512Ki", "0.1m", "1500Mi", "3000m",
        "1.000001", "123456789n", "5.", ".5", "0.0000000001", "1.5k", "7E", "8E", "9E", "1Ei", "7Ei", "8Ei", "16Ei",
        "999999999999999999", "999999999999999999E", "0.123456789012345678", "1u", "64Mi", "10Ti", "3Pi", "2T", "4P",
    ]

    @Test(arguments: inputs)
    func agreesWithTheGeneralParser(_ input: String) {
        let general = Quantity.parseGeneral(input)
        if let common = Quantity.parseCommon(input.utf8) {
            #expect(common.nanos == general?.nanos)
            #expect(common.format == general?.format)
            #expect(common.description == general?.description)
        }
        #expect(Quantity.parse(input)?.nanos == general?.nanos)
    }

    @Test(arguments: ["-1", "+2", "1e3", "1E3", "1.2.3", "1Gib", "1 Gi", "Gi", ".", "", "1234567890123456789"])
    func leavesTheRestToTheGeneralParser(_ input: String) {
        #expect(Quantity.parseCommon(input.utf8) == nil)
    }
}
