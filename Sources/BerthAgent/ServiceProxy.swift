import BerthClient
import BerthCore
import BerthNetwork
import BerthRuntime
import Foundation
import Logging
import Synchronization

/// Programs this host's Services from the Service and Endpoints objects it watches: every
/// change re-renders the node's service table (`ServiceRules`) and replaces it in one nftables
/// transaction, coalescing bursts of changes into one write.
struct ServiceProxy: Sendable {
    let client: APIClient
    let table: String
    let logger: Logger

    final class State: Sendable {
        let objects = Mutex<(services: [String: JSONValue], endpoints: [String: JSONValue], synced: Set<String>)>(([:], [:], []))
        let changes: AsyncStream<Void>
        let signal: AsyncStream<Void>.Continuation

        init() {
            (changes, signal) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        }

        static func key(_ object: JSONValue) -> String {
            "\(object["metadata"]?["namespace"]?.stringValue ?? "")/\(object["metadata"]?["name"]?.stringValue ?? "")"
        }
    }

    func run() async {
        let state = State()
        let logger = self.logger
        await withDiscardingTaskGroup { group in
            for kind in ["services", "endpoints"] {
                group.addTask {
                    await ListWatch(client: client, path: "/api/v1/\(kind)", logger: logger).run { items in
                        let all = Dictionary(items.map { (State.key($0), $0) }, uniquingKeysWith: { a, _ in a })
                        state.objects.withLock {
                            if kind == "services" { $0.services = all } else { $0.endpoints = all }
                            $0.synced.insert(kind)
                        }
                        state.signal.yield()
                    } onEvent: { type, object in
                        let key = State.key(object)
                        state.objects.withLock {
                            let value = type == "DELETED" ? nil : object
                            if kind == "services" { $0.services[key] = value } else { $0.endpoints[key] = value }
                        }
                        state.signal.yield()
                    }
                }
            }
            group.addTask { await applyLoop(state) }
        }
    }

    private func applyLoop(_ state: State) async {
        var applied = ""
        for await _ in state.changes {
            // Let a burst (a Deployment's pods all becoming ready) land in one write.
            try? await Task.sleep(for: .milliseconds(20))
            let (services, endpoints, synced) = state.objects.withLock { ($0.services, $0.endpoints, $0.synced) }
            guard synced.count == 2 else { continue }
            let text = ServiceRules.render(Self.entries(services: services, endpoints: endpoints), table: table)
            guard text != applied else { continue }
            do {
                let result = try await Subprocess.run("/usr/sbin/nft", ["-f", "-"], input: Array(text.utf8))
                if result.succeeded {
                    applied = text
                    logger.debug("services programmed", metadata: ["services": "\(services.count)"])
                } else {
                    logger.error("nftables refused the service table", metadata: ["error": "\(result.errorText.prefix(500))"])
                }
            } catch {
                logger.error("could not run nft", metadata: ["error": "\(error.message)"])
            }
        }
    }

    /// One entry per service port with a cluster IP, its ready endpoints matched by port name.
    static func entries(services: [String: JSONValue], endpoints: [String: JSONValue]) -> [ServiceEntry] {
        var entries: [ServiceEntry] = []
        for (key, service) in services.sorted(by: { $0.key < $1.key }) {
            guard let spec = service["spec"], spec["type"]?.stringValue != "ExternalName" else { continue }
            let clusterIP = spec["clusterIP"]?.stringValue.flatMap { IPv4.isValid($0) ? $0 : nil }
            let ports = spec["ports"]?.arrayValue ?? []
            let subsets = endpoints[key]?["subsets"]?.arrayValue ?? []
            var affinity: Int?
            if spec["sessionAffinity"]?.stringValue == "ClientIP" {
                affinity = spec["sessionAffinityConfig"]?["clientIP"]?["timeoutSeconds"]?.intValue ?? 10800
            }
            for port in ports {
                guard let number = port["port"]?.intValue else { continue }
                let name = port["name"]?.stringValue ?? ""
                let proto = (port["protocol"]?.stringValue ?? "TCP").lowercased()
                var backends: [ServiceEntry.Endpoint] = []
                for subset in subsets {
                    let subsetPorts = subset["ports"]?.arrayValue ?? []
                    guard let match = subsetPorts.first(where: { ($0["name"]?.stringValue ?? "") == name }) ?? (subsetPorts.count == 1 && ports.count == 1 ? subsetPorts.first : nil),
                          let target = match["port"]?.intValue else { continue }
                    for address in subset["addresses"]?.arrayValue ?? [] {
                        if let ip = address["ip"]?.stringValue, IPv4.isValid(ip) { backends.append(.init(ip: ip, port: target)) }
                    }
                }
                guard clusterIP != nil || port["nodePort"]?.intValue != nil else { continue }
                entries.append(ServiceEntry(name: name.isEmpty ? key : "\(key):\(name)", clusterIP: clusterIP, proto: proto, port: number,
                                            nodePort: port["nodePort"]?.intValue, endpoints: backends.sorted { ($0.ip, $0.port) < ($1.ip, $1.port) },
                                            affinitySeconds: affinity))
            }
        }
        return entries
    }
}
