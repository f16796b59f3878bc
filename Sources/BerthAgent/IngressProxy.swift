import BerthClient
import BerthCore
import BerthIngress
import Foundation
import Logging

/// The ingress data plane of a node labelled `berth.dev/ingress=true`: watches Ingresses of
/// Berth's classes, IngressClasses, Gateways and HTTPRoutes of Berth's GatewayClasses,
/// Services and Endpoints, plans the routes (`IngressPlanner`, `GatewayPlanner`), writes the TLS Secrets' certificates, renders HAProxy's configuration and
/// hands it to `HAProxyProcess` (checked, then a seamless reload). Ingresses get the node's
/// address in `status.loadBalancer`; what cannot be honoured becomes a Warning Event on the
/// Ingress while every other route keeps working.
struct IngressProxy: Sendable {
    let api: AgentAPI
    let configuration: AgentConfiguration
    let logger: Logger

    static let label = "berth.dev/ingress"
    static let ingresses = "/apis/networking.k8s.io/v1/ingresses"
    static let classes = "/apis/networking.k8s.io/v1/ingressclasses"
    static let services = "/api/v1/services"
    static let endpoints = "/api/v1/endpoints"
    static let gatewayClasses = "/apis/gateway.networking.k8s.io/v1/gatewayclasses"
    static let gateways = "/apis/gateway.networking.k8s.io/v1/gateways"
    static let httpRoutes = "/apis/gateway.networking.k8s.io/v1/httproutes"
    static let namespaces = "/api/v1/namespaces"
    static let nodes = "/api/v1/nodes"

    var directory: String { configuration.dataDirectory + "/ingress" }

    func run() async {
        while !Task.isCancelled {
            guard await carriesIngress() else {
                try? await Task.sleep(for: .seconds(5))
                continue
            }
            logger.info("this node carries ingress", metadata: ["http": "\(configuration.ingressHTTPPort)", "https": "\(configuration.ingressHTTPSPort)"])
            await serve()
        }
    }

    func carriesIngress() async -> Bool {
        let node = try? await api.getIfPresent(JSONValue.self, "/api/v1/nodes/\(configuration.nodeName)")
        return node?.value(at: ["metadata", "labels", Self.label])?.stringValue == "true"
    }

