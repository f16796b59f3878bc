import BerthCore
import BerthStore
import Foundation
import HTTPTypes
import Hummingbird

/// `fieldValidation`: what to do with fields the kind does not have.
enum FieldValidation: String {
    case strict = "Strict"
    case warn = "Warn"
    case ignore = "Ignore"

    init(_ query: QueryParameters) throws(BerthError) {
        guard let text = query["fieldValidation"], !text.isEmpty else {
            self = .warn
            return
        }
        guard let value = FieldValidation(rawValue: text) else {
            throw BerthError(.badRequest, "fieldValidation must be one of \"Ignore\", \"Warn\", or \"Strict\"")
        }
        self = value
    }
}

/// The result of admission: the object to store and any `Warning` headers for the client.
struct PreparedWrite {
    var object: JSONValue
    var warnings: [String]
}

extension APIServer {
    static let statusResetOnCreate: Set<String> = ["Deployment", "ReplicaSet", "DaemonSet", "Service", "PodDisruptionBudget", "Job", "CronJob"]

    /// `managedFields`: set by server-side apply when it creates the object; a client's own
    /// `managedFields` are never taken.
    func create(_ target: ResourceTarget, _ body: JSONValue, _ query: QueryParameters, _ request: Request,
                managedFields: JSONValue? = nil) async throws(BerthError) -> Response {
        let descriptor = target.descriptor
        var object = try checkTypeAndNamespace(body, target)
        if descriptor.namespaced { try await requireNamespaceAcceptsWrites(object.value(at: ["metadata", "namespace"])?.stringValue ?? "") }
        var metadata = object["metadata"]?.objectValue ?? [:]
        if (metadata["name"]?.stringValue ?? "").isEmpty, let base = metadata["generateName"]?.stringValue, !base.isEmpty {
            metadata["name"] = .string(String(base.prefix(58)) + Self.randomSuffix())
        }
        metadata["uid"] = .string(ObjectUID.make())
        metadata["creationTimestamp"] = .string(clock.timestamp())
        for field in ["resourceVersion", "deletionTimestamp", "deletionGracePeriodSeconds", "selfLink", "managedFields"] { metadata.removeValue(forKey: field) }
        if let managedFields { metadata["managedFields"] = managedFields }
        if descriptor.tracksGeneration { metadata["generation"] = 1 } else { metadata.removeValue(forKey: "generation") }
        object["metadata"] = .object(metadata)
        if Self.statusResetOnCreate.contains(descriptor.kind) { object["status"] = nil }
        if descriptor.kind == "Pod" { object["status"] = nil }
        var prepared = try admit(descriptor, object, old: nil, query)
        let admitted = prepared.object
        // Quota-charged creates in one namespace take turns on this server (`QuotaGate`).
        let namespace = admitted.value(at: ["metadata", "namespace"])?.stringValue ?? ""
        var pass: QuotaGate.Pass?
        if descriptor.namespaced, query["dryRun"] != "All", await isQuotaGoverned(namespace) { pass = await quotaGate.enter(namespace) }
        defer { pass?.release() }
        for _ in 0..<8 {
            // Checks across objects that a concurrent write could invalidate are guarded.
            var guardKey = try await crossObjectGuard(descriptor, admitted, old: nil, subresource: nil)
            let admittedAcross = try await admitAcrossObjects(descriptor, admitted, old: nil, subresource: nil)
            prepared.object = admittedAcross.object
            prepared.warnings += admittedAcross.warnings
            guardKey = try await guardWithCharges(guardKey, descriptor, prepared.object, old: nil, subresource: nil)
            let headers = warningHeaders(prepared.warnings)
            if descriptor.kind == "Service" {
                guard let response = try await createService(descriptor, prepared, query, headers: headers, guardedBy: guardKey) else { continue }
                return response
            }
            if query["dryRun"] == "All" { return Responses.json(prepared.object, status: .created, headers: headers) }
            guard let guardKey else { return Responses.json(try await storage.create(descriptor, prepared.object), status: .created, headers: headers) }
            if let stored = try await storage.create(descriptor, prepared.object, guardedBy: guardKey) {
                return Responses.json(stored, status: .created, headers: headers)
            }
        }
        throw BerthError(.tooManyRequests, "\(descriptor.kind) \"\(object.value(at: ["metadata", "name"])?.stringValue ?? "")\" lost to concurrent writes 8 times; try again")
    }

