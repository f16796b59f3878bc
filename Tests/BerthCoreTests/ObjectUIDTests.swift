import BerthCore
import BerthTestSupport
import Foundation
import Testing

@Suite("object UIDs", .blockingAllowed)
struct ObjectUIDTests {
    @Test func uidsAreLowerCaseVersion4UUIDsAndDistinct() {
        var seen = Set<String>()
        for _ in 0..<10_000 {
            let uid = ObjectUID.make()
            let parts = uid.split(separator: "-", omittingEmptySubsequences: false).map(String.init)
            #expect(parts.map(\.count) == [8, 4, 4, 4, 12], "\(uid)")
            #expect(uid.allSatisfy { "0123456789abcdef-".contains($0) }, "\(uid)")
            #expect(parts[2].first == "4", "version 4: \(uid)")
            #expect("89ab".contains(parts[3].first!), "RFC 4122 variant: \(uid)")
            // Foundation reads it back as the same UUID.
            #expect(UUID(uuidString: uid)?.uuidString.lowercased() == uid)
            seen.insert(uid)
        }
        #expect(seen.count == 10_000)
    }
}
