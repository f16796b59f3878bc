import BerthCore
import BerthImages
import BerthTestSupport
import Foundation
import Testing

/// A `berth server` with its registry, and the clients the registry tests drive it with:
/// curl for the raw protocol, skopeo, podman and kubectl. Everything it makes lives under one
/// temporary directory, removed by `cleanUp` with the server.
final class RegistryFixture: @unchecked Sendable {
    let server: BerthServerProcess
    let work: String
    private(set) var token = ""

    init(role: String = "server", extraArguments: [String] = []) {
        server = BerthServerProcess(role: role, extraArguments: extraArguments)
        work = FileManager.default.temporaryDirectory.appendingPathComponent("berth-registry-e2e-\(UUID().uuidString.lowercased())").path
    }

    func start() async throws {
        try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
        try await server.start()
        token = try String(contentsOfFile: server.dataDirectory + "/admin.token", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    func cleanUp() {
        server.cleanUp()
        try? FileManager.default.removeItem(atPath: work)
    }

    var host: String { "127.0.0.1:\(server.port)" }

    enum Credential {
        case admin, none
        case bearer(String)
        case basic(String)
    }

    struct Reply {
        var code: Int
        var headers: [String: String]
        var body: [UInt8]
        var json: JSONValue? { try? JSONParser.parse(body) }
        var errorCode: String? { json?["errors"]?.arrayValue?.first?["code"]?.stringValue }
    }

    /// One HTTP request with curl; header names in the reply are lower-cased.
    func curl(_ method: String, _ path: String, as credential: Credential = .admin, headers: [String] = [], body: [UInt8]? = nil) throws -> Reply {
        let id = UUID().uuidString
        let headerFile = "\(work)/h-\(id)", bodyFile = "\(work)/b-\(id)", inputFile = "\(work)/i-\(id)"
        defer { for file in [headerFile, bodyFile, inputFile] { try? FileManager.default.removeItem(atPath: file) } }
        var arguments = ["-s", "-X", method, "--cacert", server.dataDirectory + "/ca.crt", "-D", headerFile, "-o", bodyFile, "-w", "%{http_code}"]
        if method == "HEAD" { arguments = ["-s", "-I", "--cacert", server.dataDirectory + "/ca.crt", "-D", headerFile, "-o", bodyFile, "-w", "%{http_code}"] }
        switch credential {
        case .admin: arguments += ["-H", "Authorization: Bearer \(token)"]
        case .bearer(let value): arguments += ["-H", "Authorization: Bearer \(value)"]
        case .basic(let value): arguments += ["-u", "anyone:\(value)"]
        case .none: break
        }
        for header in headers { arguments += ["-H", header] }
        if let body {
            _ = FileManager.default.createFile(atPath: inputFile, contents: Data(body))
            arguments += ["--data-binary", "@\(inputFile)"]
        }
        let result = try runCommand("/usr/bin/curl", arguments + ["https://\(host)\(path)"], timeout: 120)
        var fields: [String: String] = [:]
        for line in ((try? String(contentsOfFile: headerFile, encoding: .utf8)) ?? "").split(separator: "\r\n") {
            guard let colon = line.firstIndex(of: ":") else { continue }
            fields[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        let bytes = (try? Data(contentsOf: URL(fileURLWithPath: bodyFile))).map { Array($0) } ?? []
        return Reply(code: Int(result.output) ?? 0, headers: fields, body: bytes)
    }

    /// An OCI layout of generated images (`bench/lib/oci_layout.py`).
    func layout(_ name: String, layers: Int = 2, layerBytes: Int = 200_000, seed: Int = 1, images: Int = 0) throws -> String {
        let path = "\(work)/\(name)"
        let script = BerthServerProcess.packageRoot.appendingPathComponent("bench/lib/oci_layout.py").path
        let result = try runCommand("/usr/bin/python3", [script, path, "--layers", "\(layers)", "--layer-bytes", "\(layerBytes)", "--seed", "\(seed)", "--images", "\(images)"])
        guard result.status == 0 else { throw BerthError(.internalError, "oci_layout.py: \(result.error)") }
        return path
    }

    /// skopeo, waited for on a thread of its own (see `BlockingThreads`).
    func skopeo(_ arguments: [String]) async throws -> CommandResult {
        try await BlockingThreads.shared.result { try runCommand("/usr/bin/skopeo", ["--registries-conf", "/dev/null"] + arguments, timeout: 180) }
    }

    /// skopeo copy with the server's CA trusted (a directory holding ca.crt).
    func copy(_ source: String, _ destination: String, sourceCredential: String? = nil, destinationCredential: String? = nil,
              extra: [String] = []) async throws -> CommandResult {
        let certificates = "\(work)/certs"
        if !FileManager.default.fileExists(atPath: certificates + "/ca.crt") {
            try FileManager.default.createDirectory(atPath: certificates, withIntermediateDirectories: true)
            try FileManager.default.copyItem(atPath: server.dataDirectory + "/ca.crt", toPath: certificates + "/ca.crt")
        }
        var arguments = ["copy", "--src-cert-dir", certificates, "--dest-cert-dir", certificates] + extra
        arguments += sourceCredential.map { ["--src-creds", "robot:\($0)"] } ?? ["--src-no-creds"]
        arguments += destinationCredential.map { ["--dest-creds", "robot:\($0)"] } ?? ["--dest-no-creds"]
        return try await skopeo(arguments + [source, destination])
    }

    func kubectl(_ arguments: [String], input: String? = nil) throws -> CommandResult {
        try runCommand(kubectlPath, ["--kubeconfig", server.kubeconfigPath] + arguments, input: input)
    }

    /// Blob files of an OCI layout, by name.
    static func blobs(_ layout: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: layout + "/blobs/sha256")) ?? []).sorted()
    }

    static func sha256(_ bytes: [UInt8]) -> String { Digest.sha256(of: bytes).description }
}
