import BerthCore
import BerthStore
import Foundation
import Hummingbird
import Logging
import ServiceLifecycle

public struct APIServerConfiguration: Sendable {
    /// The bearer token of the admin user; `nil` turns authentication off (unit tests only).
    public var adminToken: String?
    /// How often a watch that asked for bookmarks gets one.
    public var bookmarkInterval: Duration = .seconds(60)
    /// A watch writes at most once per this interval while events keep coming: under load one
    /// write (one TLS record run, one syscall) carries several events; an event after a quiet
    /// spell goes out at once. Zero writes every wake-up.
    public var watchCoalescing: Duration = .milliseconds(5)
    /// Longest watch when the client sets no `timeoutSeconds` (Kubernetes picks 30–60 min).
    public var maximumWatchDuration: Duration = .seconds(1800)
    /// Largest accepted request body (Kubernetes' limit is 3 MiB).
    public var maximumBodyBytes = 3 * 1024 * 1024
    /// Addresses handed to Services (DESIGN.md §6).
    public var serviceCIDR = "100.64.0.0/13"
    /// The pod range (DESIGN.md §6): IPPool addresses must lie inside it.
    public var clusterCIDR = "100.96.0.0/11"
    /// Signs node client certificates for hosts that join; nil means joining is off.
    public var nodeCertificates: NodeCertificateIssuer?
    /// Requests over the network served at once (`InflightLimit`); the server's own
    /// controllers and agent, in process, are not counted.
    public var maximumRequestsInflight = 400
    public var maximumMutatingRequestsInflight = 200
    /// Records every request (`--audit-log-path`); nil records nothing.
    public var auditLog: AuditLog?
    /// Resources encrypted in the store: an update of one is always written, even unchanged, so
    /// rewriting them all moves them to the first key (rotation).
    public var encryption: EncryptionConfiguration?
    /// Where pods reach this server: the `kubernetes` Service's endpoint (nil: no such Service).
    /// Tokens of Berth's own in-process parts and who they are (the controllers, the local
    /// agent): each runs with its own rights, not the admin's.
    public var internalTokens: [String: UserInfo] = [:]
    /// The built-in registry at `/v2/`; nil serves none.
    public var registry: RegistryConfiguration?
    public var advertiseAddress: String?
    public var advertisePort: Int?
    /// How often the nodes' usage is read (metrics.k8s.io is at most about this old), and how
    /// much history is kept (`--metrics-history`).
    public var metricsInterval: Duration = .seconds(3)
    public var metricsHistory: Duration = .seconds(3600)
    /// The Prometheus PrometheusMetric objects ask when they name none (`--prometheus-url`).
    public var prometheusURL: String?
    /// The store's files, when it has them here (SQLite: the database and its WAL), for
    /// `apiserver_storage_size_bytes`; etcd reports its own size.
    public var storeFiles: [String] = []
    /// The server's certificates and when they expire (`berth_certificate_expiration_timestamp_seconds`).
    public var certificateExpirations: [String: Date] = [:]

    public init(adminToken: String? = nil) { self.adminToken = adminToken }
}

/// The Kubernetes-shaped API: routes a request to discovery, OpenAPI or a resource handler.
public final class APIServer: Sendable {
    let registry: ResourceRegistry
    let storage: ObjectStorage
    let configuration: APIServerConfiguration
    let clock: ServerClock
    let logger: Logger
    let namespaceFinalizer: NamespaceFinalizer
    /// Where logs and exec streams of pods come from (the node agents).
    public let nodeStreams = NodeStreams()
    /// Node client certificates already verified (see `identify`).
    let certificateIdentities = CertificateIdentityCache()
    /// Namespaces, priority classes and IP pools in memory, for admission (`AdmissionReads`).
    let admissionMirror: PrefixMirror
    /// Paces the writes of all watches (`APIServerConfiguration.watchCoalescing`).
    let watchTicker: WatchTicker
    let inflight: InflightLimit
    /// Handlers mounted beside the Kubernetes API (`Mount`).
    let router = Router(APIServer.builtInMounts)
    /// Where each request's record goes (`--audit-log-path`); nil records nothing.
    let audit: AuditLog?
    /// The RBAC objects, indexed (`rbacIndex`).
    let rbacCache = RBACCache()
    /// Parsed mirrored objects (`AdmissionDecodeCache`).
    let admissionDecodeCache = AdmissionDecodeCache()
    /// Quota-charged writes per namespace, one at a time (`QuotaAdmission`).
    let quotaGate = QuotaGate()
    /// Signs and checks ServiceAccount tokens (made once: its key ID is a hash of the key).
    let serviceAccountTokens: ServiceAccountTokens?
    /// The built-in registry (`/v2/`), when configured.
    let imageRegistry: ImageRegistry?
    /// The nodes' usage now and over the history window (`metrics.k8s.io`, `/berth/v1/history`).
    public let metricsCollector: ResourceMetricsCollector

