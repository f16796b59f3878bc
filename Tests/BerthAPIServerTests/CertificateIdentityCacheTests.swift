@testable import BerthAPIServer
import BerthTestSupport
import Foundation
import NIOEmbedded
import Testing

@Suite("verified client certificates", .blockingAllowed)
struct CertificateIdentityCacheTests {
    let start = Date(timeIntervalSince1970: 1_800_000_000)

    @Test func answersOnlyInsideTheCertificatesValidity() {
        let cache = CertificateIdentityCache()
        let der: [UInt8] = [1, 2, 3]
        cache.remember(der, .init(user: .node("n1"), notValidBefore: start, notValidAfter: start + 3600, serial: "01"))
        #expect(cache.user(for: der, now: start + 10) == UserInfo.node("n1"))
        #expect(cache.user(for: [1, 2, 4], now: start + 10) == nil)
        #expect(cache.user(for: der, now: start - 1) == nil)
        // Past its end the entry is gone for good: the next request is verified from scratch.
        cache.remember(der, .init(user: .node("n1"), notValidBefore: start, notValidAfter: start + 3600, serial: "01"))
        #expect(cache.user(for: der, now: start + 3601) == nil)
        #expect(cache.user(for: der, now: start + 10) == nil)
    }

    @Test func staysBounded() {
        let cache = CertificateIdentityCache()
        for index in 0...CertificateIdentityCache.capacity {
            cache.remember(Array(String(index).utf8), .init(user: .node("n\(index)"), notValidBefore: start, notValidAfter: start + 60, serial: "01"))
        }
        #expect(cache.user(for: Array("0".utf8), now: start) == nil)
        #expect(cache.user(for: Array(String(CertificateIdentityCache.capacity).utf8), now: start) == UserInfo.node("n\(CertificateIdentityCache.capacity)"))
    }

    @Test func aConnectionKeepsItsIdentityUntilItCloses() async throws {
        let cache = CertificateIdentityCache()
        let first = EmbeddedChannel(), second = EmbeddedChannel()
        cache.remember(first, .init(user: .node("n1"), notValidBefore: start, notValidAfter: start + 3600, serial: "01"))
        #expect(cache.entry(for: first, now: start + 10)?.user == UserInfo.node("n1"))
        #expect(cache.entry(for: second, now: start + 10) == nil)
        #expect(cache.entry(for: first, now: start + 3601) == nil)
        try await first.close()
        first.embeddedEventLoop.run()
        #expect(cache.entry(for: first, now: start + 10) == nil)
    }
}
