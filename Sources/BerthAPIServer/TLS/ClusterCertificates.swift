import BerthCore
import Crypto
import Foundation
import SwiftASN1
import X509

/// The cluster CA and the API server's serving certificate, generated on first start and
/// kept in the data directory (`ca.crt`, `ca.key`, `apiserver.crt`, `apiserver.key`).
public struct ClusterCertificates: Sendable {
    public let caCertificatePEM: String
    public let caKeyPEM: String
    public let serverCertificatePEM: String
    public let serverKeyPEM: String

    /// Loads the CA from `directory` or creates it, then issues a fresh serving certificate
    /// whose names cover `hosts` (so a changed `--listen` address still verifies).
    public static func loadOrCreate(directory: String, hosts: [String]) throws(BerthError) -> ClusterCertificates {
        let caCertPath = directory + "/ca.crt"
        let caKeyPath = directory + "/ca.key"
        do {
            let caKey: P256.Signing.PrivateKey
            let caCertificate: Certificate
            if FileManager.default.fileExists(atPath: caCertPath), FileManager.default.fileExists(atPath: caKeyPath) {
                caKey = try P256.Signing.PrivateKey(pemRepresentation: try String(contentsOfFile: caKeyPath, encoding: .utf8))
                caCertificate = try Certificate(pemEncoded: try String(contentsOfFile: caCertPath, encoding: .utf8))
            } else {
                caKey = P256.Signing.PrivateKey()
                caCertificate = try makeCA(key: caKey)
                try writeSecret(caKey.pemRepresentation, to: caKeyPath)
                try caCertificate.serializeAsPEM().pemString.write(toFile: caCertPath, atomically: true, encoding: .utf8)
            }
            let serverKey = P256.Signing.PrivateKey()
            let serverCertificate = try makeServing(key: serverKey, hosts: hosts, caKey: caKey, ca: caCertificate)
            let result = ClusterCertificates(
                caCertificatePEM: try caCertificate.serializeAsPEM().pemString, caKeyPEM: caKey.pemRepresentation,
                serverCertificatePEM: try serverCertificate.serializeAsPEM().pemString, serverKeyPEM: serverKey.pemRepresentation)
            try writeSecret(result.serverKeyPEM, to: directory + "/apiserver.key")
            try result.serverCertificatePEM.write(toFile: directory + "/apiserver.crt", atomically: true, encoding: .utf8)
            return result
        } catch let error as BerthError {
            throw error
        } catch {
            throw BerthError(.internalError, "failed to prepare cluster certificates: \(error)")
        }
    }

    static func writeSecret(_ text: String, to path: String) throws {
        FileManager.default.createFile(atPath: path, contents: Data(text.utf8), attributes: [.posixPermissions: 0o600])
    }

    static func makeCA(key: P256.Signing.PrivateKey) throws -> Certificate {
        let name = try DistinguishedName {
            OrganizationName("berth")
            CommonName("berth-ca")
        }
        let now = Date()
        return try Certificate(
            version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: .init(key.publicKey),
            notValidBefore: now.addingTimeInterval(-3600), notValidAfter: now.addingTimeInterval(10 * 365 * 86400),
            issuer: name, subject: name, signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.isCertificateAuthority(maxPathLength: nil))
                Critical(KeyUsage(digitalSignature: true, keyCertSign: true, cRLSign: true))
            },
            issuerPrivateKey: .init(key))
    }

    static func makeServing(key: P256.Signing.PrivateKey, hosts: [String], caKey: P256.Signing.PrivateKey, ca: Certificate) throws -> Certificate {
        var names: [GeneralName] = [.dnsName("localhost"), .dnsName("berth"), .ipAddress(ASN1OctetString(contentBytes: [127, 0, 0, 1]))]
        for host in hosts where host != "localhost" && host != "127.0.0.1" && !host.isEmpty {
            if let address = IPv4.parse(host) {
                let bytes: [UInt8] = [UInt8(address >> 24), UInt8((address >> 16) & 0xFF), UInt8((address >> 8) & 0xFF), UInt8(address & 0xFF)]
                names.append(.ipAddress(ASN1OctetString(contentBytes: ArraySlice(bytes))))
            } else {
                names.append(.dnsName(host))
            }
        }
        let subject = try DistinguishedName { CommonName("berth-apiserver") }
        let now = Date()
        return try Certificate(
            version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: .init(key.publicKey),
            notValidBefore: now.addingTimeInterval(-3600), notValidAfter: now.addingTimeInterval(365 * 86400),
            issuer: ca.subject, subject: subject, signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.notCertificateAuthority)
                Critical(KeyUsage(digitalSignature: true, keyEncipherment: true))
                try ExtendedKeyUsage([.serverAuth, .clientAuth])
                SubjectAlternativeNames(names)
            },
            issuerPrivateKey: .init(caKey))
    }
}

extension ClusterCertificates {
    /// When the cluster CA and the serving certificate expire (for the expiry alert).
    public var expirations: [String: Date] {
        var result: [String: Date] = [:]
        for (name, pem) in [("ca", caCertificatePEM), ("serving", serverCertificatePEM)] {
            if let certificate = try? Certificate(pemEncoded: pem) { result[name] = certificate.notValidAfter }
        }
        return result
    }
}
