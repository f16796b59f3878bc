import BerthCore
import BerthStore
import BerthTestSupport
import Foundation
import Testing

/// etcd over TLS with client certificates (`--client-cert-auth`), reached through the
/// `EtcdTLS` settings or the same in the store URL's query.
@Suite("etcd over TLS", .serialized, .blockingAllowed)
struct EtcdTLSTests {
    /// A CA, a serving certificate for 127.0.0.1 and a client certificate, made with openssl.
    struct Certificates {
        let directory: String
        var ca: String { directory + "/ca.crt" }
        var serverCert: String { directory + "/server.crt" }
        var serverKey: String { directory + "/server.key" }
        var clientCert: String { directory + "/client.crt" }
        var clientKey: String { directory + "/client.key" }

        static func make(in directory: String) throws -> Certificates {
            let certificates = Certificates(directory: directory)
            let extensions = directory + "/san.ext"
            try "subjectAltName=IP:127.0.0.1\n".write(toFile: extensions, atomically: true, encoding: .utf8)
            let steps: [[String]] = [
                ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2", "-subj", "/CN=test-etcd-ca",
                 "-keyout", directory + "/ca.key", "-out", certificates.ca],
                ["req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-subj", "/CN=127.0.0.1",
                 "-keyout", certificates.serverKey, "-out", directory + "/server.csr"],
                ["x509", "-req", "-in", directory + "/server.csr", "-CA", certificates.ca, "-CAkey", directory + "/ca.key", "-CAcreateserial",
                 "-days", "2", "-extfile", extensions, "-out", certificates.serverCert],
                ["req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-subj", "/CN=berth",
                 "-keyout", certificates.clientKey, "-out", directory + "/client.csr"],
                ["x509", "-req", "-in", directory + "/client.csr", "-CA", certificates.ca, "-CAkey", directory + "/ca.key", "-CAcreateserial",
                 "-days", "2", "-out", certificates.clientCert],
            ]
            for step in steps {
                let result = try runCommand("/usr/bin/openssl", step)
                guard result.status == 0 else { throw BerthError(.internalError, "openssl \(step[0]) failed: \(result.error)") }
            }
            return certificates
        }
    }

    @Test func aStoreOverTLSWithAClientCertificateWorksAndWithoutOneIsRefused() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("berth-etcd-tls-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let certificates = try Certificates.make(in: directory)
        let clientPort = FreePort.next(), peerPort = FreePort.next()
        let endpoint = "https://127.0.0.1:\(clientPort)"
        let etcd = try Process.startQuietly("/usr/bin/etcd", [
            "--data-dir", directory + "/etcd", "--name", "tls",
            "--listen-client-urls", endpoint, "--advertise-client-urls", endpoint,
            "--cert-file", certificates.serverCert, "--key-file", certificates.serverKey,
            "--client-cert-auth", "--trusted-ca-file", certificates.ca,
            "--listen-peer-urls", "http://127.0.0.1:\(peerPort)", "--initial-advertise-peer-urls", "http://127.0.0.1:\(peerPort)",
            "--initial-cluster", "tls=http://127.0.0.1:\(peerPort)",
        ])
        defer { etcd.killAndWait() }
        let url = "etcd://127.0.0.1:\(clientPort)"
        let store = try EtcdStore(url: url, tls: EtcdTLS(caFile: certificates.ca, certFile: certificates.clientCert, keyFile: certificates.clientKey))
        // The same settings in the URL's query.
        let fromURL = try EtcdStore(url: url + "?cafile=\(certificates.ca)&certfile=\(certificates.clientCert)&keyfile=\(certificates.clientKey)")
        // Trusting the CA but without a client certificate.
        let anonymous = try EtcdStore(url: url, tls: EtcdTLS(caFile: certificates.ca))
        // Each store's HTTP client must be shut down, also when a step fails.
        func closeAll() async {
            await store.close()
            await fromURL.close()
            await anonymous.close()
        }
        do {
            // etcd starting next to a whole test run can take a while to answer.
            let revision = try await waitFor("etcd over TLS answers", timeout: 60) { () -> Int64? in
                guard let current = try? await store.currentRevision(), current > 0 else { return nil }
                return current
            }
            #expect(revision > 0)
            let put = try await store.txn(if: [], then: [.put(key: "/registry/tls/a", value: Array("hello".utf8), lease: 0)], else: [])
            #expect(put.succeeded)
            let read = try await fromURL.range(from: "/registry/tls/a", to: nil, limit: 0, revision: 0)
            #expect(read.kvs.first?.value == Array("hello".utf8))
            // Without a client certificate: refused by etcd, said clearly.
            let error = await #expect(throws: BerthError.self) { _ = try await anonymous.currentRevision() }
            #expect(error?.code == .unavailable, "\(String(describing: error))")
            // A half-given client identity is a usage error, before any connection.
            #expect(throws: BerthError.self) { _ = try EtcdStore(url: url, tls: EtcdTLS(certFile: certificates.clientCert)) }
        } catch {
            await closeAll()
            throw error
        }
        await closeAll()
    }
}
