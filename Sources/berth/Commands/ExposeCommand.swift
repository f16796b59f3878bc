import ArgumentParser
import BerthClient
import BerthCore
import Foundation

/// `berth expose deploy/web`: the answer to "reachable from inside only, or from outside?" in
/// one command. Internal only (a ClusterIP Service, the default), a LoadBalancer address
/// (`--load-balancer`, optionally `--load-balancer-ip`), or a hostname and path through the
/// ingress (`--host web.example.test --path /`, a Service plus an Ingress). Written by
/// server-side apply (field manager `berth-expose`), so running it again changes the choice.
struct ExposeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "expose",
        abstract: "Make a workload reachable: inside the cluster, at a LoadBalancer address, or at a hostname and path.",
        discussion: "Examples:\n  berth expose deploy/web --port 80 --target-port 8080\n  berth expose deploy/web --load-balancer\n  berth expose deploy/web --host web.example.test --path /")

    @OptionGroup var options: ClientOptions

    @Argument(help: "The workload: deploy/NAME, statefulset/NAME, daemonset/NAME, replicaset/NAME or pod/NAME.")
    var workload: String

    @Option(help: "The Service's name (default: the workload's).")
    var name: String?

    @Option(help: "The Service port (default: the target port).")
    var port: Int?

    @Option(help: "The container port traffic goes to (default: the first port the pod template declares).")
    var targetPort: Int?

    @Flag(help: "Give the Service an address from a LoadBalancerPool.")
    var loadBalancer = false

    @Option(help: "Ask for this LoadBalancer address (implies --load-balancer).")
    var loadBalancerIP: String?

    @Option(help: "Route this hostname to the workload through the ingress (a Service and an Ingress).")
    var host: String?

    @Option(help: "The path under --host (a prefix; default /).")
    var path: String = "/"

    @Option(help: "Serve --host over HTTPS with the certificate in this TLS Secret.")
    var tlsSecret: String?

    func validate() throws {
        if host != nil && (loadBalancer || loadBalancerIP != nil) {
            throw ValidationError("choose one: --host (through the ingress) or --load-balancer (an address of its own)")
        }
        if host == nil && tlsSecret != nil { throw ValidationError("--tls-secret needs --host") }
        if !path.hasPrefix("/") { throw ValidationError("--path must start with /") }
        for (flag, value) in [("--port", port), ("--target-port", targetPort)] {
            if let value, !(1...65535).contains(value) { throw ValidationError("\(flag) must be between 1 and 65535") }
        }
        if let loadBalancerIP, !IPv4.isValid(loadBalancerIP) { throw ValidationError("--load-balancer-ip must be an IPv4 address") }
    }

    func run() async throws {
        try await reportingErrors {
            try await options.withClient { client in
                let namespace = options.effectiveNamespace(client)
                let target = try await Self.workload(workload, namespace: namespace, options: options, client: client)
                guard let containerPort = targetPort ?? target.ports.first else {
                    throw BerthError(.invalid, "\(workload) declares no container port: give --target-port (and --port)")
                }
                let serviceName = name ?? target.name
                let servicePort = port ?? containerPort
                let wantsAddress = loadBalancer || loadBalancerIP != nil
                var metadata: JSONValue = ["name": .string(serviceName), "namespace": .string(namespace)]
                if let loadBalancerIP { metadata.set(.string(loadBalancerIP), at: ["annotations", LoadBalancerPool.addressAnnotation]) }
                let service: JSONValue = [
                    "apiVersion": "v1", "kind": "Service", "metadata": metadata,
                    "spec": ["type": .string(wantsAddress ? "LoadBalancer" : "ClusterIP"),
                             "selector": .object(target.selector.mapValues { .string($0) }),
                             "ports": [["name": "http", "port": .number(String(servicePort)), "targetPort": .number(String(containerPort))]]],
                ]
                try await Self.apply(service, .service, namespace: namespace, name: serviceName, client: client)
                print("service/\(serviceName) exposed")
                if let host {
                    var spec: JSONValue = ["rules": [["host": .string(host), "http": ["paths": [[
                        "path": .string(path), "pathType": "Prefix",
                        "backend": ["service": ["name": .string(serviceName), "port": ["number": .number(String(servicePort))]]],
                    ]]]]]]
                    if let tlsSecret { spec["tls"] = [["hosts": [.string(host)], "secretName": .string(tlsSecret)]] }
                    let ingress: JSONValue = ["apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
                                              "metadata": ["name": .string(serviceName), "namespace": .string(namespace)], "spec": spec]
                    try await Self.apply(ingress, .ingress, namespace: namespace, name: serviceName, client: client)
                    print("ingress.networking.k8s.io/\(serviceName) exposed: \(tlsSecret == nil ? "http" : "https")://\(host)\(path)")
                } else if wantsAddress {
                    if let address = try await Self.waitForAddress(serviceName, namespace: namespace, client: client) {
                        print("reachable at \(address):\(servicePort)")
                    } else {
                        print("waiting for an address: see `berth describe service \(serviceName)` (is there a LoadBalancerPool for namespace \(namespace)?)")
                    }
                }
            }
        }
    }

    struct Target {
        var name: String
        var selector: [String: String]
        var ports: [Int]
    }

    /// The workload's pod selector and the container ports its pod template declares.
    static func workload(_ reference: String, namespace: String, options: ClientOptions, client: APIClient) async throws -> Target {
        let parts = reference.split(separator: "/", maxSplits: 1).map(String.init)
        guard parts.count == 2, !parts[1].isEmpty else { throw ValidationError("name the workload as KIND/NAME, e.g. deploy/web") }
        let descriptor = try options.resolve(client, parts[0])
        guard ["Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Pod"].contains(descriptor.kind) else {
            throw BerthError(.invalid, "cannot expose a \(descriptor.kind): expose a Deployment, StatefulSet, DaemonSet, ReplicaSet or Pod")
        }
        let object = try await client.request(.GET, client.path(descriptor, namespace: namespace, name: parts[1])).checked().json()
        let podSpec = descriptor.kind == "Pod" ? object["spec"] : object.value(at: ["spec", "template", "spec"])
        let labels = descriptor.kind == "Pod" ? object.value(at: ["metadata", "labels"]) : object.value(at: ["spec", "selector", "matchLabels"])
        let selector = labels?.objectValue?.compactMapValues(\.stringValue) ?? [:]
        guard !selector.isEmpty else {
            throw BerthError(.invalid, "\(reference) has no labels to select its pods by (a selector with matchExpressions only cannot be a Service's)")
        }
        let ports = (podSpec?["containers"]?.arrayValue ?? []).flatMap { $0["ports"]?.arrayValue ?? [] }.compactMap { $0["containerPort"]?.intValue }
        return Target(name: parts[1], selector: selector, ports: ports)
    }

    static func apply(_ object: JSONValue, _ descriptor: ResourceDescriptor, namespace: String, name: String, client: APIClient) async throws {
        let path = client.path(descriptor, namespace: namespace, name: name) + "?fieldManager=berth-expose&force=true"
        _ = try await client.request(.PATCH, path, body: JSONWriter.bytes(object), contentType: "application/apply-patch+yaml").checked()
    }

    /// The address the load-balancer controller gives the Service, waited for up to 10 s.
    static func waitForAddress(_ name: String, namespace: String, client: APIClient) async throws -> String? {
        for _ in 0..<40 {
            let service = try await client.request(.GET, client.path(.service, namespace: namespace, name: name)).checked().json()
            if let address = service.value(at: ["status", "loadBalancer", "ingress"])?.arrayValue?.first?["ip"]?.stringValue { return address }
            try await Task.sleep(for: .milliseconds(250))
        }
        return nil
    }
}
