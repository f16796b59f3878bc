import AsyncHTTPClient
import BerthCore
import Foundation
import HTTPTypes
import HummingbirdWSClient
import Logging
import NIOCore
import NIOSSL

extension APIClient {
    /// Streams a response body as it arrives (`pods/{name}/log?follow=true`).
    public func stream(_ path: String) async throws(BerthError) -> AsyncThrowingStream<[UInt8], any Error> {
        if let inProcess {
            let response = await sendInProcess(inProcess, method: "GET", path: path, body: nil, contentType: nil, accept: "*/*")
            if response.status >= 300 {
                let body = (try? await response.body.collect(upTo: 1 << 20)) ?? []
                _ = try Reply(status: response.status, body: body, warnings: []).checked()
            }
            let (stream, continuation) = AsyncThrowingStream<[UInt8], any Error>.makeStream()
            let body = response.body
            let task = Task {
                do {
                    while let chunk = try await body.pipe.next() { continuation.yield(Array(chunk.readableBytesView)) }
                    continuation.finish()
                } catch {
                    continuation.finish(throwing: error)
                }
            }
            continuation.onTermination = { _ in task.cancel() }
            return stream
        }
        var request = HTTPClientRequest(url: config.server + path)
        if let token = config.token { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
        let response: HTTPClientResponse
        do {
            response = try await http.execute(request, deadline: .distantFuture)
        } catch {
            throw BerthError(.unavailable, "failed to reach \(config.server): \(error)")
        }
        if response.status.code >= 300 {
            let body = (try? await response.body.collect(upTo: 1 << 20)).map { Array($0.readableBytesView) } ?? []
            _ = try Reply(status: Int(response.status.code), body: body, warnings: []).checked()
        }
        let (stream, continuation) = AsyncThrowingStream<[UInt8], any Error>.makeStream()
        let task = Task {
            do {
                for try await chunk in response.body { continuation.yield(Array(chunk.readableBytesView)) }
                continuation.finish()
            } catch {
                continuation.finish(throwing: error)
            }
        }
        continuation.onTermination = { _ in task.cancel() }
        return stream
    }

    /// Runs a command in a container over the v5 channel protocol; `input` feeds stdin (and
    /// terminal resizes), `output` receives stdout (1) and stderr (2). Returns the exit code.
    public func exec(namespace: String, pod: String, container: String?, command: [String], stdin: Bool, tty: Bool,
                     input: AsyncStream<ExecInput>, output: @escaping @Sendable (UInt8, [UInt8]) -> Void) async throws(BerthError) -> Int32 {
        let path = "/api/v1/namespaces/\(namespace)/pods/\(pod)/exec?"
            + ExecChannel.query(command: command, container: container, stdin: stdin, stdout: true, stderr: !tty, tty: tty)
        let url = config.server.replacingOccurrences(of: "https://", with: "wss://").replacingOccurrences(of: "http://", with: "ws://") + path
        var headers = HTTPFields()
        if let token = config.token { headers[.authorization] = "Bearer \(token)" }
        var tls = TLSConfiguration.makeClientConfiguration()
        if config.insecureSkipTLSVerify {
            tls.certificateVerification = .none
        } else if let ca = config.certificateAuthority, let roots = try? NIOSSLCertificate.fromPEMBytes(Array(ca.utf8)) {
            tls.trustRoots = .certificates(roots)
        }
        // NIOSSL cannot put an IP address in SNI; the cluster certificate also names "berth",
        // and trust is anchored in the cluster CA either way.
        let host = URL(string: config.server)?.host ?? ""
        let sni = host.allSatisfy({ $0.isNumber || $0 == "." || $0 == ":" }) ? "berth" : nil
        do {
            return try await ExecChannel.run(url: url, headers: headers, tls: tls, sniHostname: sni, input: input, output: output)
        } catch {
            switch error {
            case .upgradeRefused:
                // The server said why in a normal response (pod not found, container not running…).
                _ = try await request(.GET, path).checked()
                throw BerthError(.unavailable, "exec failed: the server refused the WebSocket upgrade")
            case .failed(let reason):
                throw BerthError(.unavailable, "exec failed: \(reason)")
            }
        }
    }
}

