import ArgumentParser
import BerthClient
import BerthCore
import Foundation

/// Options every client verb shares.
struct ClientOptions: ParsableArguments {
    @Option(help: "Path to the kubeconfig (default: $KUBECONFIG, /var/lib/berth/admin.kubeconfig, ~/.kube/config).")
    var kubeconfig: String?

    @Option(name: [.short, .long], help: "Namespace (default: the kubeconfig's, else \"default\").")
    var namespace: String?

    func client() throws -> APIClient {
        try APIClient(config: Kubeconfig.load(path: Kubeconfig.defaultPath(explicit: kubeconfig)))
    }

    /// Runs `body` with a client that is shut down afterwards, also when `body` throws.
    func withClient<T>(_ body: (APIClient) async throws -> T) async throws -> T {
        let api = try client()
        do {
            let result = try await body(api)
            await api.shutdown()
            return result
        } catch {
            await api.shutdown()
            throw error
        }
    }

    func effectiveNamespace(_ client: APIClient) -> String {
        namespace ?? client.config.namespace ?? "default"
    }

    func resolve(_ client: APIClient, _ kind: String) throws -> ResourceDescriptor {
        guard let descriptor = client.registry.resolve(kind) else {
            throw BerthError(.notFound, "the server doesn't have a resource type \"\(kind)\"")
        }
        return descriptor
    }
}

/// Reports a `BerthError` the way kubectl does and exits non-zero. Commands that work on
/// this host (`berth image`) say `Error:`, not `Error from server`: no server was asked.
func reportingErrors(local: Bool = false, _ body: () async throws -> Void) async throws {
    do {
        try await body()
    } catch let error as BerthError {
        let prefix = local ? "Error" : "Error from server (\(error.code.rawValue))"
        FileHandle.standardError.write(Data("\(prefix): \(error.message)\n".utf8))
        throw ExitCode(1)
    }
}

extension ResourceDescriptor {
    /// `deployment.apps`, `pod`: the type prefix kubectl prints before names.
    var printedType: String { group.isEmpty ? singular : "\(singular).\(group)" }
}

/// Writes to stdout without Foundation's FileHandle, which traps on a closed pipe (`| head`).
func writeOutput(_ bytes: [UInt8], to fd: Int32 = 1) {
    var offset = 0
    while offset < bytes.count {
        let written = bytes[offset...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        if written <= 0 { if errno == EINTR { continue }; Foundation.exit(0) }
        offset += written
    }
}

func printError(_ text: String) {
    FileHandle.standardError.write(Data((text + "\n").utf8))
}

/// Reads manifests from files, directories (`.yaml`, `.yml`, `.json`) or `-` (stdin), expanding `List`s.
func readManifests(_ sources: [String]) throws -> [JSONValue] {
    var documents: [JSONValue] = []
    for source in sources {
        var texts: [String] = []
        if source == "-" {
            texts.append(String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self))
        } else {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: source, isDirectory: &isDirectory) else {
                throw BerthError(.notFound, "the path \"\(source)\" does not exist")
            }
            if isDirectory.boolValue {
                let entries = try FileManager.default.contentsOfDirectory(atPath: source).sorted()
                for entry in entries where [".yaml", ".yml", ".json"].contains(where: entry.hasSuffix) {
                    texts.append(try String(contentsOfFile: source + "/" + entry, encoding: .utf8))
                }
            } else {
                texts.append(try String(contentsOfFile: source, encoding: .utf8))
            }
        }
        for text in texts {
            for document in try YAMLConversion.parseDocuments(text) {
                if document["kind"]?.stringValue == "List" || (document["kind"]?.stringValue ?? "").hasSuffix("List") && document["items"] != nil {
                    documents.append(contentsOf: document["items"]?.arrayValue ?? [])
                } else {
                    documents.append(document)
                }
            }
        }
    }
    return documents
}
