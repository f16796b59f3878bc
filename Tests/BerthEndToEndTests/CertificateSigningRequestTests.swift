import BerthCore
import BerthTestSupport
import Foundation
import Testing

/// The CSR API with kubectl 1.33 and openssl: a request approved with `kubectl certificate
/// approve` gets a certificate from the cluster CA that authenticates its user; deleting the CSR
/// revokes it (401); a denied one gets none; a request for system:masters fails; a bad request
/// is 422; a user without `approve` on the signer is refused.
@Suite("CertificateSigningRequests", .serialized, .blockingAllowed)
struct CertificateSigningRequestTests {
    @Test func approveDenyRevoke() async throws {
        let server = BerthServerProcess(role: "server")
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("berth-csr-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer {
            server.cleanUp()
            try? FileManager.default.removeItem(atPath: directory)
        }
        try await server.start()
        func kubectl(_ arguments: [String], input: String? = nil) throws -> CommandResult {
            try runCommand(kubectlPath, ["--kubeconfig", server.kubeconfigPath] + arguments, input: input)
        }
        /// A key and a CSR made by openssl for this subject; the CSR object's YAML.
        func request(_ name: String, subject: String) throws -> String {
            let made = try runCommand("/usr/bin/openssl", ["req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                                                           "-keyout", "\(directory)/\(name).key", "-out", "\(directory)/\(name).csr", "-subj", subject])
            #expect(made.status == 0, "\(made.error)")
            let csr = try Data(contentsOf: URL(fileURLWithPath: "\(directory)/\(name).csr")).base64EncodedString()
            return """
                apiVersion: certificates.k8s.io/v1
                kind: CertificateSigningRequest
                metadata: {name: \(name)}
                spec: {request: \(csr), signerName: kubernetes.io/kube-apiserver-client, expirationSeconds: 3600, usages: [client auth]}
                """
        }
        #expect(try kubectl(["apply", "-f", "-"], input: try request("carol", subject: "/CN=carol/O=qa")).status == 0)
        let pending = try kubectl(["get", "csr", "carol"])
        #expect(pending.output.contains("Pending") && pending.output.contains("kubernetes.io/kube-apiserver-client") && pending.output.contains("admin"),
                "\(pending.output)")
        let approved = try kubectl(["certificate", "approve", "carol"])
        #expect(approved.status == 0, "\(approved.error)")
        #expect(try kubectl(["get", "csr", "carol"]).output.contains("Approved,Issued"))
        let certificate = try kubectl(["get", "csr", "carol", "-o", "jsonpath={.status.certificate}"]).output
        let pem = try #require(Data(base64Encoded: certificate))
        try pem.write(to: URL(fileURLWithPath: "\(directory)/carol.crt"))

        // A kubeconfig with carol's key and certificate: she is carol in qa.
        let carolConfig = "\(directory)/carol.kubeconfig"
        let address = try kubectl(["config", "view", "--raw", "-o", "jsonpath={.clusters[0].cluster.server}"]).output
        let ca = try kubectl(["config", "view", "--raw", "-o", "jsonpath={.clusters[0].cluster.certificate-authority-data}"]).output
        try Data(base64Encoded: ca)!.write(to: URL(fileURLWithPath: "\(directory)/ca.crt"))
        for arguments in [["set-cluster", "berth", "--server", address, "--certificate-authority", "\(directory)/ca.crt", "--embed-certs"],
                          ["set-credentials", "carol", "--client-certificate", "\(directory)/carol.crt", "--client-key", "\(directory)/carol.key", "--embed-certs"],
                          ["set-context", "carol", "--cluster", "berth", "--user", "carol"], ["use-context", "carol"]] {
            #expect(try runCommand(kubectlPath, ["--kubeconfig", carolConfig, "config"] + arguments).status == 0)
        }
        let whoami = try runCommand(kubectlPath, ["--kubeconfig", carolConfig, "auth", "whoami", "-o", "jsonpath={.status.userInfo.username} {.status.userInfo.groups}"])
        #expect(whoami.output == #"carol ["qa","system:authenticated"]"#, "\(whoami.output) \(whoami.error)")
        // Approving needs approve on the signer: carol (no rights) is refused.
        #expect(try kubectl(["apply", "-f", "-"], input: try request("dave", subject: "/CN=dave")).status == 0)
        let notHers = try runCommand(kubectlPath, ["--kubeconfig", carolConfig, "certificate", "approve", "dave"])
        #expect(notHers.status != 0)

        // Deleting the CSR revokes the certificate.
        #expect(try kubectl(["delete", "csr", "carol"]).status == 0)
        let revoked = try runCommand(kubectlPath, ["--kubeconfig", carolConfig, "auth", "whoami"])
        #expect(revoked.status != 0 && revoked.error.contains("Unauthorized"), "\(revoked.output) \(revoked.error)")

        // Denied: no certificate.
        #expect(try kubectl(["certificate", "deny", "dave"]).status == 0)
        #expect(try kubectl(["get", "csr", "dave", "-o", "jsonpath={.status.certificate}"]).output == "")
        #expect(try kubectl(["get", "csr", "dave"]).output.contains("Denied"))
        #expect(try kubectl(["certificate", "approve", "dave"]).status != 0, "approved after denied")

        // system:masters is never signed by this signer.
        #expect(try kubectl(["apply", "-f", "-"], input: try request("root", subject: "/CN=root/O=system:masters")).status == 0)
        #expect(try kubectl(["certificate", "approve", "root"]).status == 0)
        #expect(try kubectl(["get", "csr", "root", "-o", "jsonpath={.status.certificate}"]).output == "")
        #expect(try kubectl(["get", "csr", "root", "-o", "jsonpath={.status.conditions[*].type}"]).output == "Approved Failed")

        // A request that is not a CSR is 422 naming the field.
        let bad = try kubectl(["apply", "-f", "-"], input: "apiVersion: certificates.k8s.io/v1\nkind: CertificateSigningRequest\nmetadata: {name: bad}\nspec: {request: \(Data("nope".utf8).base64EncodedString()), signerName: kubernetes.io/kube-apiserver-client, usages: [client auth]}\n")
        #expect(bad.status != 0 && bad.error.contains("spec.request"), "\(bad.error)")
    }
}
