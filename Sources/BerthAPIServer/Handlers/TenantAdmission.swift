import BerthCore
import BerthStore

/// Tenants at admission: a new namespace joins its tenant (named by label, listed by the
/// tenant, or the one tenant its creator owns) and takes the tenant's defaults; a new pod in a
/// tenant's namespace is kept to the tenant's node pool.
extension APIServer {
    func admitNamespaceToTenant(_ object: JSONValue) async throws(BerthError) -> JSONValue {
        let name = object.value(at: ["metadata", "name"])?.stringValue ?? ""
        let index = try await tenantIndex()
        let user = RequestUser.current ?? .anonymous
        var tenantName = object.value(at: ["metadata", "labels", Tenant.label])?.stringValue
        if let requested = tenantName {
            guard let tenant = index.tenants[requested] else {
                throw BerthError.invalid(kind: "Namespace", name: name, causes: [.invalid("metadata.labels[\(Tenant.label)]", requested, "no such tenant")])
            }
            let attributes = RequestAttributes(user: user, verb: "update", group: "berth.dev", resource: "tenants", subresource: nil, namespace: nil, name: requested)
            let mayUpdateTenant = try await rbacIndex().allows(attributes)
            guard user.isMaster || tenant.isOwned(byUser: user.name, groups: user.groups) || mayUpdateTenant else {
                throw BerthError(.forbidden, "namespaces \"\(name)\" is forbidden: User \"\(user.name)\" may not add a namespace to tenant \"\(requested)\" (owners of the tenant may)")
            }
        } else if let listing = index.tenant(listing: name) {
            tenantName = listing
        } else if !user.isMaster {
            let owned = index.owned(by: user)
            if owned.count == 1 {
                tenantName = owned[0]
            } else if owned.count > 1 {
                throw BerthError.invalid(kind: "Namespace", name: name, causes: [
                    StatusCause(reason: "FieldValueRequired", message: "Required value: User \"\(user.name)\" owns the tenants \(owned.joined(separator: ", ")): name the one this namespace joins",
                                field: "metadata.labels[\(Tenant.label)]"),
                ])
            }
        }
        guard let tenantName, let tenant = index.tenants[tenantName] else { return object }
        return Self.withTenantDefaults(object, tenant: tenant)
    }

    /// The namespace labelled as the tenant's, Pod Security `baseline` unless it says otherwise,
    /// and isolated on the network when the tenant is.
    static func withTenantDefaults(_ namespace: JSONValue, tenant: Tenant) -> JSONValue {
        var result = namespace
        result.set(.string(tenant.metadata.name ?? ""), at: ["metadata", "labels", Tenant.label])
        if result.value(at: ["metadata", "labels", PodSecurityStandards.enforceLabel]) == nil {
            result.set(.string("baseline"), at: ["metadata", "labels", PodSecurityStandards.enforceLabel])
        }
        if tenant.spec?.isolation == true {
            result.set(.string(tenant.metadata.name ?? ""), at: ["metadata", "annotations", Tenant.isolationAnnotation])
        }
        return result
    }

    /// The tenant's record of a namespace that joins it at create, written in the same
    /// transaction as the namespace (so its owners hold their roles there from the first
    /// request on).
    func tenantJoinWrite(_ descriptor: ResourceDescriptor, _ object: JSONValue, old: JSONValue?) async throws(BerthError) -> (key: String, revision: Int64, value: [UInt8])? {
        guard descriptor.kind == "Namespace", old == nil,
              let tenantName = object.value(at: ["metadata", "labels", Tenant.label])?.stringValue else { return nil }
        let name = object.value(at: ["metadata", "name"])?.stringValue ?? ""
        let key = storage.key(.tenant, namespace: nil, name: tenantName)
        guard let kv = try await storage.kv.get(key) else { return nil }
        var tenant = try ObjectCodec.decode(kv)
        var listed = tenant.value(at: ["spec", "namespaces"])?.arrayValue ?? []
        guard !listed.contains(.string(name)) else { return nil }
        listed.append(.string(name))
        tenant.set(.array(listed), at: ["spec", "namespaces"])
        let generation = tenant.value(at: ["metadata", "generation"])?.intValue ?? 1
        tenant.set(.number(String(generation + 1)), at: ["metadata", "generation"])
        return (key, kv.modRevision, ObjectCodec.encode(tenant))
    }

    /// A pod of a tenant with a node pool gets the pool's node selector; a pod that asks for
    /// other values of the same labels is refused (as Kubernetes' PodNodeSelector does).
    func applyTenantNodePool(_ pod: JSONValue) async throws(BerthError) -> JSONValue {
        let namespace = pod.value(at: ["metadata", "namespace"])?.stringValue ?? ""
        guard let tenantName = try await tenantName(ofNamespace: namespace),
              let selector = try await tenantIndex().tenants[tenantName]?.spec?.nodeSelector, !selector.isEmpty else { return pod }
        var result = pod
        for (key, value) in selector.sorted(by: { $0.key < $1.key }) {
            if let asked = pod.value(at: ["spec", "nodeSelector", key])?.stringValue, asked != value {
                let name = pod.value(at: ["metadata", "name"])?.stringValue ?? ""
                throw BerthError(.forbidden, "pods \"\(name)\" is forbidden: pod node label selector conflicts with its tenant's node pool (\(tenantName): \(key)=\(value))")
            }
            result.set(.string(value), at: ["spec", "nodeSelector", key])
        }
        return result
    }
}
