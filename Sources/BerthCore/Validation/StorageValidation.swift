/// Field checks of PersistentVolume, PersistentVolumeClaim and StorageClass, as Kubernetes'
/// validation makes them, naming the field at fault.
public enum StorageValidation {
    static let reclaimPolicies = ["Delete", "Retain"]
    static let bindingModes = ["Immediate", "WaitForFirstConsumer"]
    /// Data sources a claim may be filled from.
    static let dataSourceKinds = ["PersistentVolumeClaim", "VolumeSnapshot"]

    static func accessModes(_ modes: [String]?, path: String, into errors: inout FieldErrors) {
        guard let modes, !modes.isEmpty else {
            errors.required("\(path).accessModes")
            return
        }
        for (index, mode) in modes.enumerated() where !StorageNames.accessModes.contains(mode) {
            errors.notSupported("\(path).accessModes[\(index)]", mode, StorageNames.accessModes)
        }
        if modes.contains("ReadWriteOncePod"), modes.count > 1 {
            errors.forbidden("\(path).accessModes", "may not use ReadWriteOncePod with other access modes")
        }
    }

    static func volumeMode(_ mode: String?, path: String, into errors: inout FieldErrors) {
        guard let mode, mode != "Filesystem" else { return }
        if mode == "Block" {
            errors.forbidden("\(path).volumeMode", "raw block volumes are not supported by Berth; use Filesystem")
        } else {
            errors.notSupported("\(path).volumeMode", mode, ["Block", "Filesystem"])
        }
    }

    static func volume(_ spec: PersistentVolumeSpec, into errors: inout FieldErrors) {
        if let storage = spec.storage {
            if storage.nanos <= 0 { errors.invalid("spec.capacity.storage", storage.description, "must be greater than zero") }
        } else {
            errors.required("spec.capacity.storage")
        }
        accessModes(spec.accessModes, path: "spec", into: &errors)
        volumeMode(spec.volumeMode, path: "spec", into: &errors)
        if let policy = spec.persistentVolumeReclaimPolicy, !reclaimPolicies.contains(policy) {
            errors.notSupported("spec.persistentVolumeReclaimPolicy", policy, reclaimPolicies)
        }
        let types = spec.sourceTypes
        if types.isEmpty { errors.invalid("spec", "", "must specify a volume type (hostPath, local, glusterfs, nfs, iscsi, csi …)") }
        if types.count > 1 { errors.forbidden("spec.\(types[1])", "may not specify more than 1 volume type") }
        if let hostPath = spec.hostPath {
            if !hostPath.path.hasPrefix("/") { errors.invalid("spec.hostPath.path", hostPath.path, "must be an absolute path") }
            if hostPath.path.split(separator: "/").contains("..") { errors.invalid("spec.hostPath.path", hostPath.path, "must not contain '..'") }
        }
        if let local = spec.local {
            if !local.path.hasPrefix("/") { errors.invalid("spec.local.path", local.path, "must be an absolute path") }
            if local.path.split(separator: "/").contains("..") { errors.invalid("spec.local.path", local.path, "must not contain '..'") }
            if spec.nodeAffinity?.required == nil { errors.required("spec.nodeAffinity") }
        }
        if let gluster = spec.glusterfs {
            if gluster.endpoints.isEmpty { errors.required("spec.glusterfs.endpoints") }
            if gluster.path.isEmpty { errors.required("spec.glusterfs.path") }
        }
        if let required = spec.nodeAffinity?.required, required.nodeSelectorTerms.isEmpty {
            errors.required("spec.nodeAffinity.required.nodeSelectorTerms")
        }
        if let name = spec.storageClassName, !name.isEmpty, let problem = NameValidation.dns1123SubdomainProblem(name) {
            errors.invalid("spec.storageClassName", name, problem)
        }
    }

    static func volumeUpdate(_ spec: PersistentVolumeSpec, old: PersistentVolumeSpec, into errors: inout FieldErrors) {
        if spec.hostPath != old.hostPath || spec.local != old.local || spec.glusterfs != old.glusterfs || spec.sourceTypes != old.sourceTypes {
            errors.forbidden("spec", "the volume source is immutable")
        }
        if let before = old.nodeAffinity, spec.nodeAffinity != before { errors.immutable("spec.nodeAffinity") }
        if spec.volumeMode != old.volumeMode { errors.immutable("spec.volumeMode") }
        if let before = old.storageClassName, !before.isEmpty, spec.storageClassName != before { errors.immutable("spec.storageClassName") }
    }

