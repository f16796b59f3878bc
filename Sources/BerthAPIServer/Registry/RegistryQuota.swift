import BerthCore
import BerthImages
import BerthRegistry
import BerthStore
import Hummingbird

/// Registry storage in ResourceQuota: `registry.berth.dev/storage` limits the bytes of the
/// blobs a namespace's repositories hold (each blob once per namespace), in a namespace's
/// quotas and in its tenant's. A blob's first link in a namespace raises `status.used` of every
/// governing quota in the same transaction (each unchanged since read), so concurrent pushes
/// never exceed; a push past the limit is refused with DENIED and Kubernetes' quota words.
extension APIServer {
    static let registryStorageQuota = "registry.berth.dev/storage"

    func linkBlob(_ digest: Digest, size: Int64, into repository: RepositoryName, _ registry: ImageRegistry) async throws(BerthError) {
        let namespace = repository.namespace
        for _ in 0..<16 {
            var charges: ([Compare], [BerthStore.Operation])?
            if try await !registry.metadata.isCounted(digest, in: namespace), await isQuotaGoverned(namespace) {
                charges = try await storageCharges(namespace: namespace, bytes: size, repository: repository)
            }
            if try await registry.metadata.link(digest, size: size, into: repository, at: clock.timestamp(), charges: charges) { return }
        }
        throw BerthError.oci(.tooManyRequests, "the quotas of namespace \(namespace) kept changing; try again")
    }

    func storageCharges(namespace: String, bytes: Int64, repository: RepositoryName) async throws(BerthError) -> ([Compare], [BerthStore.Operation]) {
        var compares: [Compare] = []
        var operations: [BerthStore.Operation] = []
        var refusals: [String] = []
        let name = Self.registryStorageQuota
        for holder in try await quotaHolders(namespace: namespace) {
            guard let hard = holder.hard[name] else { continue }
            var usedByName = holder.used
            guard let used = usedByName[name] else {
                refusals.append("status unknown for quota: \(holder.name), resources: \(name)")
                continue
            }
            let requested = Quantity(integer: bytes, format: hard.format)
            let total = used + requested
            if total > hard {
                refusals.append("exceeded quota: \(holder.name), requested: \(name)=\(requested), used: \(name)=\(used), limited: \(name)=\(hard)")
                continue
            }
            usedByName[name] = total
            var charged = holder.object
            charged.set(try JSONValue(encoding: usedByName), at: ["status", "used"])
            charged.set(try JSONValue(encoding: holder.hard), at: ["status", "hard"])
            compares.append(.unchanged(holder.key, since: holder.revision))
            operations.append(.put(key: holder.key, value: ObjectCodec.encode(charged), lease: 0))
        }
        if !refusals.isEmpty {
            throw BerthError.oci(.quotaExceeded, "pushing to \(repository) is forbidden: \(refusals.joined(separator: "; "))")
        }
        return (compares, operations)
    }

    /// `GET /berth/v1/registry/usage?namespace=NS`: the bytes a namespace's repositories hold,
    /// for the quota controller's recount.
    static var registryUsageMount: Mount {
        Mount(name: "registry-usage", matches: Mount.prefix(RegistryPaths.usage)) { server, request, _, _ throws(BerthError) in
            guard let registry = server.imageRegistry else { throw BerthError(.notFound, "this server runs no registry") }
            guard let namespace = QueryParameters(request.uri.query)["namespace"], !namespace.isEmpty else {
                throw BerthError(.badRequest, "the namespace query parameter is required")
            }
            return Responses.json(["namespace": .string(namespace), "bytes": .number(String(try await registry.metadata.usage(of: namespace)))])
        }
    }
}
