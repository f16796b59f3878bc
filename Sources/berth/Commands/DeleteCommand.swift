import ArgumentParser
import BerthClient
import BerthCore
import Foundation

/// `berth delete KIND NAME…`, `-l SELECTOR`, `--all` or `-f FILE`.
struct DeleteCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "delete", abstract: "Delete objects by name, selector, or manifest.")

    @OptionGroup var options: ClientOptions

    @Argument(help: "The kind, then names (or use -f).")
    var arguments: [String] = []

    @Option(name: [.short, .customLong("filename")], help: "Delete what these manifests describe.")
    var files: [String] = []

    @Option(name: [.customShort("l"), .customLong("selector")], help: "Delete objects matching this label selector.")
    var selector: String?

    @Flag(help: "Delete every object of the kind in the namespace.")
    var all = false

    @Option(help: "Background, Foreground or Orphan.")
    var cascade = "background"

    func run() async throws {
        try await reportingErrors {
            let client = try options.client()
            defer { Task { await client.shutdown() } }
            var targets: [(ResourceDescriptor, String?, String)] = []
            if !files.isEmpty {
                for document in try readManifests(files) {
                    guard let descriptor = client.registry.resource(apiVersion: document["apiVersion"]?.stringValue ?? "", kind: document["kind"]?.stringValue ?? ""),
                          let name = document.value(at: ["metadata", "name"])?.stringValue else { continue }
                    let namespace = descriptor.namespaced ? (document.value(at: ["metadata", "namespace"])?.stringValue ?? options.effectiveNamespace(client)) : nil
                    targets.append((descriptor, namespace, name))
                }
            } else {
                guard let kind = arguments.first else { throw ValidationError("you must provide one or more resources by argument or filename") }
                let descriptor = try options.resolve(client, kind)
                let namespace = descriptor.namespaced ? options.effectiveNamespace(client) : nil
                var names = Array(arguments.dropFirst())
                if selector != nil || all {
                    let query = selector.map { "?labelSelector=" + GetCommand.escape($0) } ?? ""
                    let list = try await client.request(.GET, client.path(descriptor, namespace: namespace) + query).checked().json()
                    names += (list["items"]?.arrayValue ?? []).compactMap { $0.value(at: ["metadata", "name"])?.stringValue }
                    if names.isEmpty { printError("No resources found"); return }
                }
                guard !names.isEmpty else { throw ValidationError("resource(s) were provided, but no name was specified") }
                targets = names.map { (descriptor, namespace, $0) }
            }
            let policy = ["background": "Background", "foreground": "Foreground", "orphan": "Orphan"][cascade.lowercased()] ?? "Background"
            let body = JSONWriter.bytes(["kind": "DeleteOptions", "apiVersion": "v1", "propagationPolicy": .string(policy)])
            var failed = false
            for (descriptor, namespace, name) in targets {
                do {
                    _ = try await client.request(.DELETE, client.path(descriptor, namespace: namespace, name: name), body: body).checked()
                    print("\(descriptor.printedType) \"\(name)\" deleted")
                } catch let error as BerthError {
                    printError("Error from server (\(error.code.rawValue)): \(error.message)")
                    failed = true
                }
            }
            if failed { throw ExitCode(1) }
        }
    }
}