    func update(_ target: ResourceTarget, _ name: String, _ body: JSONValue, _ query: QueryParameters, _ request: Request) async throws(BerthError) -> Response {
        let object = try checkTypeAndNamespace(body, target)
        guard object.value(at: ["metadata", "name"])?.stringValue == name else {
            throw BerthError(.badRequest, "the name of the object (\(object.value(at: ["metadata", "name"])?.stringValue ?? "")) does not match the name on the URL (\(name))")
        }
        let manager = ServerSideApply.updateManager(fieldManager: query["fieldManager"], userAgent: request.headers[.userAgent])
        let (stored, warnings) = try await applyUpdate(target, name, query: query, preconditionFromBody: true, updateManager: manager) { _ in object }
        return Responses.json(stored, headers: warningHeaders(warnings))
    }

    /// Reads, transforms and writes an object with optimistic concurrency. A `resourceVersion`
    /// in the new object is a precondition; without one, conflicts are retried (as patches are).
    /// `ownsManagedFields`: the transform computed `metadata.managedFields` (server-side
    /// apply); every other write keeps what is stored.
    func applyUpdate(_ target: ResourceTarget, _ name: String, query: QueryParameters, preconditionFromBody: Bool, ownsManagedFields: Bool = false,
                     updateManager: String? = nil, transform: (JSONValue) throws(BerthError) -> JSONValue) async throws(BerthError) -> (JSONValue, [String]) {
        let descriptor = target.descriptor
        for attempt in 0..<8 {
            let current = try await readForRequest(descriptor, namespace: target.namespace, name: name, firstAttempt: attempt == 0)
            let currentRevision = Int64(current.value(at: ["metadata", "resourceVersion"])?.stringValue ?? "") ?? 0
            var updated = try transform(current)
            let requested = updated.value(at: ["metadata", "resourceVersion"])?.stringValue ?? ""
            if preconditionFromBody, !requested.isEmpty {
                guard let requestedRevision = Int64(requested) else {
                    throw BerthError.invalid(kind: descriptor.kind, name: name, group: descriptor.group,
                                             causes: [.invalid("metadata.resourceVersion", requested, "must be a number")])
                }
                if requestedRevision != currentRevision { throw BerthError.conflict(descriptor.plural, name, group: descriptor.group) }
            }
            let managedFields = ownsManagedFields ? updated.value(at: ["metadata", "managedFields"]) : current.value(at: ["metadata", "managedFields"])
            updated = try carryServerFields(descriptor, target.subresource, from: current, into: updated)
            updated.set(managedFields, at: ["metadata", "managedFields"])
            let isServiceSpec = descriptor.kind == "Service" && target.subresource == nil
            if isServiceSpec { updated = Self.prepareServiceUpdate(old: current, new: updated) }
            var prepared = try admit(descriptor, updated, old: current, query)
            prepared.object = bumpGeneration(descriptor, prepared.object, old: current)
            if !ownsManagedFields, let updateManager {
                prepared.object = ServerSideApply.recordUpdate(old: current, new: prepared.object, manager: updateManager, apiVersion: descriptor.apiVersion,
                                                               time: clock.timestamp(), subresource: target.subresource)
            }
            var guardKey = try await crossObjectGuard(descriptor, prepared.object, old: current, subresource: target.subresource)
            let admittedAcross = try await admitAcrossObjects(descriptor, prepared.object, old: current, subresource: target.subresource)
            prepared.object = admittedAcross.object
            prepared.warnings += admittedAcross.warnings
            guardKey = try await guardWithCharges(guardKey, descriptor, prepared.object, old: current, subresource: target.subresource)
            var servicePlan: ServiceUpdatePlan?
            if isServiceSpec {
                let plan = try await planServiceUpdate(old: current, new: prepared.object)
                prepared.object = plan.object
                servicePlan = plan
            }
            if query["dryRun"] == "All" {
                // As Kubernetes answers a dry run: the object as it would be, at the version it
                // is now (kubectl diff showed every object losing its resourceVersion).
                var answer = prepared.object
                answer.set(current.value(at: ["metadata", "resourceVersion"]), at: ["metadata", "resourceVersion"])
                return (answer, prepared.warnings)
            }
            // A write that changes nothing is not a write: the resourceVersion stays, no event fires.
            var unchanged = current
            unchanged.set(nil, at: ["metadata", "resourceVersion"])
            // (Except for an encrypted kind: rewriting moves it to the current key.)
            if prepared.object == unchanged, configuration.encryption?.encrypts(key: ObjectStorage.prefix(descriptor)) != true { return (current, prepared.warnings) }
            // Removing the last finalizer of an object being deleted completes the deletion.
            if prepared.object.value(at: ["metadata", "deletionTimestamp"])?.stringValue != nil,
               (prepared.object.value(at: ["metadata", "finalizers"])?.arrayValue ?? []).isEmpty,
               descriptor.kind != "Namespace",
               descriptor.kind != "Pod" || (prepared.object.value(at: ["spec", "nodeName"])?.stringValue ?? "").isEmpty {
                do {
                    let reserved = descriptor.kind == "Service" ? Self.reservedKeys(current) : []
                    return (try await storage.delete(descriptor, namespace: target.namespace, name: name, expectedRevision: currentRevision,
                                                     alsoDelete: reserved), prepared.warnings)
                } catch where error.code == .conflict {
                    continue
                }
            }
            do throws(BerthError) {
                if let servicePlan, !servicePlan.reserving.isEmpty || !servicePlan.releasing.isEmpty {
                    switch try await storage.update(descriptor, prepared.object, expectedRevision: currentRevision,
                                                    reserving: servicePlan.reserving, releasing: servicePlan.releasing, guardedBy: guardKey) {
                    case .updated(let stored):
                        return (stored, prepared.warnings)
                    case .keysTaken(let taken):
                        let causes = taken.compactMap { servicePlan.requested[$0] }
                        if !causes.isEmpty { throw BerthError.invalid(kind: "Service", name: name, causes: causes) }
                        continue // a drawn port was taken meanwhile: draw again
                    }
                }
                if let guardKey {
                    return (try await storage.update(descriptor, prepared.object, expectedRevision: currentRevision, guardedBy: guardKey), prepared.warnings)
                }
                return (try await storage.update(descriptor, prepared.object, expectedRevision: currentRevision), prepared.warnings)
            } catch where error.code == .conflict && (!preconditionFromBody || requested.isEmpty || guardKey != nil) {
                continue
            }
        }
        throw BerthError.conflict(descriptor.plural, name, group: descriptor.group)
    }