    public init(store: any KeyValueStore, registry: ResourceRegistry = .standard, configuration: APIServerConfiguration,
                clock: ServerClock = ServerClock(), logger: Logger = Logger(label: "berth.apiserver")) {
        self.registry = registry
        let storage = ObjectStorage(kv: store)
        self.storage = storage
        self.admissionMirror = PrefixMirror(prefixes: Self.mirroredKinds.map { storage.prefix($0, namespace: nil) } + [Self.revokedCertificatesPrefix, ServiceAccountKeyRing.prefix])
        self.configuration = configuration
        self.clock = clock
        self.logger = logger
        self.namespaceFinalizer = NamespaceFinalizer(registry: registry, storage: storage, logger: logger)
        self.watchTicker = WatchTicker(interval: configuration.watchCoalescing)
        self.inflight = InflightLimit(maximumReadOnly: configuration.maximumRequestsInflight,
                                      maximumMutating: configuration.maximumMutatingRequestsInflight)
        self.audit = configuration.auditLog
        self.serviceAccountTokens = configuration.nodeCertificates?.serviceAccountTokens
        self.metricsCollector = ResourceMetricsCollector(interval: configuration.metricsInterval, historyWindow: configuration.metricsHistory)
        do {
            self.imageRegistry = try configuration.registry.map { (settings) throws(BerthError) in try ImageRegistry(configuration: settings, kv: store) }
        } catch {
            logger.error("the registry cannot start", metadata: ["storage": "\(configuration.registry?.storageDirectory ?? "")", "error": "\(error.message)"])
            self.imageRegistry = nil
        }
        // The namespace finalizer deletes what a namespace holds as a client's DELETE would:
        // pods on a node get their grace period and their agent stops them.
        namespaceFinalizer.deleteObject = { [unowned self] descriptor, namespace, name throws(BerthError) in
            _ = try await self.delete(ResourceTarget(descriptor: descriptor, namespace: namespace, name: name), name, DeleteOptions())
        }
    }

    /// The services that must run beside the HTTP server.
    public var services: [any ServiceLifecycle.Service] {
        [namespaceFinalizer, AdmissionMirrorService(mirror: admissionMirror, store: storage.kv), watchTicker,
         ResourceMetricsService(collector: metricsCollector, server: self)]
    }

