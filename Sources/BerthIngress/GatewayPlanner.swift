import BerthCore
import Foundation

/// Gateways of Berth's GatewayClasses and the HTTPRoutes attached to them, turned into routes
/// on the same data plane as Ingresses (`IngressPlan`), with the statuses the Gateway API
/// expects: the class accepted, each Gateway's listeners (accepted, conflicted, references
/// resolved, programmed, routes attached) and each route's parents (accepted, references
/// resolved). Pure: the agent gathers the inputs, applies the plan and writes the statuses.
public enum GatewayPlanner {
    public struct Inputs: Sendable {
        public var classes: [GatewayClass] = []
        public var gateways: [Gateway] = []
        public var routes: [HTTPRoute] = []
        public var namespaceLabels: [String: [String: String]] = [:]
        public var endpoints: EndpointLookup = { _, _, _ in nil }
        /// `namespace/name` of TLS Secrets that exist and hold a certificate and key.
        public var secrets: Set<String> = []
        /// The ingress ports, whose protocol a listener may share but not change.
        public var httpPort = 80
        public var httpsPort = 443
        public var now = ""
        public init() {}
    }

    public struct Statuses: Equatable, Sendable {
        /// By class name: the classes whose controller is Berth's.
        public var classes: [String: GatewayClassStatus] = [:]
        /// By `namespace/name`; addresses are the agent's to fill.
        public var gateways: [String: GatewayStatus] = [:]
        /// By `namespace/name`: the parent statuses for Berth's Gateways only.
        public var routes: [String: [RouteParentStatus]] = [:]
    }

    static let routeKind = RouteGroupKind(group: GatewayValidation.group, kind: "HTTPRoute")
    /// The backend answering 500: a route whose every backend reference is invalid.
    public static let invalidBackend = "berth-invalid-backend"

