import BerthCore
import BerthTestSupport
import Foundation
import Testing

@Suite("RFC 3339 timestamps", .blockingAllowed)
struct RFC3339Tests {
    @Test func formatsSecondsAndMicroseconds() {
        #expect(RFC3339.seconds(Date(timeIntervalSince1970: 0)) == "1970-01-01T00:00:00Z")
        // 2024-02-29 (a leap day) 23:59:59.123456
        let leap = Date(timeIntervalSince1970: 1_709_251_199.123456)
        #expect(RFC3339.seconds(leap) == "2024-02-29T23:59:59Z")
        #expect(RFC3339.microseconds(leap) == "2024-02-29T23:59:59.123456Z")
        #expect(RFC3339.seconds(Date(timeIntervalSince1970: -1)) == "1969-12-31T23:59:59Z")
        #expect(RFC3339.seconds(Date(timeIntervalSince1970: 951_782_400)) == "2000-02-29T00:00:00Z")
        #expect(RFC3339.seconds(Date(timeIntervalSince1970: 4_102_444_800)) == "2100-01-01T00:00:00Z")
    }

    @Test func parsesWhatKubernetesAndConmonWrite() throws {
        #expect(RFC3339.parse("1970-01-01T00:00:00Z") == Date(timeIntervalSince1970: 0))
        #expect(RFC3339.parse("2024-02-29T23:59:59Z") == Date(timeIntervalSince1970: 1_709_251_199))
        let micro = try #require(RFC3339.parse("2024-02-29T23:59:59.123456Z"))
        #expect(abs(micro.timeIntervalSince1970 - 1_709_251_199.123456) < 1e-6)
        // conmon's CRI log lines: nanoseconds and a local offset.
        let offset = try #require(RFC3339.parse("2024-03-01T01:59:59.669794202+02:00"))
        #expect(abs(offset.timeIntervalSince1970 - 1_709_251_199.669794202) < 1e-6)
        #expect(RFC3339.parse("2024-02-29T18:59:59-05:00") == Date(timeIntervalSince1970: 1_709_251_199))
        #expect(RFC3339.parse("2024-02-29t23:59:59z") == Date(timeIntervalSince1970: 1_709_251_199))
    }

    @Test func refusesWhatIsNotOneTimestamp() {
        for text in ["", "2024-02-29", "2024-02-30T00:00:00Z", "2023-02-29T00:00:00Z", "2024-13-01T00:00:00Z",
                     "2024-01-01T24:00:00Z", "2024-01-01T00:60:00Z", "2024-01-01T00:00:00", "2024-01-01T00:00:00Zjunk",
                     "2024-01-01T00:00:00.Z", "2024-01-01T00:00:00+0100", "２０２４-01-01T00:00:00Z", "yesterday"] {
            #expect(RFC3339.parse(text) == nil, "\(text)")
        }
    }

    @Test func roundTripsEveryDayOfFourCenturies() {
        // One instant per day from 1900 to 2300: formatting then parsing gives it back.
        var day = Date(timeIntervalSince1970: -2_208_988_800 + 45_296)
        let end = Date(timeIntervalSince1970: 10_413_792_000)
        var failures: [String] = []
        while day < end {
            let text = RFC3339.seconds(day)
            if RFC3339.parse(text) != day { failures.append(text) }
            day += 86_400
        }
        #expect(failures.isEmpty, "\(failures.prefix(5))")
    }

    @Test func agreesWithFoundationsFormatter() {
        let foundation = ISO8601DateFormatter()
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<2000 {
            let date = Date(timeIntervalSince1970: Double(Int64.random(in: -2_000_000_000...8_000_000_000, using: &generator)))
            let expected = foundation.string(from: date)
            #expect(RFC3339.seconds(date) == expected)
            #expect(RFC3339.parse(expected) == date, "\(expected)")
        }
    }
}
