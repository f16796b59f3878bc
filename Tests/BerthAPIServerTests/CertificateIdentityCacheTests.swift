@testable import BerthAPIServer
import Foundation
import NIOEmbedded
import Testing

@Suite("verified client certificates")
struct CertificateIdentityCacheTests {
    let start = Date(timeIntervalSince1970: 1_800_000_000)

    @Test func answersOnlyInsideTheCertificatesValidity() {
        let cache = CertificateIdentityCache()
        let der: [UInt8] = [1, 2, 3]
        cache.remember(der, .init(caller: .node("n1"), notValidBefore: start, notValidAfter: start + 3600))
        #expect(cache.caller(for: der, now: start + 10) == .node("n1"))
        #expect(cache.caller(for: [1, 2, 4], now: start + 10) == nil)
        #expect(cache.caller(for: der, now: start - 1) == nil)
        // Past its end the entry is gone for good: the next request is verified from scratch.
        cache.remember(der, .init(caller: .node("n1"), notValidBefore: start, notValidAfter: start + 3600))
        #expect(cache.caller(for: der, now: start + 3601) == nil)
        #expect(cache.caller(for: der, now: start + 10) == nil)
    }

    @Test func staysBounded() {
        let cache = CertificateIdentityCache()
        for index in 0...CertificateIdentityCache.capacity {
            cache.remember(Array(String(index).utf8), .init(caller: .node("n\(index)"), notValidBefore: start, notValidAfter: start + 60))
        }
        #expect(cache.caller(for: Array("0".utf8), now: start) == nil)
        #expect(cache.caller(for: Array(String(CertificateIdentityCache.capacity).utf8), now: start) == .node("n\(CertificateIdentityCache.capacity)"))
    }

    @Test func aConnectionKeepsItsIdentityUntilItCloses() async throws {
        let cache = CertificateIdentityCache()
        let first = EmbeddedChannel(), second = EmbeddedChannel()
        cache.remember(first, .init(caller: .node("n1"), notValidBefore: start, notValidAfter: start + 3600))
        #expect(cache.caller(for: first, now: start + 10) == .node("n1"))
        #expect(cache.caller(for: second, now: start + 10) == nil)
        #expect(cache.caller(for: first, now: start + 3601) == nil)
        try await first.close()
        first.embeddedEventLoop.run()
        #expect(cache.caller(for: first, now: start + 10) == nil)
    }
}