    /// Adds the attached routes, their backends and listener certificates to `plan`.
    public static func plan(_ inputs: Inputs, into plan: inout IngressPlan) -> Statuses {
        var statuses = Statuses()
        let ours = berthClasses(inputs.classes)
        for name in ours {
            statuses.classes[name] = GatewayClassStatus(conditions: [condition("Accepted", true, "Accepted", "Berth's ingress data plane carries this class", nil, inputs.now)])
        }
        let gateways = inputs.gateways.filter { ours.contains($0.spec?.gatewayClassName ?? "") }.sorted(by: older)
        var bound: [Int: Bool] = [inputs.httpPort: false, inputs.httpsPort: true]
        var listeners: [String: [Listener]] = [:]
        for gateway in gateways {
            listeners[key(gateway.metadata)] = gateway.spec!.listeners.map { evaluate($0, gateway: gateway, inputs: inputs, bound: &bound, plan: &plan) }
        }
        var attached: [String: Int] = [:]  // gateway key / listener name → routes
        var order = plan.routes.count
        for route in inputs.routes.sorted(by: older) {
            let namespace = route.metadata.namespace ?? "default"
            var parents: [RouteParentStatus] = []
            for parent in route.spec?.parentRefs ?? [] where (parent.group ?? GatewayValidation.group) == GatewayValidation.group && (parent.kind ?? "Gateway") == "Gateway" {
                let gatewayKey = "\(parent.namespace ?? namespace)/\(parent.name)"
                guard let gateway = gateways.first(where: { key($0.metadata) == gatewayKey }), let candidates = listeners[gatewayKey] else { continue }
                let generation = route.metadata.generation
                func status(_ accepted: Bool, _ reason: String, _ message: String, resolved: (Bool, String, String) = (true, "ResolvedRefs", "every reference resolved")) {
                    parents.append(RouteParentStatus(parentRef: parent, controllerName: GatewayClass.berthController, conditions: [
                        condition("Accepted", accepted, reason, message, generation, inputs.now),
                        condition("ResolvedRefs", resolved.0, resolved.1, resolved.2, generation, inputs.now),
                    ]))
                }
                let named = candidates.filter { (parent.sectionName == nil || parent.sectionName == $0.spec.name) && (parent.port == nil || parent.port == $0.spec.port) && $0.programmed }
                if named.isEmpty {
                    status(false, "NoMatchingParent", "no programmed listener of Gateway \(gatewayKey) matches sectionName and port")
                    continue
                }
                let allowed = named.filter { allows($0.spec, routeNamespace: namespace, gateway: gateway, labels: inputs.namespaceLabels) }
                if allowed.isEmpty {
                    status(false, "NotAllowedByListeners", "the listeners of Gateway \(gatewayKey) do not allow routes from namespace \(namespace)")
                    continue
                }
                let hostsByListener = allowed.map { ($0, hosts(listener: $0.spec.hostname, route: route.spec?.hostnames ?? [])) }.filter { !$0.1.isEmpty }
                if hostsByListener.isEmpty {
                    status(false, "NoMatchingListenerHostname", "no listener hostname of Gateway \(gatewayKey) intersects the route's hostnames")
                    continue
                }
                if let unsupported = unsupportedFilter(route) {
                    status(false, "UnsupportedValue", "filter type \(unsupported) is not supported by Berth's data plane")
                    continue
                }
                var resolved = (true, "ResolvedRefs", "every reference resolved")
                for (index, rule) in (route.spec?.rules ?? []).enumerated() {
                    let (backend, problem) = backendName(rule, index: index, route: route, inputs: inputs, plan: &plan)
                    if let problem { resolved = (false, problem.0, problem.1) }
                    for (listener, hosts) in hostsByListener {
                        for host in hosts {
                            for match in rule.matches ?? [] {
                                plan.routes.append(self.route(match, rule: rule, host: host, port: listener.spec.port, backend: backend, source: "httproute:\(key(route.metadata))", order: order))
                                order += 1
                            }
                        }
                    }
                }
                for (listener, _) in hostsByListener { attached["\(gatewayKey)/\(listener.spec.name)", default: 0] += 1 }
                status(true, "Accepted", "attached to Gateway \(gatewayKey)", resolved: resolved)
            }
            if !parents.isEmpty { statuses.routes[key(route.metadata)] = parents }
        }
        for gateway in gateways {
            let gatewayKey = key(gateway.metadata), generation = gateway.metadata.generation
            let evaluated = listeners[gatewayKey] ?? []
            let listenerStatuses = evaluated.map { listener in
                var status = listener.status
                status.attachedRoutes = attached["\(gatewayKey)/\(listener.spec.name)"] ?? 0
                return status
            }
            let valid = evaluated.allSatisfy(\.programmed)
            var conditions = [condition("Accepted", true, valid ? "Accepted" : "ListenersNotValid",
                                        valid ? "Berth's ingress data plane carries this Gateway" : "some listeners are not valid; see status.listeners", generation, inputs.now)]
            if !(gateway.spec?.addresses ?? []).isEmpty {
                conditions.append(condition("Programmed", false, "AddressNotAssigned",
                                            "Gateways answer on the ingress nodes' addresses; give a Gateway a LoadBalancer address with a Service of type LoadBalancer", generation, inputs.now))
            } else {
                let any = evaluated.contains(where: \.programmed)
                conditions.append(condition("Programmed", any, any ? "Programmed" : "Invalid", any ? "the data plane serves the Gateway" : "no listener could be programmed", generation, inputs.now))
            }
            statuses.gateways[gatewayKey] = GatewayStatus(addresses: nil, conditions: conditions, listeners: listenerStatuses)
        }
        return statuses
    }

    struct Listener {
        var spec: GatewayListener
        var programmed: Bool
        var status: ListenerStatus
    }