    /// Keeps what clients may not change: identity, timestamps, and the half of the object the
    /// endpoint does not own (status on the main resource, everything else on `/status`).
    func carryServerFields(_ descriptor: ResourceDescriptor, _ subresource: String?, from current: JSONValue, into updated: JSONValue) throws(BerthError) -> JSONValue {
        var result = updated
        if subresource == "status" {
            result = current
            result["status"] = updated["status"]
        } else if subresource == "approval" {
            // The approval subresource changes the conditions only (Approved, Denied).
            result = current
            result.set(updated.value(at: ["status", "conditions"]), at: ["status", "conditions"])
        } else if descriptor.subresources.contains("status") {
            result["status"] = current["status"]
        }
        for field in ["uid", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds", "generation", "namespace"] {
            result.set(current.value(at: ["metadata", field]), at: ["metadata", field])
        }
        result.set(nil, at: ["metadata", "resourceVersion"])
        result.set(nil, at: ["metadata", "managedFields"])
        result["apiVersion"] = .string(descriptor.apiVersion)
        result["kind"] = .string(descriptor.kind)
        return result
    }

    func bumpGeneration(_ descriptor: ResourceDescriptor, _ object: JSONValue, old: JSONValue) -> JSONValue {
        guard descriptor.tracksGeneration else { return object }
        func specPart(_ value: JSONValue) -> JSONValue {
            var copy = value
            copy["metadata"] = nil
            copy["status"] = nil
            return copy
        }
        var result = object
        let generation = old.value(at: ["metadata", "generation"])?.intValue ?? 1
        let changed = specPart(object) != specPart(old)
        // A deletion in progress counts as a spec change, as in Kubernetes.
        let deletionStarted = object.value(at: ["metadata", "deletionTimestamp"]) != nil && old.value(at: ["metadata", "deletionTimestamp"]) == nil
        result.set(.number(String(changed || deletionStarted ? generation + 1 : generation)), at: ["metadata", "generation"])
        return result
    }

