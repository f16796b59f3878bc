/// Validation of pod specs, shared by Pods and every workload's pod template.
enum PodValidation {
    static let restartPolicies = ["Always", "OnFailure", "Never"]
    static let dnsPolicies = ["ClusterFirstWithHostNet", "ClusterFirst", "Default", "None"]
    static let protocols = ["SCTP", "TCP", "UDP"]
    static let pullPolicies = ["Always", "IfNotPresent", "Never"]

    static func validate(_ spec: PodSpec, path: String, into errors: inout FieldErrors) {
        var volumeNames = Set<String>()
        for (index, volume) in (spec.volumes ?? []).enumerated() {
            let field = "\(path).volumes[\(index)]"
            errors.check("\(field).name", volume.name, NameValidation.dns1123LabelProblem(volume.name))
            if !volumeNames.insert(volume.name).inserted { errors.duplicate("\(field).name", volume.name) }
            validateVolumeSource(volume, path: field, into: &errors)
        }
        if spec.containers.isEmpty { errors.required("\(path).containers") }
        var containerNames = Set<String>()
        for (index, container) in (spec.initContainers ?? []).enumerated() {
            validate(container, path: "\(path).initContainers[\(index)]", volumes: volumeNames, names: &containerNames, into: &errors)
        }
        for (index, container) in spec.containers.enumerated() {
            validate(container, path: "\(path).containers[\(index)]", volumes: volumeNames, names: &containerNames, into: &errors)
        }
        if let policy = spec.restartPolicy, !restartPolicies.contains(policy) {
            errors.notSupported("\(path).restartPolicy", policy, restartPolicies)
        }
        if let policy = spec.dnsPolicy, !dnsPolicies.contains(policy) {
            errors.notSupported("\(path).dnsPolicy", policy, dnsPolicies)
        }
        if let grace = spec.terminationGracePeriodSeconds, grace < 0 {
            errors.invalid("\(path).terminationGracePeriodSeconds", String(grace), "must be greater than or equal to 0")
        }
        if let deadline = spec.activeDeadlineSeconds, deadline <= 0 {
            errors.invalid("\(path).activeDeadlineSeconds", String(deadline), "must be between 1 and 2147483647, inclusive")
        }
        if let nodeName = spec.nodeName, !nodeName.isEmpty {
            errors.check("\(path).nodeName", nodeName, NameValidation.dns1123SubdomainProblem(nodeName))
        }
        for (key, value) in spec.nodeSelector ?? [:] {
            errors.check("\(path).nodeSelector", key, NameValidation.qualifiedNameProblem(key))
            errors.check("\(path).nodeSelector", value, NameValidation.labelValueProblem(value))
        }
        for (index, toleration) in (spec.tolerations ?? []).enumerated() {
            validate(toleration, path: "\(path).tolerations[\(index)]", into: &errors)
        }
        var spreadPairs = Set<String>()
        for (index, constraint) in (spec.topologySpreadConstraints ?? []).enumerated() {
            let constraintPath = "\(path).topologySpreadConstraints[\(index)]"
            validate(constraint, path: constraintPath, into: &errors)
            let pair = "{\(constraint.topologyKey), \(constraint.whenUnsatisfiable)}"
            if !spreadPairs.insert(pair).inserted { errors.duplicate("\(constraintPath).{topologyKey, whenUnsatisfiable}", pair) }
        }
        if let hostname = spec.hostname {
            errors.check("\(path).hostname", hostname, NameValidation.dns1123LabelProblem(hostname))
        }
    }

    static func validateVolumeSource(_ volume: Volume, path: String, into errors: inout FieldErrors) {
        let sources: [Any?] = [volume.emptyDir, volume.hostPath, volume.configMap, volume.secret, volume.persistentVolumeClaim,
                               volume.projected, volume.downwardAPI, volume.ephemeral, volume.csi, volume.nfs, volume.image]
        let count = sources.compactMap { $0 }.count
        if count == 0 {
            // Kubernetes defaults a volume without a source to emptyDir.
            return
        }
        if count > 1 { errors.forbidden(path, "may not specify more than 1 volume type") }
        if let hostPath = volume.hostPath {
            if hostPath.path.isEmpty { errors.required("\(path).hostPath.path") }
            let types = ["", "DirectoryOrCreate", "Directory", "FileOrCreate", "File", "Socket", "CharDevice", "BlockDevice"]
            if let type = hostPath.type, !types.contains(type) { errors.notSupported("\(path).hostPath.type", type, types) }
        }
        if let claim = volume.persistentVolumeClaim, claim.claimName.isEmpty { errors.required("\(path).persistentVolumeClaim.claimName") }
        VolumeValidation.refuseUnprovided(volume, path: path, into: &errors)
        VolumeValidation.validate(volume, path: path, into: &errors)
    }

