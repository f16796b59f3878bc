/// Checks of file-backed volume sources (configMap, secret, downwardAPI, projected): relative
/// item paths that stay inside the volume, modes, downward API field paths, and one projection
/// per projected source — each failure a 422 cause on its field path, as Kubernetes reports it.
enum VolumeValidation {
    static let metadataFields = ["metadata.annotations", "metadata.labels", "metadata.name", "metadata.namespace", "metadata.uid"]
    static let resourceFields = ["limits.cpu", "limits.ephemeral-storage", "limits.memory", "requests.cpu", "requests.ephemeral-storage", "requests.memory"]

    /// Volume types no node can set up yet are refused when the pod (or its template) is
    /// written: accepted, such a pod would wait in ContainerCreating forever while its node
    /// retried. Kubernetes would accept them, so the message says what to use instead.
    static func refuseUnprovided(_ volume: Volume, path: String, into errors: inout FieldErrors) {
        let unprovided: [(String, Bool)] = [
            ("ephemeral", volume.ephemeral != nil),
            ("csi", volume.csi != nil), ("nfs", volume.nfs != nil), ("image", volume.image != nil),
        ]
        for (type, present) in unprovided where present {
            errors.forbidden("\(path).\(type)", "\(type) volumes are not available in Berth inline in a pod; use a persistentVolumeClaim (PersistentVolumes may be nfs, iscsi or csi), emptyDir, hostPath, configMap, secret, downwardAPI or projected")
        }
        for (index, source) in (volume.projected?.sources ?? []).enumerated() {
            let sourcePath = "\(path).projected.sources[\(index)]"
            if let token = source.serviceAccountToken {
                if token.path.isEmpty { errors.required("\(sourcePath).serviceAccountToken.path") }
                if token.path.hasPrefix("/") || token.path.split(separator: "/").contains("..") {
                    errors.invalid("\(sourcePath).serviceAccountToken.path", token.path, "must be a relative path without '..'")
                }
                if let seconds = token.expirationSeconds, seconds < 600 || seconds > Int64(UInt32.max) {
                    errors.invalid("\(sourcePath).serviceAccountToken.expirationSeconds", String(seconds), "may not specify a duration less than 10 minutes or longer than 2^32 seconds")
                }
            }
            if source.clusterTrustBundle != nil { errors.forbidden("\(sourcePath).clusterTrustBundle", "clusterTrustBundle projections are not available in Berth; configMap, secret and downwardAPI projections are") }
            if source.podCertificate != nil { errors.forbidden("\(sourcePath).podCertificate", "podCertificate projections are not available in Berth; configMap, secret and downwardAPI projections are") }
        }
    }

    static func validate(_ volume: Volume, path: String, into errors: inout FieldErrors) {
        if let source = volume.configMap {
            mode(source.defaultMode, "\(path).configMap.defaultMode", &errors)
            items(source.items, "\(path).configMap.items", &errors)
        }
        if let source = volume.secret {
            mode(source.defaultMode, "\(path).secret.defaultMode", &errors)
            items(source.items, "\(path).secret.items", &errors)
        }
        if let source = volume.downwardAPI {
            mode(source.defaultMode, "\(path).downwardAPI.defaultMode", &errors)
            downwardAPI(source.items ?? [], "\(path).downwardAPI.items", &errors)
        }
        if let projected = volume.projected {
            mode(projected.defaultMode, "\(path).projected.defaultMode", &errors)
            var seen: Set<String> = []
            for (index, source) in (projected.sources ?? []).enumerated() {
                let sourcePath = "\(path).projected.sources[\(index)]"
                let kinds: [Any?] = [source.configMap, source.secret, source.downwardAPI, source.serviceAccountToken, source.clusterTrustBundle, source.podCertificate]
                switch kinds.compactMap({ $0 }).count {
                case 0: errors.required(sourcePath)
                case 1: break
                default: errors.forbidden(sourcePath, "may not specify more than 1 projection type")
                }
                var paths: [(String, String)] = []
                if let map = source.configMap {
                    items(map.items, "\(sourcePath).configMap.items", &errors)
                    paths += (map.items ?? []).enumerated().map { ("\(sourcePath).configMap.items[\($0.offset)].path", $0.element.path) }
                }
                if let secret = source.secret {
                    items(secret.items, "\(sourcePath).secret.items", &errors)
                    paths += (secret.items ?? []).enumerated().map { ("\(sourcePath).secret.items[\($0.offset)].path", $0.element.path) }
                }
                if let downward = source.downwardAPI {
                    downwardAPI(downward.items ?? [], "\(sourcePath).downwardAPI.items", &errors)
                    paths += (downward.items ?? []).enumerated().map { ("\(sourcePath).downwardAPI.items[\($0.offset)].path", $0.element.path) }
                }
                for (field, value) in paths where !seen.insert(value).inserted {
                    errors.invalid(field, value, "conflicting duplicate paths")
                }
            }
        }
    }

    static func mode(_ mode: Int32?, _ field: String, _ errors: inout FieldErrors) {
        if let mode, !(0...0o777).contains(mode) {
            errors.invalid(field, String(mode), "must be a number between 0 and 0777 (octal), both inclusive")
        }
    }

    static func items(_ items: [KeyToPath]?, _ field: String, _ errors: inout FieldErrors) {
        for (index, item) in (items ?? []).enumerated() {
            if item.key.isEmpty { errors.required("\(field)[\(index)].key") }
            relativePath(item.path, "\(field)[\(index)].path", &errors)
            mode(item.mode, "\(field)[\(index)].mode", &errors)
        }
    }

    static func downwardAPI(_ items: [DownwardAPIVolumeFile], _ field: String, _ errors: inout FieldErrors) {
        for (index, item) in items.enumerated() {
            let itemPath = "\(field)[\(index)]"
            relativePath(item.path, "\(itemPath).path", &errors)
            mode(item.mode, "\(itemPath).mode", &errors)
            switch (item.fieldRef, item.resourceFieldRef) {
            case (nil, nil): errors.required("\(itemPath).fieldRef")
            case (.some, .some): errors.invalid("\(itemPath).fieldRef", item.fieldRef?.fieldPath ?? "", "fieldRef and resourceFieldRef can not be specified simultaneously")
            case (let fieldRef?, nil):
                let value = fieldRef.fieldPath
                let subscripted = (value.hasPrefix("metadata.labels['") || value.hasPrefix("metadata.annotations['")) && value.hasSuffix("']")
                if !metadataFields.contains(value) && !subscripted {
                    errors.notSupported("\(itemPath).fieldRef.fieldPath", value, metadataFields)
                }
            case (nil, let resourceRef?):
                if (resourceRef.containerName ?? "").isEmpty { errors.required("\(itemPath).resourceFieldRef.containerName") }
                if !resourceFields.contains(resourceRef.resource) {
                    errors.notSupported("\(itemPath).resourceFieldRef.resource", resourceRef.resource, resourceFields)
                }
            }
        }
    }

    static func relativePath(_ value: String, _ field: String, _ errors: inout FieldErrors) {
        if value.isEmpty { errors.required(field); return }
        if value.hasPrefix("/") { errors.invalid(field, value, "must be a relative path") }
        if value.split(separator: "/").contains("..") { errors.invalid(field, value, "must not contain '..'") }
    }
}