    /// A listener's conditions; a valid one is bound on its port (with its certificates).
    static func evaluate(_ listener: GatewayListener, gateway: Gateway, inputs: Inputs, bound: inout [Int: Bool], plan: inout IngressPlan) -> Listener {
        let generation = gateway.metadata.generation, namespace = gateway.metadata.namespace ?? "default"
        var accepted = (true, "Accepted", "the listener is accepted")
        var conflicted = (false, "NoConflicts", "no conflict")
        var resolved = (true, "ResolvedRefs", "every reference resolved")
        let tls = listener.protocol == "HTTPS"
        var certificates: [String] = []
        if !GatewayListener.protocols.contains(listener.protocol) {
            accepted = (false, "UnsupportedProtocol", "Berth's data plane carries HTTP and HTTPS listeners, not \(listener.protocol)")
        } else if let existing = bound[listener.port], existing != tls {
            conflicted = (true, "ProtocolConflict", "port \(listener.port) already serves \(existing ? "HTTPS" : "HTTP")")
        }
        let kinds = listener.allowedRoutes?.kinds ?? []
        if !kinds.isEmpty && !kinds.contains(where: { ($0.group ?? GatewayValidation.group) == GatewayValidation.group && $0.kind == "HTTPRoute" }) {
            resolved = (false, "InvalidRouteKinds", "Berth's listeners carry HTTPRoute only")
        }
        if tls {
            if listener.tls?.mode == "Passthrough" { accepted = (false, "UnsupportedValue", "TLS passthrough is not supported; use mode Terminate") }
            for reference in listener.tls?.certificateRefs ?? [] {
                let qualified = "\(reference.namespace ?? namespace)/\(reference.name)"
                if reference.namespace.map({ $0 != namespace }) ?? false {
                    resolved = (false, "RefNotPermitted", "certificate \(qualified) is in another namespace (ReferenceGrant is not supported)")
                } else if !inputs.secrets.contains(qualified) {
                    resolved = (false, "InvalidCertificateRef", "Secret \(qualified) does not exist or holds no tls.crt and tls.key")
                } else {
                    certificates.append(qualified)
                }
            }
        }
        let programmed = accepted.0 && !conflicted.0 && resolved.0
        if programmed {
            bound[listener.port] = tls
            if listener.port != inputs.httpPort && listener.port != inputs.httpsPort { plan.listeners[listener.port] = tls }
            for secret in certificates {
                let hosts = listener.hostname.map { [$0.lowercased()] } ?? []
                if let index = plan.certificates.firstIndex(where: { $0.secret == secret }) {
                    plan.certificates[index].hosts = Array(Set(plan.certificates[index].hosts + hosts)).sorted()
                } else {
                    plan.certificates.append(.init(secret: secret, hosts: hosts))
                }
            }
        }
        let now = inputs.now
        let status = ListenerStatus(name: listener.name, supportedKinds: resolved.1 == "InvalidRouteKinds" ? [] : [routeKind], attachedRoutes: 0, conditions: [
            condition("Accepted", accepted.0, accepted.1, accepted.2, generation, now),
            condition("Conflicted", conflicted.0, conflicted.1, conflicted.2, generation, now),
            condition("ResolvedRefs", resolved.0, resolved.1, resolved.2, generation, now),
            condition("Programmed", programmed, programmed ? "Programmed" : "Invalid", programmed ? "the data plane serves the listener" : "the listener is not served", generation, now),
        ])
        return Listener(spec: listener, programmed: programmed, status: status)
    }

    static func allows(_ listener: GatewayListener, routeNamespace: String, gateway: Gateway, labels: [String: [String: String]]) -> Bool {
        let namespaces = listener.allowedRoutes?.namespaces
        switch namespaces?.from ?? "Same" {
        case "All": return true
        case "Selector":
            guard let spec = namespaces?.selector, let selector = try? LabelSelector(spec) else { return false }
            return selector.matches(labels[routeNamespace] ?? [:])
        default: return routeNamespace == (gateway.metadata.namespace ?? "default")
        }
    }