    /// Creates the namespaces and priority classes every cluster starts with (idempotent).
    public func bootstrap() async throws(BerthError) {
        for name in ["default", "kube-system", "kube-public", "kube-node-lease", "berth-system"] {
            var namespace = Namespace(metadata: ObjectMeta(name: name))
            Namespace.applyDefaults(&namespace)
            try await createIfAbsent(.namespace, namespace)
        }
        try await createSystemPriorityClasses()
        try await createDefaultRoles()
        try await repairServiceAllocations()
        try await storeFirstSigningKey()
        try await ensureKubernetesService()
        // The default IngressClass, Berth's own data plane (created once; an admin may
        // take the default away from it).
        try await createIfAbsent(.ingressClass, IngressClass(
            metadata: ObjectMeta(name: "berth", annotations: [IngressClass.defaultAnnotation: "true"]),
            spec: IngressClassSpec(controller: IngressClass.berthController)))
        // The GatewayClass of the same data plane, for Gateway API users.
        try await createIfAbsent(.gatewayClass, GatewayClass(
            metadata: ObjectMeta(name: "berth"),
            spec: GatewayClassSpec(controllerName: GatewayClass.berthController, description: "Berth's ingress data plane (HAProxy on the ingress nodes)")))
        // The default StorageClass: sized volumes on the node's disk, made where the claim's
        // first pod lands (created once; an admin may take the default away from it).
        var local = StorageClass(metadata: ObjectMeta(name: StorageNames.defaultClass, annotations: [StorageClass.defaultAnnotation: "true"]),
                                 provisioner: StorageNames.localProvisioner)
        local.reclaimPolicy = "Delete"
        local.volumeBindingMode = "WaitForFirstConsumer"
        local.allowVolumeExpansion = true
        try await createIfAbsent(.storageClass, local)
        // Snapshot classes for Berth's two drivers, each the default for its driver.
        for (name, driver) in [("local", StorageNames.localProvisioner), ("glusterfs", StorageNames.glusterProvisioner)] {
            try await createIfAbsent(.volumeSnapshotClass, VolumeSnapshotClass(
                metadata: ObjectMeta(name: name, annotations: [VolumeSnapshotClass.defaultAnnotation: "true"]), driver: driver, deletionPolicy: "Delete"))
        }
    }

    /// Stores a built-in object unless one of that name exists.
    func createIfAbsent(_ descriptor: ResourceDescriptor, _ value: some Encodable) async throws(BerthError) {
        var object = try JSONValue(encoding: value)
        object.set(.string(ObjectUID.make()), at: ["metadata", "uid"])
        object.set(.string(clock.timestamp()), at: ["metadata", "creationTimestamp"])
        do {
            _ = try await storage.create(descriptor, object)
        } catch where error.code == .alreadyExists {
            return
        }
    }

    /// The responder that serves every request.
    public var responder: APIResponder { APIResponder(server: self) }

    /// The request pipeline every path goes through: authenticate → route → authorize →
    /// handle (admission and storage inside the handlers) → audit.
    func respond(to request: Request, channel: (any Channel)? = nil) async -> Response {
        let started = ContinuousClock.now
        guard let audit else {
            let (response, attributes, _) = await handle(request, channel: channel, received: clock.now(), auditing: nil)
            countRequest(request, attributes, response, since: started)
            return response
        }
        let received = clock.now()
        let capture = AuditCapture(keepsBodies: audit.policy.recordsBodies)
        let (response, attributes, begun) = await AuditCapture.$current.withValue(capture) {
            await handle(request, channel: channel, received: received, auditing: audit)
        }
        var entry = begun
        if entry == nil { entry = audit.begin(attributes, tenant: await auditTenant(attributes)) }
        if let entry {
            audit.completed(entry, attributes, request: request, status: Int(response.status.code), received: received, finished: clock.now(), capture: capture)
        }
        countRequest(request, attributes, response, since: started)
        return response
    }

    /// The tenant of the namespace a request is in, for its audit event.
    func auditTenant(_ attributes: RequestAttributes) async -> String? {
        guard let namespace = attributes.namespace else { return nil }
        return try? await tenantName(ofNamespace: namespace)
    }

