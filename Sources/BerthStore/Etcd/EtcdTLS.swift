import AsyncHTTPClient
import BerthCore
import Foundation
import NIOSSL

/// Client TLS to etcd, as kube-apiserver's `--etcd-cafile`, `--etcd-certfile` and
/// `--etcd-keyfile`: the CA that signed etcd's serving certificate, and the client
/// certificate etcd asks for under `--client-cert-auth`.
public struct EtcdTLS: Sendable, Equatable {
    public var caFile: String?
    public var certFile: String?
    public var keyFile: String?

    public init(caFile: String? = nil, certFile: String? = nil, keyFile: String? = nil) {
        self.caFile = caFile
        self.certFile = certFile
        self.keyFile = keyFile
    }

    public var isEmpty: Bool { caFile == nil && certFile == nil && keyFile == nil }

    /// The same settings from a store URL's query: `etcd://h1:2379?cafile=…&certfile=…&keyfile=…`;
    /// flags given on the command line win.
    func merged(withQuery query: Substring) -> EtcdTLS {
        var result = self
        for item in query.split(separator: "&") {
            let parts = item.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2 else { continue }
            let value = parts[1].removingPercentEncoding ?? parts[1]
            switch parts[0] {
            case "cafile": result.caFile = result.caFile ?? value
            case "certfile": result.certFile = result.certFile ?? value
            case "keyfile": result.keyFile = result.keyFile ?? value
            default: break
            }
        }
        return result
    }

    func clientConfiguration() throws(BerthError) -> TLSConfiguration {
        guard (certFile == nil) == (keyFile == nil) else {
            throw BerthError(.badRequest, "failed to set up etcd TLS: --etcd-certfile and --etcd-keyfile go together")
        }
        var tls = TLSConfiguration.makeClientConfiguration()
        do {
            if let caFile { tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(caFile)) }
            if let certFile, let keyFile {
                tls.certificateChain = try NIOSSLCertificate.fromPEMFile(certFile).map { .certificate($0) }
                tls.privateKey = .privateKey(try NIOSSLPrivateKey(file: keyFile, format: .pem))
            }
        } catch {
            throw BerthError(.badRequest, "failed to set up etcd TLS: cannot read \(caFile ?? "") / \(certFile ?? "") / \(keyFile ?? ""): \(error)")
        }
        return tls
    }
}
