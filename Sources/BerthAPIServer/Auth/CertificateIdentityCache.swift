import Foundation
import Synchronization

/// Client certificates already checked against the cluster CA, by their DER bytes. A node sends
/// the same certificate on every request; parsing it and verifying the CA's signature each time
/// was a few percent of the server's CPU with a thousand simulated nodes. An entry is only
/// trusted inside the certificate's own validity window, and the table is bounded.
final class CertificateIdentityCache: Sendable {
    struct Entry {
        let caller: Caller
        let notValidBefore: Date
        let notValidAfter: Date
    }

    static let capacity = 4096
    private let entries = Mutex<[[UInt8]: Entry]>([:])

    func caller(for der: [UInt8], now: Date) -> Caller? {
        entries.withLock { entries in
            guard let entry = entries[der] else { return nil }
            guard entry.notValidBefore <= now, now <= entry.notValidAfter else {
                entries[der] = nil
                return nil
            }
            return entry.caller
        }
    }

    func remember(_ der: [UInt8], _ entry: Entry) {
        entries.withLock { entries in
            if entries.count >= Self.capacity { entries.removeAll(keepingCapacity: true) }
            entries[der] = entry
        }
    }
}