    static func claim(_ spec: PersistentVolumeClaimSpec, path: String, into errors: inout FieldErrors) {
        accessModes(spec.accessModes, path: path, into: &errors)
        volumeMode(spec.volumeMode, path: path, into: &errors)
        if let storage = spec.resources?.requests?["storage"] {
            if storage.nanos <= 0 { errors.invalid("\(path).resources.requests.storage", storage.description, "must be greater than zero") }
        } else {
            errors.required("\(path).resources.requests.storage")
        }
        if let request = spec.resources?.requests?["storage"], let limit = spec.resources?.limits?["storage"], request > limit {
            errors.invalid("\(path).resources.requests.storage", request.description, "must be less than or equal to the storage limit \(limit)")
        }
        if let name = spec.storageClassName, !name.isEmpty, let problem = NameValidation.dns1123SubdomainProblem(name) {
            errors.invalid("\(path).storageClassName", name, problem)
        }
        if let selector = spec.selector { MetaValidation.validateSelector(selector, path: "\(path).selector", into: &errors) }
        if let source = spec.dataSource {
            if source.name.isEmpty { errors.required("\(path).dataSource.name") }
            let group = source.apiGroup ?? ""
            let supported = (source.kind == "PersistentVolumeClaim" && group.isEmpty) || (source.kind == "VolumeSnapshot" && group == "snapshot.storage.k8s.io")
            if !supported {
                errors.notSupported("\(path).dataSource.kind", source.kind, ["PersistentVolumeClaim (core)", "VolumeSnapshot (snapshot.storage.k8s.io)"])
            }
        }
    }

    /// Only the storage request may change once a claim exists, and only upward past what its
    /// volume already has (shrinking is not possible, as in Kubernetes); a bound volume name
    /// may be filled in once.
    static func claimUpdate(_ claim: PersistentVolumeClaim, old: PersistentVolumeClaim, into errors: inout FieldErrors) {
        guard var spec = claim.spec, var oldSpec = old.spec else { return }
        let request = spec.resources?.requests?["storage"]
        let oldRequest = oldSpec.resources?.requests?["storage"]
        if let request, let oldRequest, request < oldRequest {
            let floor = old.status?.capacity?["storage"] ?? oldRequest
            if request < floor { errors.forbidden("spec.resources.requests.storage", "field can not be less than status.capacity (\(floor))") }
        }
        spec.resources?.requests?["storage"] = nil
        oldSpec.resources?.requests?["storage"] = nil
        if (oldSpec.volumeName ?? "").isEmpty { oldSpec.volumeName = spec.volumeName }
        if spec != oldSpec {
            errors.forbidden("spec", "spec is immutable after creation except resources.requests and volumeName (when unset)")
        }
    }

    static func storageClass(_ object: StorageClass, into errors: inout FieldErrors) {
        if object.provisioner.isEmpty { errors.required("provisioner") }
        if let policy = object.reclaimPolicy, !reclaimPolicies.contains(policy) { errors.notSupported("reclaimPolicy", policy, reclaimPolicies) }
        if let mode = object.volumeBindingMode, !bindingModes.contains(mode) { errors.notSupported("volumeBindingMode", mode, bindingModes) }
        if object.provisioner == StorageNames.glusterProvisioner {
            let parameters = object.parameters ?? [:]
            if (parameters["servers"] ?? "").isEmpty { errors.required("parameters.servers") }
            if let replica = parameters["replica"], Int(replica).map({ $0 < 1 || $0 > 3 }) ?? true {
                errors.invalid("parameters.replica", replica, "must be 1, 2 or 3")
            }
            if let brickDir = parameters["brickDir"], !brickDir.hasPrefix("/") { errors.invalid("parameters.brickDir", brickDir, "must be an absolute path") }
        }
        if object.provisioner == StorageNames.localProvisioner, let fsType = object.parameters?["fsType"], !["ext4", "xfs"].contains(fsType) {
            errors.notSupported("parameters.fsType", fsType, ["ext4", "xfs"])
        }
    }
}