    /// Until the label goes: HAProxy kept in step with the watched objects.
    private func serve() async {
        try? FileManager.default.createDirectory(atPath: directory + "/certs", withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let haproxy = HAProxyProcess(directory: directory, logger: logger)
        let cache = ObjectCache()
        let kinds = [Self.ingresses, Self.classes, Self.services, Self.endpoints, Self.gatewayClasses, Self.gateways, Self.httpRoutes, Self.namespaces]
        await withTaskGroup(of: Void.self) { group in
            for kind in kinds { group.addTask { await cache.watch(kind, client: api.client, logger: logger) } }
            // Only the ingress nodes, and only what the status needs: heartbeats wake nothing.
            group.addTask { await cache.watch(Self.nodes, client: api.client, logger: logger, keep: Self.ingressNodeSummary) }
            group.addTask {
                for await _ in cache.changes {
                    try? await Task.sleep(for: .milliseconds(20))  // a burst lands in one reload
                    guard cache.synced(kinds + [Self.nodes]) else { continue }
                    await apply(cache.snapshot(kinds + [Self.nodes]), haproxy: haproxy)
                }
            }
            // Supervision, and the label: without it HAProxy stops and the watches end. On the
            // agent's own shutdown HAProxy keeps serving (as containers do under conmon); the next
            // agent adopts it, and `berth cleanup` stops it.
            var labelRemoved = false
            while !Task.isCancelled {
                try? await Task.sleep(for: .seconds(2))
                if Task.isCancelled { break }
                await haproxy.supervise()
                if await !carriesIngress() {
                    labelRemoved = true
                    break
                }
            }
            group.cancelAll()
            if labelRemoved { await haproxy.stop() }
        }
    }

    private func apply(_ objects: [[String: JSONValue]], haproxy: HAProxyProcess) async {
        let (ingressObjects, classes, services, endpoints) = (objects[0], objects[1], objects[2], objects[3])
        let ours = Self.ours(ingressObjects.values, classes: Array(classes.values))
        let ingresses = ours.compactMap { try? $0.decode(Ingress.self) }
        let lookup: EndpointLookup = { namespace, service, port in
            Self.servers(service: services["\(namespace)/\(service)"], endpoints: endpoints["\(namespace)/\(service)"], port: port)
        }
        var secretNames = ingresses.flatMap { ingress in (ingress.spec?.tls ?? []).compactMap { tls in tls.secretName.map { "\(ingress.metadata.namespace ?? "default")/\($0)" } } }
        var inputs = GatewayPlanner.Inputs()
        inputs.classes = objects[4].values.compactMap { try? $0.decode(GatewayClass.self) }
        inputs.gateways = objects[5].values.compactMap { try? $0.decode(Gateway.self) }
        inputs.routes = objects[6].values.compactMap { try? $0.decode(HTTPRoute.self) }
        for namespace in objects[7].values {
            if let name = namespace.value(at: ["metadata", "name"])?.stringValue {
                inputs.namespaceLabels[name] = namespace.value(at: ["metadata", "labels"])?.objectValue?.compactMapValues(\.stringValue) ?? [:]
            }
        }
        secretNames += GatewayStatusWriter.certificateSecrets(inputs.gateways, classes: inputs.classes)
        let secrets = await writeCertificates(secretNames)
        var plan = IngressPlanner.plan(ingresses, endpoints: lookup, secrets: secrets)
        inputs.endpoints = lookup
        inputs.secrets = secrets
        inputs.httpPort = configuration.ingressHTTPPort
        inputs.httpsPort = configuration.ingressHTTPSPort
        inputs.now = RFC3339.seconds(Date())
        let statuses = GatewayPlanner.plan(inputs, into: &plan)
        plan.routes.sort(by: IngressPlanner.precedes)
        var config = HAProxyConfig(adminSocket: directory + "/admin.sock", certificateList: directory + "/certs.list")
        config.httpPort = configuration.ingressHTTPPort
        config.httpsPort = configuration.ingressHTTPSPort
        let list = HAProxyConfig.certificateList(plan.certificates) { certificatePath($0) }
        try? list.write(toFile: config.certificateList, atomically: true, encoding: .utf8)
        await haproxy.apply(config.render(plan, tls: !plan.certificates.isEmpty))
        for problem in plan.problems { await warn(problem, ingresses: ingresses) }
        let addresses = Self.addresses(ingressNodes: Array(objects[8].values), own: configuration.nodeAddress)
        for ingress in ingresses { await reportAddresses(addresses, of: ingress) }
        await GatewayStatusWriter(api: api, addresses: addresses, logger: logger)
            .write(statuses, classes: objects[4], gateways: objects[5], routes: objects[6])
    }

    /// Ingresses of a class whose controller is Berth's, or of none when Berth's class is the
    /// default one.
    static func ours(_ ingresses: some Sequence<JSONValue>, classes: [JSONValue]) -> [JSONValue] {
        let berth = classes.filter { $0.value(at: ["spec", "controller"])?.stringValue == IngressClass.berthController }
        let names = Set(berth.compactMap { $0.value(at: ["metadata", "name"])?.stringValue })
        let isDefault = berth.contains { $0.value(at: ["metadata", "annotations", IngressClass.defaultAnnotation])?.stringValue == "true" }
        return ingresses.filter { ingress in
            let named = ingress.value(at: ["spec", "ingressClassName"])?.stringValue
                ?? ingress.value(at: ["metadata", "annotations", "kubernetes.io/ingress.class"])?.stringValue
            return named.map(names.contains) ?? isDefault
        }
    }

    /// A Service port's ready endpoints (a port by number is the Service's `port`; by name, the
    /// port's name); nil when the Service or the port does not exist.
    static func servers(service: JSONValue?, endpoints: JSONValue?, port: ServiceBackendPort?) -> [IngressPlan.Server]? {
        guard let service, let ports = service.value(at: ["spec", "ports"])?.arrayValue,
              let servicePort = ports.first(where: { candidate in
                  if let number = port?.number { return candidate["port"]?.intValue == number }
                  return candidate["name"]?.stringValue == port?.name
              }) else { return nil }
        let name = servicePort["name"]?.stringValue ?? ""
        var servers: [IngressPlan.Server] = []
        for subset in endpoints?["subsets"]?.arrayValue ?? [] {
            let subsetPorts = subset["ports"]?.arrayValue ?? []
            guard let target = (subsetPorts.first { ($0["name"]?.stringValue ?? "") == name } ?? (subsetPorts.count == 1 ? subsetPorts.first : nil))?["port"]?.intValue
            else { continue }
            for address in subset["addresses"]?.arrayValue ?? [] {
                if let ip = address["ip"]?.stringValue { servers.append(.init(ip: ip, port: target)) }
            }
        }
        return servers
    }

    func certificatePath(_ secret: String) -> String {
        directory + "/certs/" + secret.replacingOccurrences(of: "/", with: "_") + ".pem"
    }

    /// Each TLS Secret named (`namespace/name`), as one PEM (certificate chain, then key) for
    /// HAProxy; returns those that exist and hold both.
    private func writeCertificates(_ names: [String]) async -> Set<String> {
        var found = Set<String>()
        for qualified in Set(names) {
            let parts = qualified.split(separator: "/", maxSplits: 1).map(String.init)
            guard parts.count == 2,
                  let secret = try? await api.getIfPresent(JSONValue.self, "/api/v1/namespaces/\(parts[0])/secrets/\(parts[1])"),
                  let certificate = secret.value(at: ["data", "tls.crt"])?.stringValue.flatMap({ Data(base64Encoded: $0) }),
                  let key = secret.value(at: ["data", "tls.key"])?.stringValue.flatMap({ Data(base64Encoded: $0) }),
                  !certificate.isEmpty, !key.isEmpty else { continue }
            var pem = certificate
            if pem.last != UInt8(ascii: "\n") { pem.append(UInt8(ascii: "\n")) }
            pem.append(key)
            let path = certificatePath(qualified)
            if (try? Data(contentsOf: URL(fileURLWithPath: path))) != pem {
                FileManager.default.createFile(atPath: path, contents: pem, attributes: [.posixPermissions: 0o600])
            }
            found.insert(qualified)
        }
        return found
    }

    private func warn(_ problem: IngressPlan.Problem, ingresses: [Ingress]) async {
        let parts = problem.ingress.split(separator: "/", maxSplits: 1).map(String.init)
        guard parts.count == 2, let ingress = ingresses.first(where: { $0.metadata.namespace == parts[0] && $0.metadata.name == parts[1] }) else { return }
        let reference = ObjectReferenceValue(kind: "Ingress", apiVersion: "networking.k8s.io/v1", namespace: parts[0], name: parts[1], uid: ingress.metadata.uid)
        await api.events.record(about: reference, reason: problem.reason, message: problem.message, type: "Warning",
                                component: "berth-ingress", host: configuration.nodeName)
    }

    /// A node as the status needs it, kept only when it carries ingress.
    @Sendable static func ingressNodeSummary(_ node: JSONValue) -> JSONValue? {
        guard node.value(at: ["metadata", "labels", label])?.stringValue == "true", let name = node.value(at: ["metadata", "name"])?.stringValue else { return nil }
        let ready = (node.value(at: ["status", "conditions"])?.arrayValue ?? []).contains { $0["type"]?.stringValue == "Ready" && $0["status"]?.stringValue == "True" }
        let address = (node.value(at: ["status", "addresses"])?.arrayValue ?? []).first { $0["type"]?.stringValue == "InternalIP" }?["address"]?.stringValue
        return ["metadata": ["name": .string(name)], "ready": .bool(ready), "address": address.map(JSONValue.string) ?? .null]
    }

    /// Where Ingresses and Gateways are reachable: every Ready ingress node's address (this
    /// one's always), so every ingress node writes the same list and a dead node drops out.
    static func addresses(ingressNodes: [JSONValue], own: String) -> [String] {
        let ready = ingressNodes.filter { $0["ready"] == .bool(true) }.compactMap { $0["address"]?.stringValue }
        return Array(Set(ready + [own])).sorted()
    }

    /// Sets `status.loadBalancer.ingress` to the ingress nodes' addresses when it differs.
    private func reportAddresses(_ addresses: [String], of ingress: Ingress) async {
        let current = (ingress.status?.loadBalancer?.ingress ?? []).compactMap(\.ip)
        guard current != addresses, let name = ingress.metadata.name else { return }
        let list = JSONValue.array(addresses.map { ["ip": .string($0)] })
        let path = "/apis/networking.k8s.io/v1/namespaces/\(ingress.metadata.namespace ?? "default")/ingresses/\(name)/status"
        do {
            try await api.mergePatch(path, ["status": ["loadBalancer": ["ingress": list]]])
        } catch {
            logger.warning("could not report the ingress address", metadata: ["ingress": "\(name)", "error": "\(error.message)"])
        }
    }
}