    /// The hosts a route answers on through a listener: the intersection of the listener's
    /// hostname with the route's (a wildcard takes any depth below its domain); nil means any.
    public static func hosts(listener: String?, route: [String]) -> [String?] {
        guard !route.isEmpty else { return [listener?.lowercased()] }
        var result: [String?] = []
        for candidate in route.map({ $0.lowercased() }) {
            guard let listener = listener?.lowercased() else {
                if !result.contains(candidate) { result.append(candidate) }
                continue
            }
            func covers(_ wildcard: String, _ name: String) -> Bool { name.hasSuffix(String(wildcard.dropFirst(1))) && name.count > wildcard.count - 1 }
            var host: String?
            switch (listener.hasPrefix("*."), candidate.hasPrefix("*.")) {
            case (false, false): host = listener == candidate ? candidate : nil
            case (true, false): host = covers(listener, candidate) ? candidate : nil
            case (false, true): host = covers(candidate, listener) ? listener : nil
            case (true, true): host = candidate == listener || covers(listener, candidate) ? candidate : covers(candidate, listener) ? listener : nil
            }
            if let host, !result.contains(host) { result.append(host) }
        }
        return result
    }

    /// The names of the classes whose controller is Berth's.
    public static func berthClasses(_ classes: [GatewayClass]) -> Set<String> {
        Set(classes.filter { $0.spec?.controllerName == GatewayClass.berthController }.compactMap(\.metadata.name))
    }

    /// A filter type the data plane does not carry out; filters on a backendRef are none it does.
    static func unsupportedFilter(_ route: HTTPRoute) -> String? {
        for rule in route.spec?.rules ?? [] {
            if let filter = (rule.filters ?? []).first(where: { !HTTPRouteFilter.supported.contains($0.type) }) { return filter.type }
            if let filter = (rule.backendRefs ?? []).flatMap({ $0.filters ?? [] }).first { return "\(filter.type) on a backendRef" }
        }
        return nil
    }

    /// The rule's backend: its Services' endpoints, each server weighted by its reference's
    /// share divided among that reference's endpoints; the problem when a reference does not
    /// resolve (that share is left out; none left answers 500).
    static func backendName(_ rule: HTTPRouteRule, index: Int, route: HTTPRoute, inputs: Inputs, plan: inout IngressPlan) -> (String, (String, String)?) {
        let namespace = route.metadata.namespace ?? "default"
        var problem: (String, String)?
        var shares: [(servers: [IngressPlan.Server], weight: Int)] = []
        let references = rule.backendRefs ?? []
        for reference in references {
            guard (reference.kind ?? "Service") == "Service", (reference.group ?? "").isEmpty else {
                problem = ("InvalidKind", "backend \(reference.name) is a \(reference.kind ?? ""), not a Service")
                continue
            }
            if let other = reference.namespace, other != namespace {
                problem = ("RefNotPermitted", "backend \(other)/\(reference.name) is in another namespace (ReferenceGrant is not supported)")
                continue
            }
            guard let servers = inputs.endpoints(namespace, reference.name, ServiceBackendPort(name: nil, number: reference.port)) else {
                problem = ("BackendNotFound", "Service \(namespace)/\(reference.name) (port \(reference.port ?? 0)) does not exist")
                continue
            }
            shares.append((servers, reference.weight ?? 1))
        }
        if !references.isEmpty && shares.isEmpty { return (invalidBackend, problem) }
        let name = IngressPlanner.sanitized("gw_\(namespace)_\(route.metadata.name ?? "")_\(index)")
        var servers: [IngressPlan.Server] = []
        let weighted = shares.count > 1
        let largest = shares.filter { !$0.servers.isEmpty }.map { Double($0.weight) / Double($0.servers.count) }.max() ?? 1
        for share in shares where share.weight > 0 {
            for server in share.servers.sorted(by: { ($0.ip, $0.port) < ($1.ip, $1.port) }) {
                var server = server
                if weighted { server.weight = max(1, Int((Double(share.weight) / Double(share.servers.count) / largest * 256).rounded())) }
                servers.append(server)
            }
        }
        var options = IngressAnnotations.BackendOptions()
        if let timeout = rule.timeouts?.backendRequest ?? rule.timeouts?.request, let milliseconds = GatewayValidation.durationMilliseconds(timeout), milliseconds > 0 {
            options.readTimeout = "\(milliseconds)ms"
        }
        if !plan.backends.contains(where: { $0.name == name }) { plan.backends.append(IngressPlan.Backend(name: name, servers: servers, options: options)) }
        return (name, problem)
    }

