import BerthCore
import BerthTestSupport
import Foundation
import Testing

/// Client certificates against a live `berth server`, made with openssl and sent with curl: one
/// the cluster CA signed is a node; one from another CA — even one whose issuer name copies the
/// cluster CA's — is answered with a 401 Status (not a failed handshake) and logged.
@Suite("Client certificates", .blockingAllowed)
struct ClientCertificateTests {
    @Test func foreignCertificatesGetA401() async throws {
        let server = BerthServerProcess(role: "server")
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("berth-certs-\(UUID().uuidString)").path
        defer {
            server.cleanUp()
            try? FileManager.default.removeItem(atPath: directory)
        }
        try await server.start()
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let url = "https://127.0.0.1:\(server.port)/api/v1/nodes/n1"
        let ca = server.dataDirectory + "/ca.crt"
        func openssl(_ arguments: [String]) throws {
            let result = try runCommand("/usr/bin/openssl", arguments)
            try #require(result.status == 0, "openssl \(arguments.joined(separator: " ")): \(result.error)")
        }
        func newKey(_ name: String) throws {
            try openssl(["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-out", "\(directory)/\(name).key"])
        }
        func request(_ name: String) throws -> (code: Int, body: JSONValue?) {
            let result = try runCommand("/usr/bin/curl", ["-s", "-w", "\n%{http_code}", "--cacert", ca, "--cert", "\(directory)/\(name).crt",
                                                          "--key", "\(directory)/\(name).key", url])
            let lines = result.output.split(separator: "\n", omittingEmptySubsequences: false)
            let body = lines.dropLast().joined(separator: "\n")
            return (Int(lines.last ?? "") ?? 0, try? JSONParser.parse(Array(body.utf8)))
        }
        let subject = "/O=system:nodes/CN=system:node:n1"

        // Signed by the cluster CA: the node may read its own Node (absent here: 404, not 401/403).
        try newKey("node")
        try openssl(["req", "-new", "-key", "\(directory)/node.key", "-subj", subject, "-out", "\(directory)/node.csr"])
        try openssl(["x509", "-req", "-in", "\(directory)/node.csr", "-CA", ca, "-CAkey", server.dataDirectory + "/ca.key",
                     "-CAcreateserial", "-days", "1", "-out", "\(directory)/node.crt"])
        #expect(try request("node").code == 404)

        // Self-signed with the node's name.
        try newKey("self")
        try openssl(["req", "-x509", "-key", "\(directory)/self.key", "-subj", subject, "-days", "1", "-out", "\(directory)/self.crt"])
        let selfSigned = try request("self")
        #expect(selfSigned.code == 401)
        #expect(selfSigned.body?["kind"] == "Status" && selfSigned.body?["reason"] == "Unauthorized")

        // Another CA that copies the cluster CA's name: the issuer matches, the signature does not.
        let caSubject = try runCommand("/usr/bin/openssl", ["x509", "-in", ca, "-noout", "-subject", "-nameopt", "compat"]).output
            .trimmingCharacters(in: .whitespacesAndNewlines).replacingOccurrences(of: "subject=", with: "")
        try newKey("impostor-ca")
        try openssl(["req", "-x509", "-key", "\(directory)/impostor-ca.key", "-subj", caSubject, "-days", "1", "-out", "\(directory)/impostor-ca.crt"])
        try newKey("forged")
        try openssl(["req", "-new", "-key", "\(directory)/forged.key", "-subj", subject, "-out", "\(directory)/forged.csr"])
        try openssl(["x509", "-req", "-in", "\(directory)/forged.csr", "-CA", "\(directory)/impostor-ca.crt", "-CAkey", "\(directory)/impostor-ca.key",
                     "-CAcreateserial", "-days", "1", "-out", "\(directory)/forged.crt"])
        let issuer = try runCommand("/usr/bin/openssl", ["x509", "-in", "\(directory)/forged.crt", "-noout", "-issuer", "-nameopt", "compat"]).output
        #expect(issuer.contains(caSubject), "the forged certificate names the cluster CA as its issuer: \(issuer) / \(caSubject)")
        let forged = try request("forged")
        #expect(forged.code == 401)
        #expect(forged.body?["code"] == 401)

        let log = (try? String(contentsOfFile: server.dataDirectory + ".log", encoding: .utf8)) ?? ""
        #expect(log.components(separatedBy: "refused a client certificate not issued by the cluster CA").count - 1 == 2, "\(log)")
    }
}
