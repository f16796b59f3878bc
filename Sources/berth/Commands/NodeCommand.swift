import ArgumentParser
import BerthClient
import BerthCore
import Foundation

/// `berth node cordon|uncordon|drain NAME`: take a host out of scheduling and empty it, through
/// the same API kubectl uses (`spec.unschedulable`, the `pods/eviction` subresource).
struct NodeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "node", abstract: "Cordon, uncordon or drain a node.",
                                                    subcommands: [Cordon.self, Uncordon.self, Drain.self])

    static func setUnschedulable(_ api: APIClient, _ node: String, _ value: Bool) async throws {
        _ = try await api.request(.PATCH, "/api/v1/nodes/\(node)", body: JSONWriter.bytes(["spec": ["unschedulable": .bool(value)]]),
                                  contentType: "application/merge-patch+json").checked()
    }

    struct Cordon: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "cordon", abstract: "Mark a node unschedulable.")
        @OptionGroup var client: ClientOptions
        @Argument(help: "The node.") var node: String
        func run() async throws {
            try await reportingErrors {
                try await client.withClient { api in try await NodeCommand.setUnschedulable(api, node, true) }
                print("node/\(node) cordoned")
            }
        }
    }

    struct Uncordon: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "uncordon", abstract: "Mark a node schedulable again.")
        @OptionGroup var client: ClientOptions
        @Argument(help: "The node.") var node: String
        func run() async throws {
            try await reportingErrors {
                try await client.withClient { api in try await NodeCommand.setUnschedulable(api, node, false) }
                print("node/\(node) uncordoned")
            }
        }
    }

    struct Drain: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "drain", abstract: "Cordon a node and evict its pods (DaemonSet pods stay).")
        @OptionGroup var client: ClientOptions
        @Argument(help: "The node.") var node: String
        @Option(help: "Seconds to wait for the evicted pods to be gone.") var timeout = 120
        @Flag(help: "Also evict pods no controller would recreate.") var force = false

        func run() async throws {
            try await reportingErrors {
                try await client.withClient { api in
                    try await NodeCommand.setUnschedulable(api, node, true)
                    print("node/\(node) cordoned")
                    let list = try await api.request(.GET, "/api/v1/pods?fieldSelector=spec.nodeName%3D\(node)").checked().json()
                    var evicted: [(String, String)] = []
                    for pod in list["items"]?.arrayValue ?? [] {
                        let owner = pod.value(at: ["metadata", "ownerReferences"])?.arrayValue?.first { $0["controller"] == .bool(true) }
                        if owner?["kind"]?.stringValue == "DaemonSet" { continue }
                        guard let namespace = pod.value(at: ["metadata", "namespace"])?.stringValue, let name = pod.value(at: ["metadata", "name"])?.stringValue else { continue }
                        if owner == nil && !force {
                            throw BerthError(.badRequest, "pod \(namespace)/\(name) has no controller and would not come back: use --force to evict it anyway")
                        }
                        let eviction: JSONValue = ["apiVersion": "policy/v1", "kind": "Eviction", "metadata": ["name": .string(name), "namespace": .string(namespace)]]
                        _ = try await api.request(.POST, "/api/v1/namespaces/\(namespace)/pods/\(name)/eviction", body: JSONWriter.bytes(eviction)).checked()
                        print("pod/\(name) evicted")
                        evicted.append((namespace, name))
                    }
                    let deadline = Date().addingTimeInterval(TimeInterval(timeout))
                    for (namespace, name) in evicted {
                        while Date() < deadline {
                            let reply = try await api.request(.GET, "/api/v1/namespaces/\(namespace)/pods/\(name)")
                            if reply.status == 404 { break }
                            try await Task.sleep(for: .milliseconds(250))
                        }
                        if Date() >= deadline { throw BerthError(.timeout, "pod \(namespace)/\(name) was not gone within \(timeout)s") }
                    }
                    print("node/\(node) drained")
                }
            }
        }
    }
}