    static func validate(_ container: Container, path: String, volumes: Set<String>, names: inout Set<String>, into errors: inout FieldErrors) {
        if container.name.isEmpty {
            errors.required("\(path).name")
        } else {
            errors.check("\(path).name", container.name, NameValidation.dns1123LabelProblem(container.name))
            if !names.insert(container.name).inserted { errors.duplicate("\(path).name", container.name) }
        }
        if (container.image ?? "").trimmingCharacters(in: " ").isEmpty { errors.required("\(path).image") }
        if let policy = container.imagePullPolicy, !pullPolicies.contains(policy) {
            errors.notSupported("\(path).imagePullPolicy", policy, pullPolicies)
        }
        var portNames = Set<String>()
        for (index, port) in (container.ports ?? []).enumerated() {
            let field = "\(path).ports[\(index)]"
            if !(1...65535).contains(port.containerPort) {
                errors.invalid("\(field).containerPort", String(port.containerPort), "must be between 1 and 65535, inclusive")
            }
            if let hostPort = port.hostPort, hostPort != 0, !(1...65535).contains(hostPort) {
                errors.invalid("\(field).hostPort", String(hostPort), "must be between 1 and 65535, inclusive")
            }
            if let proto = port.protocol, !protocols.contains(proto) { errors.notSupported("\(field).protocol", proto, protocols) }
            if let name = port.name, !name.isEmpty {
                errors.check("\(field).name", name, NameValidation.portNameProblem(name))
                if !portNames.insert(name).inserted { errors.duplicate("\(field).name", name) }
            }
        }
        for (index, variable) in (container.env ?? []).enumerated() {
            let field = "\(path).env[\(index)]"
            errors.check("\(field).name", variable.name, NameValidation.envVarNameProblem(variable.name))
            if let source = variable.valueFrom {
                let count = [source.fieldRef != nil, source.resourceFieldRef != nil, source.configMapKeyRef != nil, source.secretKeyRef != nil].filter { $0 }.count
                if count != 1 { errors.invalid("\(field).valueFrom", "", "may not have more than one field specified at a time") }
                if variable.value.map({ !$0.isEmpty }) ?? false {
                    errors.invalid("\(field).valueFrom", "", "may not be specified when `value` is not empty")
                }
            }
        }
        for (index, mount) in (container.volumeMounts ?? []).enumerated() {
            let field = "\(path).volumeMounts[\(index)]"
            if !volumes.contains(mount.name) { errors.causes.append(StatusCause(reason: "FieldValueNotFound", message: "Not found: \"\(mount.name)\"", field: "\(field).name")) }
            if mount.mountPath.isEmpty { errors.required("\(field).mountPath") }
        }
        validateResources(container.resources, path: "\(path).resources", into: &errors)
        for (name, probe) in [("livenessProbe", container.livenessProbe), ("readinessProbe", container.readinessProbe), ("startupProbe", container.startupProbe)] {
            guard let probe else { continue }
            let handlers = [probe.exec != nil, probe.httpGet != nil, probe.tcpSocket != nil, probe.grpc != nil].filter { $0 }.count
            if handlers == 0 { errors.required("\(path).\(name)") }
            if handlers > 1 { errors.forbidden("\(path).\(name)", "may not specify more than 1 handler type") }
            for (fieldName, value) in [("periodSeconds", probe.periodSeconds), ("timeoutSeconds", probe.timeoutSeconds), ("failureThreshold", probe.failureThreshold), ("successThreshold", probe.successThreshold)] {
                if let value, value < 1 { errors.invalid("\(path).\(name).\(fieldName)", String(value), "must be greater than or equal to 1") }
            }
        }
    }

