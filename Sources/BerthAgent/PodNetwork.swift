import BerthCore
import BerthRuntime
import Foundation

/// The pod's network namespace, plumbed by the standard CNI plugins: `loopback` for `lo`, `bridge`
/// with `host-local` addresses from this node's pod subnet for `eth0`. No masquerading: pod
/// traffic leaves only by routes the network layer adds (DESIGN §6).
struct PodNetwork: Sendable {
    let configuration: AgentConfiguration

    static func namespaceName(podUID: String) -> String { "berth-\(podUID.prefix(18))" }
    static func namespacePath(podUID: String) -> String { "/run/netns/\(namespaceName(podUID: podUID))" }

    /// Creates the namespace if it does not exist (cheap: containers can be created in it while
    /// `attach` plumbs it).
    func createNamespace(podUID: String) async throws(BerthError) {
        let name = Self.namespaceName(podUID: podUID)
        let path = Self.namespacePath(podUID: podUID)
        guard !FileManager.default.fileExists(atPath: path) else { return }
        let result = try await Subprocess.run("/usr/sbin/ip", ["netns", "add", name])
        guard result.succeeded || FileManager.default.fileExists(atPath: path) else {
            throw BerthError(.internalError, "failed to create network namespace \(name): \(result.errorText)")
        }
    }

    /// Attaches the namespace (lo up, eth0 on the bridge) and returns the pod's IP. Idempotent:
    /// a pod that already has its address (set up before an agent restart) keeps it.
    func attach(podUID: String) async throws(BerthError) -> String {
        let path = Self.namespacePath(podUID: podUID)
        if let existing = try await address(of: path) { return existing }
        _ = try await invoke("loopback", command: "ADD", podUID: podUID, namespace: path, interface: "lo",
                             config: ["cniVersion": "1.0.0", "name": "berth-lo", "type": "loopback"])
        let result = try await invoke("bridge", command: "ADD", podUID: podUID, namespace: path, interface: "eth0", config: bridgeConfig)
        guard let address = result["ips"]?.arrayValue?.first?["address"]?.stringValue,
              let ip = address.split(separator: "/").first else {
            throw BerthError(.internalError, "CNI bridge returned no address for pod \(podUID)")
        }
        return String(ip)
    }

    /// Releases the address and removes the namespace; safe to repeat, and after a failed set-up.
    func tearDown(podUID: String) async {
        let path = Self.namespacePath(podUID: podUID)
        _ = try? await invoke("bridge", command: "DEL", podUID: podUID, namespace: path, interface: "eth0", config: bridgeConfig)
        _ = try? await Subprocess.run("/usr/sbin/ip", ["netns", "delete", Self.namespaceName(podUID: podUID)])
    }

    /// Receive and transmit byte counters of the pod's eth0.
    func counters(podUID: String) async -> (received: Int64, transmitted: Int64)? {
        guard let result = try? await Subprocess.run("/usr/sbin/ip", ["-n", Self.namespaceName(podUID: podUID), "-s", "-j", "link", "show", "eth0"]),
              result.succeeded, let links = try? JSONParser.parse(result.standardOutput), let link = links.arrayValue?.first,
              let stats = link["stats64"] else { return nil }
        return (Int64(stats["rx"]?["bytes"]?.intValue ?? 0), Int64(stats["tx"]?["bytes"]?.intValue ?? 0))
    }

    private var bridgeConfig: JSONValue {
        [
            "cniVersion": "1.0.0", "name": "berth", "type": "bridge", "bridge": .string(configuration.bridgeName),
            "isGateway": true, "ipMasq": false, "hairpinMode": true,
            "ipam": [
                "type": "host-local", "ranges": [[["subnet": .string(configuration.podSubnet)]]],
                "dataDir": .string("\(configuration.cniDirectory)/ipam"),
            ],
        ]
    }

    private func address(of namespace: String) async throws(BerthError) -> String? {
        let result = try await Subprocess.run("/usr/sbin/ip", ["-n", (namespace as NSString).lastPathComponent, "-4", "-j", "addr", "show", "eth0"])
        guard result.succeeded, let links = try? JSONParser.parse(result.standardOutput) else { return nil }
        return links.arrayValue?.first?["addr_info"]?.arrayValue?.first?["local"]?.stringValue
    }

    private func invoke(_ plugin: String, command: String, podUID: String, namespace: String, interface: String,
                        config: JSONValue) async throws(BerthError) -> JSONValue {
        let environment = [
            "CNI_COMMAND=\(command)", "CNI_CONTAINERID=\(podUID)", "CNI_NETNS=\(namespace)", "CNI_IFNAME=\(interface)",
            "CNI_PATH=\(configuration.cniPluginDirectory)", "PATH=/usr/sbin:/usr/bin:/sbin:/bin",
        ]
        let result = try await Subprocess.run("\(configuration.cniPluginDirectory)/\(plugin)", [], environment: environment, input: JSONWriter.bytes(config))
        guard result.succeeded else {
            let message = (try? JSONParser.parse(result.standardOutput))?["msg"]?.stringValue ?? result.errorText
            throw BerthError(.internalError, "CNI \(plugin) \(command) failed: \(message)")
        }
        return (try? JSONParser.parse(result.standardOutput)) ?? .object([:])
    }
}
