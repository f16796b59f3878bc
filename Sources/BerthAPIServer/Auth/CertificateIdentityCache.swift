import Foundation
import NIOCore
import Synchronization

/// Client certificates already checked against the cluster CA, by their DER bytes. A node sends
/// the same certificate on every request; parsing it and verifying the CA's signature each time
/// was a few percent of the server's CPU with a thousand simulated nodes. An entry is only
/// trusted inside the certificate's own validity window, and the table is bounded.
final class CertificateIdentityCache: Sendable {
    struct Entry {
        let user: UserInfo
        let notValidBefore: Date
        let notValidAfter: Date
        /// The certificate's serial number, hex (revocation).
        let serial: String
    }

    static let capacity = 4096
    private let entries = Mutex<[[UInt8]: Entry]>([:])

    func user(for der: [UInt8], now: Date) -> UserInfo? { entry(for: der, now: now)?.user }

    func entry(for der: [UInt8], now: Date) -> Entry? {
        entries.withLock { entries in
            guard let entry = entries[der] else { return nil }
            guard entry.notValidBefore <= now, now <= entry.notValidAfter else {
                entries[der] = nil
                return nil
            }
            return entry
        }
    }

    func remember(_ der: [UInt8], _ entry: Entry) {
        entries.withLock { entries in
            if entries.count >= Self.capacity { entries.removeAll(keepingCapacity: true) }
            entries[der] = entry
        }
    }

    /// The identity a connection's certificate proved, while the connection lasts: a TLS peer
    /// cannot change its certificate, and asking NIOSSL for it means a hop onto the channel's
    /// event loop and a DER encoding on every request (~1.3 % of the server in the rollout).
    private let connections = Mutex<[ObjectIdentifier: Entry]>([:])

    func entry(for channel: any Channel, now: Date) -> Entry? {
        connections.withLock { connections in
            guard let entry = connections[ObjectIdentifier(channel)], entry.notValidBefore <= now, now <= entry.notValidAfter else { return nil }
            return entry
        }
    }

    func remember(_ channel: any Channel, _ entry: Entry) {
        let key = ObjectIdentifier(channel)
        let fresh = connections.withLock { connections in
            defer { connections[key] = entry }
            return connections[key] == nil
        }
        // Forgotten when the connection closes, before the channel object can be freed and its
        // identifier reused.
        if fresh { channel.closeFuture.whenComplete { [weak self] _ in self?.connections.withLock { _ = $0.removeValue(forKey: key) } } }
    }
}
