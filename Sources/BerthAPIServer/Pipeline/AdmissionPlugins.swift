import BerthCore
import BerthStore

/// One write as admission sees it, after the kind's own decoding, defaults and validation.
struct AdmissionAttempt: Sendable {
    let descriptor: ResourceDescriptor
    var object: JSONValue
    let old: JSONValue?
    let subresource: String?

    var kind: String { descriptor.kind }
    var isCreate: Bool { old == nil }
    var isMainResource: Bool { subresource == nil }
}

/// An admission plugin: a step that looks at writes needing other objects to judge. Mutating
/// plugins may change the object; validating ones only refuse. `applies` is cheap and decides
/// whether `admit` runs at all.
struct AdmissionPlugin: Sendable {
    let name: String
    let mutating: Bool
    let applies: @Sendable (AdmissionAttempt) -> Bool
    let admit: @Sendable (APIServer, AdmissionAttempt) async throws(BerthError) -> JSONValue

    static func mutating(_ name: String, applies: @escaping @Sendable (AdmissionAttempt) -> Bool,
                         _ admit: @escaping @Sendable (APIServer, AdmissionAttempt) async throws(BerthError) -> JSONValue) -> AdmissionPlugin {
        AdmissionPlugin(name: name, mutating: true, applies: applies, admit: admit)
    }

    static func validating(_ name: String, applies: @escaping @Sendable (AdmissionAttempt) -> Bool,
                           _ check: @escaping @Sendable (APIServer, AdmissionAttempt) async throws(BerthError) -> Void) -> AdmissionPlugin {
        AdmissionPlugin(name: name, mutating: false, applies: applies) { server, attempt throws(BerthError) in
            try await check(server, attempt)
            return attempt.object
        }
    }
}

/// The admission step of the pipeline: the mutating plugins in order, then the validating ones
/// (which see the object as the mutating ones left it), as Kubernetes orders them. Quota comes
/// after all of them, in the store transaction (`QuotaAdmission`).
extension APIServer {
    static let admissionPlugins: [AdmissionPlugin] = [
        .mutating("LimitRanger", applies: { $0.kind == "Pod" && $0.isCreate }) { server, attempt throws(BerthError) in
            try await server.applyLimitRanges(attempt.object)
        },
        .mutating("Priority", applies: { $0.kind == "Pod" && $0.isCreate }) { server, attempt throws(BerthError) in
            try await server.resolvePodPriority(attempt.object)
        },
        .mutating("ServiceAccount", applies: { $0.kind == "Pod" && $0.isCreate }) { server, attempt throws(BerthError) in
            try await server.admitServiceAccount(attempt.object)
        },
        .mutating("TenantNodePool", applies: { $0.kind == "Pod" && $0.isCreate }) { server, attempt throws(BerthError) in
            try await server.applyTenantNodePool(attempt.object)
        },
        .mutating("IPPoolMembership", applies: { $0.kind == "Pod" && $0.isCreate }) { server, attempt throws(BerthError) in
            try await server.markPoolMembership(attempt.object)
        },
        .mutating("IPPoolFixedAddress", applies: { $0.kind == "Pod" && !$0.isCreate }) { server, attempt throws(BerthError) in
            try await server.guardFixedAddress(attempt.object, old: attempt.old ?? attempt.object)
        },
        .mutating("TenantNamespace", applies: { $0.kind == "Namespace" && $0.isCreate }) { server, attempt throws(BerthError) in
            try await server.admitNamespaceToTenant(attempt.object)
        },
        .mutating("CertificateRequester", applies: { $0.kind == "CertificateSigningRequest" && $0.isCreate }) { server, attempt throws(BerthError) in
            try await server.recordRequester(attempt.object)
        },
        .mutating("CertificateSigner", applies: { $0.kind == "CertificateSigningRequest" && $0.subresource == "approval" }) { server, attempt throws(BerthError) in
            try await server.signApproved(attempt)
        },
        .validating("CertificateApprover", applies: { $0.kind == "CertificateSigningRequest" && $0.subresource == "approval" }) {
            server, attempt throws(BerthError) in
            try await server.checkApprover(attempt)
        },
        .validating("PodSecurity", applies: { ($0.kind == "Pod" && $0.isCreate) || (APIServer.podTemplatePaths[$0.kind] != nil && $0.isMainResource) }) {
            server, attempt throws(BerthError) in
            try await server.checkPodSecurity(attempt)
        },
        .validating("IPPoolAddresses", applies: { $0.kind == "IPPool" && $0.isMainResource }) { server, attempt throws(BerthError) in
            try await server.checkPoolAddresses(attempt.object, old: attempt.old)
        },
        .validating("LoadBalancerPoolAddresses", applies: { $0.kind == "LoadBalancerPool" && $0.isMainResource }) { server, attempt throws(BerthError) in
            try await server.checkLoadBalancerPool(attempt.object)
        },
        .validating("NodeSubnet", applies: { $0.kind == "Node" && APIServer.assignsPodSubnet($0.object, old: $0.old, subresource: $0.subresource) }) {
            server, attempt throws(BerthError) in
            try await server.checkNodeSubnet(attempt.object)
        },
        .validating("PriorityClassDefault", applies: { $0.kind == "PriorityClass" && ($0.isCreate || $0.old?["globalDefault"] != $0.object["globalDefault"]) }) {
            server, attempt throws(BerthError) in
            try await server.checkSingleGlobalDefault(attempt.object)
        },
        .validating("PromQL", applies: { $0.kind == "PrometheusMetric" && $0.isMainResource }) { server, attempt throws(BerthError) in
            try await server.checkPromQL(attempt.object)
        },
        .validating("RBACEscalation", applies: { ["Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding"].contains($0.kind) }) {
            server, attempt throws(BerthError) in
            try await server.checkNoEscalation(attempt.descriptor, attempt.object)
        },
    ] + storageAdmissionPlugins

    /// Runs the plugins over a write: mutating first, then validating. Warnings the plugins
    /// give (`AdmissionNotes`) go back to the client as `Warning` headers.
    func admitAcrossObjects(_ descriptor: ResourceDescriptor, _ object: JSONValue, old: JSONValue?, subresource: String?) async throws(BerthError)
        -> (object: JSONValue, warnings: [String]) {
        let notes = AdmissionNotes()
        let result: Result<JSONValue, BerthError> = await AdmissionNotes.$current.withValue(notes) {
            var attempt = AdmissionAttempt(descriptor: descriptor, object: object, old: old, subresource: subresource)
            do throws(BerthError) {
                for plugin in Self.admissionPlugins where plugin.mutating && plugin.applies(attempt) {
                    attempt.object = try await plugin.admit(self, attempt)
                }
                for plugin in Self.admissionPlugins where !plugin.mutating && plugin.applies(attempt) {
                    _ = try await plugin.admit(self, attempt)
                }
                return .success(attempt.object)
            } catch {
                return .failure(error)
            }
        }
        return (try result.get(), notes.warnings)
    }
}

/// What admission plugins say beside their verdict, for the request being admitted.
final class AdmissionNotes: @unchecked Sendable {
    var warnings: [String] = []

    @TaskLocal static var current: AdmissionNotes?
}