    static func validateResources(_ resources: ResourceRequirements?, path: String, into errors: inout FieldErrors) {
        guard let resources else { return }
        for (name, quantity) in resources.limits ?? [:] where quantity.nanos < 0 {
            errors.invalid("\(path).limits[\(name)]", quantity.description, "must be greater than or equal to 0")
        }
        for (name, quantity) in resources.requests ?? [:] {
            if quantity.nanos < 0 { errors.invalid("\(path).requests[\(name)]", quantity.description, "must be greater than or equal to 0") }
            if let limit = resources.limits?[name], quantity > limit {
                errors.invalid("\(path).requests", quantity.description, "must be less than or equal to \(name) limit of \(limit)")
            }
        }
    }

    static func validate(_ toleration: Toleration, path: String, into errors: inout FieldErrors) {
        let operators = ["Equal", "Exists"]
        if let op = toleration.operator, !operators.contains(op) { errors.notSupported("\(path).operator", op, operators) }
        if toleration.operator == "Exists", !(toleration.value ?? "").isEmpty {
            errors.invalid("\(path).operator", "Exists", "value must be empty when `operator` is 'Exists'")
        }
        let effects = ["NoSchedule", "PreferNoSchedule", "NoExecute"]
        if let effect = toleration.effect, !effect.isEmpty, !effects.contains(effect) { errors.notSupported("\(path).effect", effect, effects) }
        if let key = toleration.key, !key.isEmpty { errors.check("\(path).key", key, NameValidation.qualifiedNameProblem(key)) }
    }

    static func validate(_ constraint: TopologySpreadConstraint, path: String, into errors: inout FieldErrors) {
        if constraint.maxSkew <= 0 { errors.invalid("\(path).maxSkew", String(constraint.maxSkew), "must be greater than zero") }
        if constraint.topologyKey.isEmpty {
            errors.required("\(path).topologyKey")
        } else {
            errors.check("\(path).topologyKey", constraint.topologyKey, NameValidation.qualifiedNameProblem(constraint.topologyKey))
        }
        let actions = ["DoNotSchedule", "ScheduleAnyway"]
        if !actions.contains(constraint.whenUnsatisfiable) { errors.notSupported("\(path).whenUnsatisfiable", constraint.whenUnsatisfiable, actions) }
        if let minDomains = constraint.minDomains {
            if minDomains <= 0 { errors.invalid("\(path).minDomains", String(minDomains), "must be greater than zero") }
            if constraint.whenUnsatisfiable != "DoNotSchedule" {
                errors.invalid("\(path).minDomains", String(minDomains),
                               "can only use minDomains if whenUnsatisfiable=DoNotSchedule, not \(constraint.whenUnsatisfiable)")
            }
        }
        let policies = ["Honor", "Ignore"]
        if let policy = constraint.nodeAffinityPolicy, !policies.contains(policy) { errors.notSupported("\(path).nodeAffinityPolicy", policy, policies) }
        if let policy = constraint.nodeTaintsPolicy, !policies.contains(policy) { errors.notSupported("\(path).nodeTaintsPolicy", policy, policies) }
    }

    /// Kubernetes lets a pod update change only images, tolerations (additions), the active
    /// deadline and the grace period; everything else in the spec is immutable.
    static func validateUpdate(_ new: PodSpec, _ old: PodSpec, into errors: inout FieldErrors) {
        var comparable = new
        for index in comparable.containers.indices where index < old.containers.count {
            comparable.containers[index].image = old.containers[index].image
        }
        if var initContainers = comparable.initContainers, let oldInit = old.initContainers {
            for index in initContainers.indices where index < oldInit.count { initContainers[index].image = oldInit[index].image }
            comparable.initContainers = initContainers
        }
        comparable.activeDeadlineSeconds = old.activeDeadlineSeconds
        comparable.tolerations = old.tolerations
        comparable.terminationGracePeriodSeconds = old.terminationGracePeriodSeconds
        if old.nodeName == nil || old.nodeName == "" { comparable.nodeName = old.nodeName }
        if comparable != old {
            errors.forbidden("spec", "pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)")
        }
    }
}