    static func route(_ match: HTTPRouteMatch, rule: HTTPRouteRule, host: String?, port: Int, backend: String, source: String, order: Int) -> IngressPlan.Route {
        let type = match.path?.type ?? "PathPrefix"
        var route = IngressPlan.Route(host: host, path: match.path?.value ?? "/", exact: type == "Exact", backend: backend, source: source, ports: [port], order: order)
        route.match.pathRegex = type == "RegularExpression"
        route.match.wildcardAnyDepth = true
        route.match.method = match.method
        route.match.headers = (match.headers ?? []).map { .init(name: $0.name.lowercased(), value: $0.value, regex: $0.type == "RegularExpression") }
        route.match.queryParams = (match.queryParams ?? []).map { .init(name: $0.name, value: $0.value, regex: $0.type == "RegularExpression") }
        for filter in rule.filters ?? [] {
            switch filter.type {
            case "RequestHeaderModifier":
                let modifier = filter.requestHeaderModifier
                route.filters.setRequest = (modifier?.set ?? []).map { .init(name: $0.name, value: $0.value) }
                route.filters.addRequest = (modifier?.add ?? []).map { .init(name: $0.name, value: $0.value) }
                route.filters.removeRequest = modifier?.remove ?? []
            case "ResponseHeaderModifier":
                let modifier = filter.responseHeaderModifier
                route.filters.setResponse = (modifier?.set ?? []).map { .init(name: $0.name, value: $0.value) }
                route.filters.addResponse = (modifier?.add ?? []).map { .init(name: $0.name, value: $0.value) }
                route.filters.removeResponse = modifier?.remove ?? []
            case "URLRewrite":
                route.filters.rewriteHost = filter.urlRewrite?.hostname
                route.filters.rewritePath = filter.urlRewrite?.path.flatMap(pathChange)
            case "RequestRedirect":
                var redirect = IngressPlan.Redirect()
                redirect.scheme = filter.requestRedirect?.scheme
                redirect.hostname = filter.requestRedirect?.hostname
                redirect.port = filter.requestRedirect?.port
                redirect.path = filter.requestRedirect?.path.flatMap(pathChange)
                redirect.statusCode = filter.requestRedirect?.statusCode ?? 302
                route.filters.redirect = redirect
            default: break
            }
        }
        return route
    }

    static func pathChange(_ modifier: HTTPPathModifier) -> IngressPlan.PathChange? {
        switch modifier.type {
        case "ReplaceFullPath": return modifier.replaceFullPath.map { .full($0) }
        case "ReplacePrefixMatch": return modifier.replacePrefixMatch.map { .prefix($0) }
        default: return nil
        }
    }

    static func condition(_ type: String, _ status: Bool, _ reason: String, _ message: String, _ generation: Int64?, _ now: String) -> Condition {
        var condition = Condition(type: type, status: status ? "True" : "False", lastTransitionTime: now, reason: reason, message: message)
        condition.observedGeneration = generation
        return condition
    }

    /// Conditions as written: a condition whose status did not change keeps its transition time.
    public static func settled(_ conditions: [Condition], previous: [Condition]?) -> [Condition] {
        conditions.map { condition in
            guard let old = previous?.first(where: { $0.type == condition.type }), old.status == condition.status else { return condition }
            var kept = condition
            kept.lastTransitionTime = old.lastTransitionTime
            return kept
        }
    }

    static func key(_ metadata: ObjectMeta) -> String { "\(metadata.namespace ?? "default")/\(metadata.name ?? "")" }

    static func older(_ a: Gateway, _ b: Gateway) -> Bool { older(a.metadata, b.metadata) }
    static func older(_ a: HTTPRoute, _ b: HTTPRoute) -> Bool { older(a.metadata, b.metadata) }
    static func older(_ a: ObjectMeta, _ b: ObjectMeta) -> Bool {
        let (x, y) = (a.creationTimestamp ?? "", b.creationTimestamp ?? "")
        return x != y ? x < y : key(a) < key(b)
    }
}
