import BerthCore
import BerthRegistry
import BerthStore
import Foundation
import Hummingbird
import Logging
import ServiceLifecycle

/// `POST /berth/v1/registry/gc[?dryRun=true&graceSeconds=N]` (`berth registry gc`): one
/// garbage collection now, answered with its report. A non-resource path: `system:masters`, or
/// an RBAC rule with `nonResourceURLs`.
public enum RegistryPaths {
    public static let garbageCollection = "/berth/v1/registry/gc"
    public static let usage = "/berth/v1/registry/usage"
}

extension APIServer {
    static var registryGarbageCollectionMount: Mount {
        Mount(name: "registry-gc", matches: Mount.prefix(RegistryPaths.garbageCollection)) { server, request, _, _ throws(BerthError) in
            guard request.method == .post else { throw BerthError(.methodNotAllowed, "POST runs a garbage collection") }
            guard let registry = server.imageRegistry else { throw BerthError(.notFound, "this server runs no registry") }
            let query = QueryParameters(request.uri.query)
            let grace = try query.integer("graceSeconds") ?? Int(registry.configuration.garbageCollectionGrace)
            guard grace >= 0 else { throw BerthError(.badRequest, "graceSeconds must not be negative") }
            let collector = RegistryGarbageCollector(metadata: registry.metadata, storage: registry.storage)
            let report = try await collector.run(now: server.clock.now(), grace: TimeInterval(grace), retention: try await server.retentionRules(),
                                                 dryRun: query.flag("dryRun"))
            return Responses.json(try JSONValue(encoding: report))
        }
    }

    /// The periodic collection (`--registry-gc-interval`), beside the HTTP server.
    public var registryGarbageCollection: (any ServiceLifecycle.Service)? {
        guard let registry = imageRegistry, let interval = registry.configuration.garbageCollectionInterval else { return nil }
        return RegistryGarbageCollectionService(server: self, collector: RegistryGarbageCollector(metadata: registry.metadata, storage: registry.storage),
                                                interval: interval, grace: registry.configuration.garbageCollectionGrace, logger: logger)
    }

    /// Each namespace's retention rules (its `registry.berth.dev/retention` annotation); a
    /// namespace whose annotation does not parse is skipped, with a warning.
    func retentionRules() async throws(BerthError) -> [String: [RetentionRule]] {
        var rules: [String: [RetentionRule]] = [:]
        for kv in try await storage.list(.namespace, namespace: nil, limit: 0, continueAfter: nil).kvs {
            let object = try ObjectCodec.decode(kv)
            guard let name = object.value(at: ["metadata", "name"])?.stringValue,
                  let text = object.value(at: ["metadata", "annotations", RetentionRule.annotation])?.stringValue else { continue }
            do { rules[name] = try RetentionRule.parse(text) } catch {
                logger.warning("ignoring a registry retention annotation that does not parse", metadata: ["namespace": "\(name)", "error": "\(error.message)"])
            }
        }
        return rules
    }
}

struct RegistryGarbageCollectionService: ServiceLifecycle.Service {
    let server: APIServer
    let collector: RegistryGarbageCollector
    let interval: Duration
    let grace: TimeInterval
    let logger: Logger

    func run() async throws {
        while !Task.isCancelled {
            try? await Task.sleep(for: interval)
            if Task.isCancelled || Task.isShuttingDownGracefully { return }
            do {
                let report = try await collector.run(grace: grace, retention: try await server.retentionRules())
                if report.blobsRemoved > 0 || report.linksRemoved > 0 || report.uploadsRemoved > 0 {
                    logger.info("registry garbage collected", metadata: ["blobs": "\(report.blobsRemoved)", "bytes": "\(report.bytesFreed)",
                                                                         "links": "\(report.linksRemoved)", "uploads": "\(report.uploadsRemoved)"])
                }
            } catch {
                logger.warning("registry garbage collection failed", metadata: ["error": "\(error)"])
            }
        }
    }
}