    /// Decodes, defaults and validates; applies `fieldValidation` to unknown fields.
    func admit(_ descriptor: ResourceDescriptor, _ object: JSONValue, old: JSONValue?, _ query: QueryParameters) throws(BerthError) -> PreparedWrite {
        let validation = try FieldValidation(query)
        var admitted: AdmittedObject
        do {
            admitted = try descriptor.admit(object, old: old)
        } catch {
            throw BerthError(.badRequest, "\(descriptor.kind) in version \"\(descriptor.version)\" cannot be handled as a \(descriptor.kind): \(error.message)", causes: error.causes)
        }
        var warnings: [String] = []
        if !admitted.unknownFields.isEmpty {
            switch validation {
            case .strict:
                let list = admitted.unknownFields.map { "unknown field \"\($0)\"" }
                throw BerthError(.badRequest, "strict decoding error: " + list.joined(separator: ", "),
                                 causes: admitted.unknownFields.map { StatusCause(reason: "FieldValueInvalid", message: "unknown field \"\($0)\"", field: $0) })
            case .warn:
                warnings = admitted.unknownFields.map { "unknown field \"\($0)\"" }
            case .ignore:
                break
            }
        }
        if !admitted.causes.isEmpty {
            let name = object.value(at: ["metadata", "name"])?.stringValue ?? ""
            throw BerthError.invalid(kind: descriptor.kind, name: name, group: descriptor.group, causes: admitted.causes)
        }
        return PreparedWrite(object: admitted.object, warnings: warnings)
    }

    func warningHeaders(_ warnings: [String]) -> HTTPFields {
        var headers = HTTPFields()
        for warning in warnings {
            let escaped = warning.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
            headers.append(HTTPField(name: HTTPField.Name("Warning")!, value: "299 - \"\(escaped)\""))
        }
        return headers
    }

    /// The object's kind and namespace must agree with the URL; missing ones are filled in.
    func checkTypeAndNamespace(_ body: JSONValue, _ target: ResourceTarget) throws(BerthError) -> JSONValue {
        let descriptor = target.descriptor
        var object = body
        if let apiVersion = body["apiVersion"]?.stringValue, !apiVersion.isEmpty, apiVersion != descriptor.apiVersion {
            throw BerthError(.badRequest, "the API version in the data (\(apiVersion)) does not match the expected API version (\(descriptor.apiVersion))")
        }
        if let kind = body["kind"]?.stringValue, !kind.isEmpty, kind != descriptor.kind {
            if target.subresource == nil {
                throw BerthError(.badRequest, "the kind in the data (\(kind)) does not match the expected kind (\(descriptor.kind))")
            }
        }
        if let metadata = body["metadata"], metadata.objectValue == nil, !metadata.isNull {
            throw BerthError(.badRequest, "failed to decode \(descriptor.kind): metadata: expected object")
        }
        object["apiVersion"] = .string(descriptor.apiVersion)
        object["kind"] = .string(descriptor.kind)
        if object["metadata"] == nil || object["metadata"]!.isNull { object["metadata"] = [:] }
        let bodyNamespace = body.value(at: ["metadata", "namespace"])?.stringValue ?? ""
        if descriptor.namespaced {
            let namespace = target.namespace ?? ""
            guard !namespace.isEmpty else { throw BerthError(.badRequest, "a namespace must be specified for namespaced \(descriptor.plural)") }
            if !bodyNamespace.isEmpty, bodyNamespace != namespace {
                throw BerthError(.badRequest, "the namespace of the provided object does not match the namespace sent on the request")
            }
            object.set(.string(namespace), at: ["metadata", "namespace"])
        } else {
            object.set(nil, at: ["metadata", "namespace"])
        }
        return object
    }

    func requireNamespaceAcceptsWrites(_ namespace: String) async throws(BerthError) {
        let object: JSONValue
        do {
            object = try await admissionGet(.namespace, name: namespace)
        } catch where error.code == .notFound {
            throw BerthError(.notFound, "namespaces \"\(namespace)\" not found", details: StatusDetails(name: namespace, kind: "namespaces"))
        }
        if object.value(at: ["metadata", "deletionTimestamp"]) != nil || object.value(at: ["status", "phase"])?.stringValue == "Terminating" {
            throw BerthError(.forbidden, "unable to create new content in namespace \(namespace) because it is being terminated")
        }
    }

    static func randomSuffix() -> String {
        let alphabet = Array("bcdfghjklmnpqrstvwxz2456789")
        return String((0..<5).map { _ in alphabet.randomElement()! })
    }
}