    /// The pipeline up to audit. With an audit log, the request's event begins once the request
    /// is routed (the RequestReceived stage is written then, if the policy keeps it).
    private func handle(_ request: Request, channel: (any Channel)?, received: Date, auditing audit: AuditLog?)
        async -> (response: Response, attributes: RequestAttributes, entry: AuditLog.Entry?) {
        var attributes = RequestAttributes(user: .anonymous, verb: RequestAttributes.verb(request.method), path: request.uri.path, target: nil)
        var entry: AuditLog.Entry?
        func begin(_ attributes: RequestAttributes) async {
            guard let audit else { return }
            entry = audit.begin(attributes, tenant: await auditTenant(attributes))
            if let entry { audit.received(entry, attributes, request: request, at: received) }
        }
        let response: Response
        var mount: Mount?
        do throws(BerthError) {
            var request = request
            // Only network requests are counted: the in-process transport has no channel.
            let slot = channel == nil ? nil : try inflight.enter(request.method, path: attributes.path, query: request.uri.query)
            defer { if let slot { inflight.leave(slot) } }
            attributes.user = try await authenticate(request.headers, channel: channel, path: attributes.path)
            mount = router.mount(for: attributes.path)
            if let mount {
                if let target = mount.target(request, registry) {
                    attributes.target = target
                    attributes.verb = RequestAttributes.verb(request.method, target: target, watch: false)
                }
                await begin(attributes)
                if !mount.authorizesItself { _ = try await authorize(attributes, &request) }
                response = try await mount.handle(self, request, attributes, channel)
            } else {
                let routed = try PathRouter.route(attributes.path, registry: registry)
                if case .resource(let target) = routed {
                    attributes.target = target
                    attributes.verb = RequestAttributes.verb(request.method, target: target,
                                                             watch: target.legacyWatch || QueryParameters(request.uri.query).flag("watch"))
                }
                await begin(attributes)
                let visibility = VisibleNamespaces.Box()
                let authorizeResult: Result<PrefetchedObject?, BerthError> = await VisibleNamespaces.$box.withValue(visibility) { [attributes] in
                    do throws(BerthError) { return .success(try await self.authorize(attributes, &request)) } catch { return .failure(error) }
                }
                let prefetched = try authorizeResult.get()
                let authorized = request
                let user = attributes.user
                response = try await withPrefetched(prefetched) { () async throws(BerthError) -> Response in
                    let result: Result<Response, BerthError> = await RequestUser.$current.withValue(user) {
                        await VisibleNamespaces.$box.withValue(visibility) {
                            do throws(BerthError) { return .success(try await self.serve(routed, authorized, channel: channel)) } catch { return .failure(error) }
                        }
                    }
                    return try result.get()
                }
            }
        } catch {
            if error.code == .internalError { logger.error("request failed", metadata: ["path": "\(request.uri.path)", "error": "\(error.message)"]) }
            if let render = (mount ?? router.mount(for: attributes.path))?.renderError {
                response = render(self, error, request)
            } else if let seconds = error.details?.retryAfterSeconds {
                response = Responses.status(error, headers: [.retryAfter: String(seconds)])
            } else {
                response = Responses.status(error)
            }
        }
        return (response, attributes, entry)
    }

    /// The Kubernetes API's own paths.
    private func serve(_ routed: RoutedPath, _ request: Request, channel: (any Channel)?) async throws(BerthError) -> Response {
        switch routed {
        case .resource(let target): return try await handleResource(request, target, channel: channel)
        case .coreVersions: return Responses.json(Discovery.coreVersions())
        case .groupList: return Responses.json(Discovery.groupList(registry))
        case .group(let group): return Responses.json(Discovery.group(group, registry))
        case .resourceList(let group, let version): return Responses.json(Discovery.resourceList(group: group, version: version, registry))
        case .version: return Responses.json(Discovery.version())
        case .health(let name): return try await health(name, request)
        case .openAPIRoot: return Responses.json(OpenAPIDocument.root(registry))
        case .openAPIGroup(let group, let version):
            guard let document = OpenAPIDocument.cachedGroupVersion(group: group, version: version, registry) else {
                throw BerthError(.notFound, "the server could not find the requested resource")
            }
            return Responses.json(document)
        case .openAPIV2: return OpenAPIDocument.version2(accept: request.headers[.accept])
        case .notFound:
            throw BerthError(.notFound, "the server could not find the requested resource")
        }
    }

    func health(_ name: String, _ request: Request) async throws(BerthError) -> Response {
        // Ready means the store answers.
        if name == "readyz" || name == "healthz" { _ = try await storage.kv.currentRevision() }
        var response = Response(status: .ok, headers: [.contentType: "text/plain; charset=utf-8"], body: ResponseBody(byteBuffer: ByteBuffer(string: "ok")))
        response.headers[.cacheControl] = "no-cache, private"
        return response
    }
}

/// Hummingbird's entry point: one responder for every path (Kubernetes paths are too
/// irregular for a route table: namespaces, subresources, legacy watch prefixes).
public struct APIResponder: HTTPResponder {
    public typealias Context = APIRequestContext
    let server: APIServer

    public func respond(to request: Request, context: Context) async throws -> Response {
        await server.respond(to: request, channel: context.channel)
    }
}

import NIOCore
