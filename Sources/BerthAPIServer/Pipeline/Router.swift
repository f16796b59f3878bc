import BerthCore
import Hummingbird
import NIOCore
import Synchronization

/// A handler mounted on the API address at a path prefix: Berth's own paths (joining, probes,
/// the node proxy) and, as they come, the registry (`/v2/`), `/metrics` and the console
/// (`/ui/`). Every request to it goes through the same pipeline as the Kubernetes API —
/// authenticate, authorize (on `target` when it addresses a resource, else on the path),
/// handle, audit — so a mount only says what a request means and how to answer it.
public struct Mount: Sendable {
    let name: String
    let matches: @Sendable (String) -> Bool
    /// The resource a request addresses (the node proxy is `nodes/proxy`), for authorization
    /// and audit; nil makes it a non-resource path.
    let target: @Sendable (Request, ResourceRegistry) -> ResourceTarget?
    let handle: @Sendable (APIServer, Request, RequestAttributes, (any Channel)?) async throws(BerthError) -> Response
    /// The mount decides access itself, per object it serves (the registry: per repository and
    /// action, answering refusals in its own protocol); the pipeline still authenticates and audits.
    let authorizesItself: Bool
    /// How a failure on this mount is answered when its protocol is not Kubernetes' (the
    /// registry's `{"errors":[…]}` with a `WWW-Authenticate` challenge); nil: a `Status`.
    let renderError: (@Sendable (APIServer, BerthError, Request) -> Response)?

    init(name: String, matches: @escaping @Sendable (String) -> Bool,
         target: @escaping @Sendable (Request, ResourceRegistry) -> ResourceTarget? = { _, _ in nil },
         authorizesItself: Bool = false,
         renderError: (@Sendable (APIServer, BerthError, Request) -> Response)? = nil,
         handle: @escaping @Sendable (APIServer, Request, RequestAttributes, (any Channel)?) async throws(BerthError) -> Response) {
        self.name = name
        self.matches = matches
        self.target = target
        self.authorizesItself = authorizesItself
        self.renderError = renderError
        self.handle = handle
    }

    /// Everything under `prefix` (`/v2/` serves `/v2/…`; `/metrics` serves itself only).
    static func prefix(_ prefix: String) -> @Sendable (String) -> Bool {
        if prefix.hasSuffix("/") {
            return { path in path.hasPrefix(prefix) || path + "/" == prefix }
        }
        return { path in path == prefix }
    }
}

/// The mounts, consulted in order before the Kubernetes API's own paths.
final class Router: Sendable {
    private let mounts: Mutex<[Mount]>

    init(_ mounts: [Mount]) { self.mounts = Mutex(mounts) }

    func add(_ mount: Mount) { mounts.withLock { $0.append(mount) } }

    func mount(for path: String) -> Mount? { mounts.withLock { $0.first { $0.matches(path) } } }
}

extension APIServer {
    /// Mounts a handler on the API address (see `Mount`).
    func mount(_ mount: Mount) { router.add(mount) }

    /// Berth's own paths beside the Kubernetes API.
    static var builtInMounts: [Mount] {
        [
            Mount(name: "cluster-ca", matches: Mount.prefix(JoinPaths.clusterCA)) { server, _, _, _ throws(BerthError) in try server.clusterCA() },
            Mount(name: "join", matches: Mount.prefix(JoinPaths.join)) { server, request, attributes, _ throws(BerthError) in
                try await server.join(request, user: attributes.user)
            },
            Mount(name: "serviceaccount-signing-keys", matches: Mount.prefix(SigningKeyPaths.rotate)) { server, request, _, _ throws(BerthError) in
                try await server.rotateSigningKey(request)
            },
            Mount(name: "pod-probe", matches: { PodProbePath(path: $0) != nil }) { server, request, _, _ throws(BerthError) in
                try await server.podProbe(request)
            },
        ] + reviewMounts + [registryMount, registryGarbageCollectionMount, registryUsageMount, metricsMount, resourceMetricsMount, usageHistoryMount, metricsAdapterMount, discoveryTargetsMount, logSearchMount, autoscalingV1Mount] + [
            Mount(name: "node-proxy", matches: { NodeProxyPath(path: $0) != nil }, target: { request, _ in
                NodeProxyPath(path: request.uri.path).map { ResourceTarget(descriptor: .node, namespace: nil, name: $0.node, subresource: "proxy") }
            }) { server, request, _, _ throws(BerthError) in
                try await server.nodeProxy(request)
            },
        ]
    }
}

/// Rotating the ServiceAccount signing key (a non-resource path: `system:masters`, or an RBAC
/// rule with `nonResourceURLs`).
public enum SigningKeyPaths {
    public static let rotate = "/berth/v1/serviceaccount-signing-keys/rotate"
}

/// `/api/v1/nodes/NAME/proxy/…`.
struct NodeProxyPath {
    let node: String
    let rest: [String]

    /// The kubelet's metrics paths an agent serves.
    static let metricsPaths: Set<String> = ["metrics", "metrics/cadvisor", "metrics/resource"]

    init?(path: String) {
        let segments = path.split(separator: "/").map(String.init)
        guard segments.count >= 5, segments[0] == "api", segments[1] == "v1", segments[2] == "nodes", segments[4] == "proxy" else { return nil }
        node = segments[3]
        rest = Array(segments.dropFirst(5))
    }
}

/// `/berth/v1/namespaces/NS/pods/NAME/probe`.
struct PodProbePath {
    let namespace: String
    let pod: String

    init?(path: String) {
        let segments = path.split(separator: "/").map(String.init)
        guard segments.count == 7, segments[0] == "berth", segments[1] == "v1", segments[2] == "namespaces", segments[4] == "pods",
              segments[6] == "probe" else { return nil }
        namespace = segments[3]
        pod = segments[5]
    }
}
