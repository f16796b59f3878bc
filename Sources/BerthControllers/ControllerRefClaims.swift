import BerthCore

/// Kubernetes' ControllerRefManager: which objects a controller takes (orphans its selector
/// matches) and lets go (its own that its selector no longer matches). Pure; the controllers
/// carry the result out with strategic merge patches on `ownerReferences`.
public struct ControllerRefClaims<T: APIResource> {
    /// Owned and still matching: the controller counts these.
    public var kept: [T] = []
    public var adopt: [T] = []
    public var release: [T] = []

    /// `selector` nil (missing or not parseable) matches nothing, so nothing is adopted or
    /// released. A controller being deleted neither adopts nor releases (its dependents go with
    /// it or are orphaned by the garbage collector). Objects being deleted are never adopted.
    public static func claim(ownerDeleting: Bool, selector: LabelSelector?, owned: [T], orphans: [T]) -> ControllerRefClaims<T> {
        var claims = ControllerRefClaims()
        guard let selector, !ownerDeleting else {
            claims.kept = owned
            return claims
        }
        for object in owned {
            if selector.matches(object.metadata.labels) { claims.kept.append(object) } else { claims.release.append(object) }
        }
        for object in orphans where object.metadata.deletionTimestamp == nil && selector.matches(object.metadata.labels) {
            claims.adopt.append(object)
        }
        return claims
    }

    /// `{"metadata":{"ownerReferences":[REF],"uid":UID}}`: merged by UID into the list.
    public static func adoptionPatch(_ object: T, owner: OwnerReference) throws(BerthError) -> JSONValue {
        var reference = try JSONValue(encoding: owner)
        reference["blockOwnerDeletion"] = true
        return ["metadata": ["ownerReferences": [reference], "uid": .string(object.metadata.uid ?? "")]]
    }

    /// Removes the owner's reference and nothing else.
    public static func releasePatch(_ object: T, ownerUID: String) -> JSONValue {
        ["metadata": ["ownerReferences": [["$patch": "delete", "uid": .string(ownerUID)]], "uid": .string(object.metadata.uid ?? "")]]
    }
}

extension ResourceAPI {
    /// Adopts and releases as `claims` says; returns the objects the owner now holds (kept and
    /// adopted). An object that changed or went meanwhile is skipped: its next event brings the
    /// owner back to it.
    func carryOut<T: APIResource>(_ claims: ControllerRefClaims<T>, _ descriptor: ResourceDescriptor, owner: OwnerReference) async -> [T] {
        var held = claims.kept
        for object in claims.release {
            let patch = ControllerRefClaims<T>.releasePatch(object, ownerUID: owner.uid)
            try? await strategicPatch(descriptor, namespace: object.metadata.namespace, name: object.metadata.name ?? "", patch)
        }
        for object in claims.adopt {
            do {
                let patch = try ControllerRefClaims<T>.adoptionPatch(object, owner: owner)
                try await strategicPatch(descriptor, namespace: object.metadata.namespace, name: object.metadata.name ?? "", patch)
                var adopted = object
                adopted.metadata.ownerReferences = (object.metadata.ownerReferences ?? []) + [owner]
                held.append(adopted)
            } catch {
                continue
            }
        }
        return held
    }
}

extension OwnerReference {
    /// The reference an apps/v1 controller puts on what it makes and adopts.
    public static func controller(_ owner: some APIResource, kind: String) -> OwnerReference {
        OwnerReference(apiVersion: "apps/v1", kind: kind, name: owner.metadata.name ?? "", uid: owner.metadata.uid ?? "", controller: true, blockOwnerDeletion: true)
    }
}

/// Informer events that may start an adoption.
enum OrphanEvents {
    /// An object without a controller that appeared, lost its controller or changed its labels.
    static func adoptable<T: APIResource>(_ event: InformerEvent<T>) -> T? {
        switch event {
        case .added(let object):
            return isOrphan(object) ? object : nil
        case .updated(let old, let new):
            guard isOrphan(new) else { return nil }
            return hasController(old) || old.metadata.labels != new.metadata.labels ? new : nil
        case .deleted:
            return nil
        }
    }

    static func hasController(_ object: some APIResource) -> Bool {
        object.metadata.ownerReferences?.contains { $0.controller == true } ?? false
    }

    static func isOrphan(_ object: some APIResource) -> Bool { !hasController(object) && object.metadata.deletionTimestamp == nil }
}

extension Informer {
    /// Owners in `namespace` whose selector matches `labels`.
    func selecting(namespace: String?, labels: [String: String]?, selector: (T) -> LabelSelectorSpec?) -> [T] {
        list().filter { owner in
            guard owner.metadata.namespace == namespace, let spec = selector(owner), let parsed = try? LabelSelector(spec) else { return false }
            return parsed.matches(labels)
        }
    }
}
