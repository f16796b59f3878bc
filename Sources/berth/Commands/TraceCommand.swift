import ArgumentParser
import BerthAgent
import BerthClient
import BerthCore
import BerthNetwork
import Foundation

/// `berth trace SRC_POD DST_POD|svc/SERVICE[:PORT]`: the path a connection takes, hop by hop,
/// with the tenant and NetworkPolicy verdicts that decide it (naming the policy rule), then a
/// real TCP connect from inside the source pod to confirm.
struct TraceCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "trace", abstract: "Explain why a pod can or cannot reach a pod or Service, then probe it.")

    @OptionGroup var client: ClientOptions
    @Option(help: "The destination's namespace (default: the source's, -n).") var toNamespace: String?

    var namespace: String { client.namespace ?? "default" }
    @Argument(help: "The source pod.") var source: String
    @Argument(help: "The destination: a pod, or svc/NAME, with :PORT (default: the Service's first port or the pod's first container port).")
    var destination: String

    func run() async throws {
        var reached = false
        try await reportingErrors {
            try await client.withClient { api in reached = try await trace(api) }
        }
        if !reached { throw ExitCode(1) }
    }

    func get(_ api: APIClient, _ path: String) async throws -> JSONValue {
        try await api.request(.GET, path).checked().json()
    }

    func items(_ api: APIClient, _ path: String) async throws -> [String: JSONValue] {
        let list = try await get(api, path)
        return Dictionary((list["items"]?.arrayValue ?? []).map { item in
            ("\(item["metadata"]?["namespace"]?.stringValue ?? "")/\(item["metadata"]?["name"]?.stringValue ?? "")", item)
        }, uniquingKeysWith: { a, _ in a })
    }

    func endpoint(_ object: JSONValue) throws -> PathTrace.Endpoint {
        let pod = try object.decode(Pod.self)
        guard let entry = PolicyPod(pod), let node = pod.spec?.nodeName else {
            throw BerthError(.conflict, "pod \(pod.metadata.name ?? "") has no address or node yet")
        }
        return PathTrace.Endpoint(pod: entry, node: node)
    }

    func trace(_ api: APIClient) async throws -> Bool {
        let sourcePod = try await get(api, "/api/v1/namespaces/\(namespace)/pods/\(source)")
        let destinationNamespace = toNamespace ?? namespace
        let base = "/api/v1/namespaces/\(destinationNamespace)"
        let from = try endpoint(sourcePod)
        var name = destination
        var port: Int?
        if let colon = name.lastIndex(of: ":") {
            guard let number = Int(name[name.index(after: colon)...]), (1...65535).contains(number) else {
                throw ValidationError("the port in \(destination) must be a number between 1 and 65535")
            }
            port = number
            name = String(name[..<colon])
        }
        var to: PathTrace.Endpoint
        var service: (name: String, address: String, port: Int)?
        var targetPort: Int
        if name.hasPrefix("svc/") || name.hasPrefix("service/") {
            let serviceName = String(name.split(separator: "/", maxSplits: 1)[1])
            let object = try await get(api, "\(base)/services/\(serviceName)")
            guard let address = object["spec"]?["clusterIP"]?.stringValue, IPv4.isValid(address) else {
                throw BerthError(.badRequest, "service \(serviceName) has no cluster IP")
            }
            let ports = object["spec"]?["ports"]?.arrayValue ?? []
            guard let servicePort = port.flatMap({ wanted in ports.first { $0["port"]?.intValue == wanted } }) ?? (port == nil ? ports.first : nil),
                  let number = servicePort["port"]?.intValue else {
                throw BerthError(.badRequest, "service \(serviceName) has no port \(port.map(String.init) ?? "")")
            }
            let endpoints = try await get(api, "\(base)/endpoints/\(serviceName)")
            let portName = servicePort["name"]?.stringValue ?? ""
            var chosen: (pod: String, port: Int)?
            for subset in endpoints["subsets"]?.arrayValue ?? [] {
                let subsetPorts = subset["ports"]?.arrayValue ?? []
                guard let match = subsetPorts.first(where: { ($0["name"]?.stringValue ?? "") == portName }) ?? subsetPorts.first,
                      let target = match["port"]?.intValue,
                      let podName = subset["addresses"]?.arrayValue?.first?["targetRef"]?["name"]?.stringValue else { continue }
                chosen = (podName, target)
                break
            }
            guard let chosen else {
                print("service \(destinationNamespace)/\(serviceName) \(address):\(number) has no ready endpoints: connections are refused on every node")
                return false
            }
            to = try endpoint(try await get(api, "\(base)/pods/\(chosen.pod)"))
            service = ("\(destinationNamespace)/\(serviceName)", address, number)
            targetPort = chosen.port
        } else {
            let object = try await get(api, "\(base)/pods/\(name.hasPrefix("pod/") ? String(name.dropFirst(4)) : name)")
            to = try endpoint(object)
            guard let number = port ?? object["spec"]?["containers"]?.arrayValue?.first?["ports"]?.arrayValue?.first?["containerPort"]?.intValue else {
                throw ValidationError("\(name) declares no container port: give one as \(name):PORT")
            }
            targetPort = number
        }

        let nodes = try await items(api, "/api/v1/nodes")
        var hosts: [String: PathTrace.Host] = [:]
        for node in nodes.values {
            guard let nodeName = node["metadata"]?["name"]?.stringValue else { continue }
            let address = node["status"]?["addresses"]?.arrayValue?.first { $0["type"]?.stringValue == "InternalIP" }?["address"]?.stringValue ?? "?"
            hosts[nodeName] = PathTrace.Host(name: nodeName, address: address, podSubnet: node["spec"]?["podCIDR"]?.stringValue ?? "?",
                                             mode: node["metadata"]?["annotations"]?[PathTrace.modeAnnotation]?.stringValue ?? "routed")
        }
        let namespaces = try await items(api, "/api/v1/namespaces")
        let compilation = PolicyAgent.compile(pods: try await items(api, "/api/v1/pods"), namespaces: namespaces,
                                              policies: try await items(api, "/apis/networking.k8s.io/v1/networkpolicies"), nodeName: nil)
        let spaces = Dictionary(PolicyAgent.policyNamespaces(namespaces).map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        let path = PathTrace(source: from, destination: to, port: targetPort, service: service, hosts: hosts, compilation: compilation, namespaces: spaces)
        for (index, hop) in path.hops.enumerated() { print("\(index + 1). \(hop)") }

        let probeAddress = service?.address ?? IPv4Network.format(to.pod.ip)
        let probePort = service?.port ?? targetPort
        let probe = try await get(api, "/berth/v1/namespaces/\(namespace)/pods/\(source)/probe?address=\(probeAddress)&port=\(probePort)")
        let connected = probe["connected"] == .bool(true)
        let milliseconds = probe["milliseconds"].flatMap { value -> String? in if case .number(let text) = value { return text } else { return nil } } ?? "?"
        if connected {
            print("probe from \(namespace)/\(source) to \(probeAddress):\(probePort): connected in \(milliseconds) ms")
            if let dropped = path.dropped { print("note: the rules say it stops (\(dropped)) but it connected: the node may not have applied the latest state yet") }
        } else {
            print("probe from \(namespace)/\(source) to \(probeAddress):\(probePort): no connection (\(probe["detail"]?.stringValue ?? "")); stopped at: \(path.dropped ?? "no rule drops it — check that something listens on port \(targetPort)")")
        }
        return connected
    }
}
