import Foundation

/// Every kind the API serves. Later issues add platform kinds (`berth.dev/v1`) here.
public struct ResourceRegistry: Sendable {
    public let descriptors: [ResourceDescriptor]

    public init(descriptors: [ResourceDescriptor]) { self.descriptors = descriptors }

    public static let standard = ResourceRegistry(descriptors: [
        .namespace, .pod, .service, .endpoints, .endpointSlice, .configMap, .serviceAccount, .limitRange, .secret, .node, .event,
        .deployment, .replicaSet, .daemonSet, .lease, .networkPolicy, .ipPool, .podDisruptionBudget, .priorityClass, .controllerRevision,
        .job, .cronJob, .role, .clusterRole, .roleBinding, .clusterRoleBinding, .resourceQuota, .tenant, .certificateSigningRequest, .registryReplication, .horizontalPodAutoscaler, .prometheusMetric, .ingress, .ingressClass, .loadBalancerPool,
        .gatewayClass, .gateway, .httpRoute, .persistentVolume, .persistentVolumeClaim, .storageClass, .statefulSet,
        .volumeSnapshot, .volumeSnapshotContent, .volumeSnapshotClass,
    ])

    /// Finds a resource by group and plural name (`apps`, `deployments`).
    public func resource(group: String, plural: String) -> ResourceDescriptor? {
        descriptors.first { $0.group == group && $0.plural == plural }
    }

    public func resource(apiVersion: String, kind: String) -> ResourceDescriptor? {
        descriptors.first { $0.apiVersion == apiVersion && $0.kind == kind }
    }

    /// Resolves what a CLI user types: plural, singular, short name or kind, optionally `.group`.
    public func resolve(_ name: String) -> ResourceDescriptor? {
        let lowered = name.lowercased()
        let parts = lowered.split(separator: ".", maxSplits: 1).map(String.init)
        let base = parts[0]
        let group = parts.count > 1 ? parts[1] : nil
        return descriptors.first { descriptor in
            (group == nil || descriptor.group == group)
                && (descriptor.plural == base || descriptor.singular == base || descriptor.shortNames.contains(base))
        }
    }

    public var groupVersions: [String] {
        var seen: [String] = []
        for descriptor in descriptors where !seen.contains(descriptor.apiVersion) { seen.append(descriptor.apiVersion) }
        return seen
    }
}

extension ResourceDescriptor {
    static let ageColumn = TableColumn("Age", format: "", "CreationTimestamp is a timestamp representing the server time when this object was created.")

    public static let namespace = ResourceDescriptor(
        Namespace.self, plural: "namespaces", namespaced: false, shortNames: ["ns"], subresources: ["status"],
        nameRule: .label, fieldSelectors: ["status.phase"],
        columns: [TableColumn("Status", "The phase indicates if a namespace is in active or terminating state."), ageColumn]
    ) { object, now in
        [.string(object.value(at: ["metadata", "name"])?.stringValue ?? ""), .string(TableCells.string(object, "status", "phase") ?? ""), TableCells.age(object, now: now)]
    }

    public static let pod = ResourceDescriptor(
        Pod.self, plural: "pods", shortNames: ["po"], categories: ["all"], subresources: ["status", "log", "exec", "attach", "portforward", "binding", "eviction"],
        fieldSelectors: ["spec.nodeName", "status.phase", "status.podIP", "spec.restartPolicy", "spec.schedulerName", "spec.serviceAccountName", "spec.hostNetwork", "status.nominatedNodeName"],
        tracksGeneration: true,
        columns: [
            TableColumn("Ready", "The aggregate readiness state of this pod for accepting traffic."),
            TableColumn("Status", "The aggregate status of the containers in this pod."),
            TableColumn("Restarts", "The number of times the containers in this pod have been restarted and when the last container in this pod has restarted."),
            ageColumn,
            TableColumn("IP", priority: 1, "IP address allocated to the pod. Routable at least within the cluster. Empty if not yet allocated."),
            TableColumn("Node", priority: 1, "NodeName is a request to schedule this pod onto a specific node."),
            TableColumn("Nominated Node", priority: 1, "nominatedNodeName is set only when this pod preempts other pods on the node."),
            TableColumn("Readiness Gates", priority: 1, "If specified, all readiness gates will be evaluated for pod readiness."),
        ]
    ) { object, now in
        let status = TableCells.podStatus(object)
        return [
            .string(TableCells.string(object, "metadata", "name") ?? ""), .string(status.ready), .string(status.status), .string(status.restarts),
            TableCells.age(object, now: now),
            .string(TableCells.string(object, "status", "podIP") ?? "<none>"), .string(TableCells.string(object, "spec", "nodeName") ?? "<none>"),
            .string(TableCells.string(object, "status", "nominatedNodeName") ?? "<none>"), "<none>",
        ]
    }

    public static let service = ResourceDescriptor(
        Service.self, plural: "services", shortNames: ["svc"], categories: ["all"], subresources: ["status"], nameRule: .label,
        tracksGeneration: true,
        columns: [
            TableColumn("Type", "type determines how the Service is exposed."),
            TableColumn("Cluster-IP", "clusterIP is the IP address of the service and is usually assigned randomly."),
            TableColumn("External-IP", "externalIPs is a list of IP addresses for which nodes in the cluster will also accept traffic for this service."),
            TableColumn("Port(s)", "The list of ports that are exposed by this service."),
            ageColumn,
            TableColumn("Selector", priority: 1, "Route service traffic to pods with label keys and values matching this selector."),
        ]
    ) { object, now in
        return [
            .string(TableCells.string(object, "metadata", "name") ?? ""), .string(TableCells.string(object, "spec", "type") ?? "ClusterIP"),
            .string(TableCells.string(object, "spec", "clusterIP") ?? "<none>"), .string(TableCells.serviceExternalIP(object)),
            .string(TableCells.servicePorts(object)), TableCells.age(object, now: now),
            .string(TableCells.mapSelectorText(object.value(at: ["spec", "selector"]))),
        ]
    }

    public static let endpoints = ResourceDescriptor(
        Endpoints.self, plural: "endpoints", shortNames: ["ep"],
        columns: [TableColumn("Endpoints", "Endpoints is the list of endpoints."), ageColumn]
    ) { object, now in
        [.string(TableCells.string(object, "metadata", "name") ?? ""), .string(TableCells.endpoints(object)), TableCells.age(object, now: now)]
    }

    public static let endpointSlice = ResourceDescriptor(
        EndpointSlice.self, group: "discovery.k8s.io", plural: "endpointslices",
        columns: [
            TableColumn("AddressType", "The type of address carried by this EndpointSlice."),
            TableColumn("Ports", "The ports exposed by this EndpointSlice."),
            TableColumn("Endpoints", "The endpoints of this EndpointSlice."),
            ageColumn,
        ]
    ) { object, now in
        [.string(TableCells.string(object, "metadata", "name") ?? ""), .string(TableCells.string(object, "addressType") ?? ""),
         .string(TableCells.slicePorts(object)), .string(TableCells.sliceEndpoints(object)), TableCells.age(object, now: now)]
    }

    public static let configMap = ResourceDescriptor(
        ConfigMap.self, plural: "configmaps", shortNames: ["cm"],
        columns: [TableColumn("Data", "integer", "Data contains the configuration data."), ageColumn]
    ) { object, now in
        let count = (object["data"]?.objectValue?.count ?? 0) + (object["binaryData"]?.objectValue?.count ?? 0)
        return [.string(TableCells.string(object, "metadata", "name") ?? ""), TableCells.number(count), TableCells.age(object, now: now)]
    }

    public static let secret = ResourceDescriptor(
        Secret.self, plural: "secrets", fieldSelectors: ["type"],
        columns: [TableColumn("Type", "Used to facilitate programmatic handling of secret data."), TableColumn("Data", "integer", "Data contains the secret data."), ageColumn]
    ) { object, now in
        [.string(TableCells.string(object, "metadata", "name") ?? ""), .string(TableCells.string(object, "type") ?? "Opaque"),
         TableCells.number(object["data"]?.objectValue?.count ?? 0), TableCells.age(object, now: now)]
    }

    public static let node = ResourceDescriptor(
        Node.self, plural: "nodes", namespaced: false, shortNames: ["no"], subresources: ["status"], fieldSelectors: ["spec.unschedulable"],
        columns: [
            TableColumn("Status", "The status of the node"), TableColumn("Roles", "The roles of the node"), ageColumn,
            TableColumn("Version", "Kubelet Version reported by the node."),
            TableColumn("Internal-IP", priority: 1, "List of addresses reachable to the node."),
            TableColumn("External-IP", priority: 1, "List of addresses reachable to the node."),
            TableColumn("OS-Image", priority: 1, "OS Image reported by the node from /etc/os-release (e.g. Debian GNU/Linux 7 (wheezy))."),
            TableColumn("Kernel-Version", priority: 1, "Kernel Version reported by the node from 'uname -r' (e.g. 3.16.0-0.bpo.4-amd64)."),
            TableColumn("Container-Runtime", priority: 1, "ContainerRuntime Version reported by the node through runtime remote API (e.g. containerd://1.4.2)."),
        ]
    ) { object, now in
        [
            .string(TableCells.string(object, "metadata", "name") ?? ""), .string(TableCells.nodeStatus(object)), .string(TableCells.nodeRoles(object)),
            TableCells.age(object, now: now), .string(TableCells.string(object, "status", "nodeInfo", "kubeletVersion") ?? ""),
            .string(TableCells.nodeAddress(object, "InternalIP")), .string(TableCells.nodeAddress(object, "ExternalIP")),
            .string(TableCells.string(object, "status", "nodeInfo", "osImage") ?? "<unknown>"),
            .string(TableCells.string(object, "status", "nodeInfo", "kernelVersion") ?? "<unknown>"),
            .string(TableCells.string(object, "status", "nodeInfo", "containerRuntimeVersion") ?? "<unknown>"),
        ]
    }

    public static let event = ResourceDescriptor(
        Event.self, plural: "events", shortNames: ["ev"], nameRule: .path,
        fieldSelectors: ["involvedObject.kind", "involvedObject.namespace", "involvedObject.name", "involvedObject.uid", "involvedObject.apiVersion",
                         "involvedObject.resourceVersion", "involvedObject.fieldPath", "reason", "reportingComponent", "source", "type"],
        columns: [
            TableColumn("Last Seen", "Time when this Event was last observed."), TableColumn("Type", "Type of this event."),
            TableColumn("Reason", "Reason is why the action was taken."), TableColumn("Object", "The object this Event is about."),
            TableColumn("Message", "A human-readable description of the status of this operation."),
        ]
    ) { object, now in
        let last = TableCells.string(object, "lastTimestamp") ?? TableCells.string(object, "eventTime") ?? TableCells.string(object, "metadata", "creationTimestamp")
        let seen = TableCells.parseTimestamp(last).map { TableCells.humanDuration(now.timeIntervalSince($0)) } ?? "<unknown>"
        let involved = "\((TableCells.string(object, "involvedObject", "kind") ?? "").lowercased())/\(TableCells.string(object, "involvedObject", "name") ?? "")"
        return [
            .string(TableCells.string(object, "metadata", "name") ?? ""), .string(seen), .string(TableCells.string(object, "type") ?? ""),
            .string(TableCells.string(object, "reason") ?? ""), .string(involved), .string(TableCells.string(object, "message") ?? ""),
        ]
    }

    public static let deployment = ResourceDescriptor(
        Deployment.self, group: "apps", plural: "deployments", shortNames: ["deploy"], categories: ["all"], subresources: ["status", "scale"],
        tracksGeneration: true,
        columns: [
            TableColumn("Ready", "Number of the pod with ready state"), TableColumn("Up-to-date", "integer", "Total number of non-terminated pods targeted by this deployment that have the desired template spec."),
            TableColumn("Available", "integer", "Total number of available pods (ready for at least minReadySeconds) targeted by this deployment."), ageColumn,
            TableColumn("Containers", priority: 1, "Names of each container in the template."), TableColumn("Images", priority: 1, "Images referenced by each container in the template."),
            TableColumn("Selector", priority: 1, "Label selector for pods. Existing ReplicaSets whose pods are selected by this will be the ones affected by this deployment."),
        ]
    ) { object, now in
        let containers = TableCells.containers(object, templatePath: ["spec", "template", "spec"])
        return [
            .string(TableCells.string(object, "metadata", "name") ?? ""),
            .string("\(TableCells.int(object, "status", "readyReplicas"))/\(TableCells.int(object, "spec", "replicas"))"),
            TableCells.number(TableCells.int(object, "status", "updatedReplicas")), TableCells.number(TableCells.int(object, "status", "availableReplicas")),
            TableCells.age(object, now: now),
            TableCells.list(containers.compactMap { $0["name"]?.stringValue }), TableCells.list(containers.compactMap { $0["image"]?.stringValue }),
            .string(TableCells.selectorText(object.value(at: ["spec", "selector"]))),
        ]
    }

    public static let replicaSet = ResourceDescriptor(
        ReplicaSet.self, group: "apps", plural: "replicasets", shortNames: ["rs"], categories: ["all"], subresources: ["status", "scale"],
        tracksGeneration: true,
        columns: [
            TableColumn("Desired", "integer", "Replicas is the number of desired replicas."), TableColumn("Current", "integer", "Replicas is the most recently observed number of replicas."),
            TableColumn("Ready", "integer", "The number of ready replicas for this replica set."), ageColumn,
            TableColumn("Containers", priority: 1, "Names of each container in the template."), TableColumn("Images", priority: 1, "Images referenced by each container in the template."),
            TableColumn("Selector", priority: 1, "Selector is a label query over pods that should match the replica count."),
        ]
    ) { object, now in
        let containers = TableCells.containers(object, templatePath: ["spec", "template", "spec"])
        return [
            .string(TableCells.string(object, "metadata", "name") ?? ""), TableCells.number(TableCells.int(object, "spec", "replicas")),
            TableCells.number(TableCells.int(object, "status", "replicas")), TableCells.number(TableCells.int(object, "status", "readyReplicas")),
            TableCells.age(object, now: now),
            TableCells.list(containers.compactMap { $0["name"]?.stringValue }), TableCells.list(containers.compactMap { $0["image"]?.stringValue }),
            .string(TableCells.selectorText(object.value(at: ["spec", "selector"]))),
        ]
    }

    public static let cronJob = ResourceDescriptor(
        CronJob.self, group: "batch", plural: "cronjobs", shortNames: ["cj"], categories: ["all"], subresources: ["status"],
        columns: [
            TableColumn("Schedule", "The schedule in Cron format, see https://en.wikipedia.org/wiki/Cron."),
            TableColumn("Timezone", "The time zone name for the given schedule, see https://en.wikipedia.org/wiki/List_of_tz_database_time_zones."),
            TableColumn("Suspend", "boolean", "This flag tells the controller to suspend subsequent executions."),
            TableColumn("Active", "integer", "A list of pointers to currently running jobs."),
            TableColumn("Last Schedule", "Information when was the last time the job was successfully scheduled."), ageColumn,
            TableColumn("Containers", priority: 1, "Names of each container in the template."), TableColumn("Images", priority: 1, "Images referenced by each container in the template."),
            TableColumn("Selector", priority: 1, "A label query over pods that should match the pod count."),
        ]
    ) { object, now in
        let containers = TableCells.containers(object, templatePath: ["spec", "jobTemplate", "spec", "template", "spec"])
        let suspend: String
        switch object.value(at: ["spec", "suspend"]) {
        case .bool(true): suspend = "True"
        case .bool(false): suspend = "False"
        default: suspend = "<unset>"
        }
        let last = TableCells.parseTimestamp(TableCells.string(object, "status", "lastScheduleTime")).map { TableCells.humanDuration(now.timeIntervalSince($0)) }
        return [
            .string(TableCells.string(object, "metadata", "name") ?? ""), .string(TableCells.string(object, "spec", "schedule") ?? ""),
            .string(TableCells.string(object, "spec", "timeZone") ?? "<none>"), .string(suspend),
            TableCells.number(object.value(at: ["status", "active"])?.arrayValue?.count ?? 0), .string(last ?? "<none>"), TableCells.age(object, now: now),
            TableCells.list(containers.compactMap { $0["name"]?.stringValue }), TableCells.list(containers.compactMap { $0["image"]?.stringValue }),
            .string(TableCells.selectorText(object.value(at: ["spec", "jobTemplate", "spec", "selector"]))),
        ]
    }

    public static let job = ResourceDescriptor(
        Job.self, group: "batch", plural: "jobs", categories: ["all"], subresources: ["status"],
        columns: [
            TableColumn("Status", "Status of the job."),
            TableColumn("Completions", "The completed and desired completions."),
            TableColumn("Duration", "Time required to complete the job."), ageColumn,
            TableColumn("Containers", priority: 1, "Names of each container in the template."), TableColumn("Images", priority: 1, "Images referenced by each container in the template."),
            TableColumn("Selector", priority: 1, "A label query over pods that should match the pod count."),
        ]
    ) { object, now in
        let containers = TableCells.containers(object, templatePath: ["spec", "template", "spec"])
        return [
            .string(TableCells.string(object, "metadata", "name") ?? ""), .string(TableCells.jobStatus(object)),
            .string(TableCells.jobCompletions(object)), .string(TableCells.jobDuration(object, now: now)), TableCells.age(object, now: now),
            TableCells.list(containers.compactMap { $0["name"]?.stringValue }), TableCells.list(containers.compactMap { $0["image"]?.stringValue }),
            .string(TableCells.selectorText(object.value(at: ["spec", "selector"]))),
        ]
    }

    public static let daemonSet = ResourceDescriptor(
        DaemonSet.self, group: "apps", plural: "daemonsets", shortNames: ["ds"], categories: ["all"], subresources: ["status"],
        tracksGeneration: true,
        columns: [
            TableColumn("Desired", "integer", "The total number of nodes that should be running the daemon pod."),
            TableColumn("Current", "integer", "The number of nodes that are running at least 1 daemon pod and are supposed to run the daemon pod."),
            TableColumn("Ready", "integer", "The number of nodes that should be running the daemon pod and have one or more of the daemon pod running and ready."),
            TableColumn("Up-to-date", "integer", "The total number of nodes that are running updated daemon pod"),
            TableColumn("Available", "integer", "The number of nodes that should be running the daemon pod and have one or more of the daemon pod running and available."),
            TableColumn("Node Selector", "NodeSelector is a selector which must be true for the pod to fit on a node."), ageColumn,
            TableColumn("Containers", priority: 1, "Names of each container in the template."), TableColumn("Images", priority: 1, "Images referenced by each container in the template."),
            TableColumn("Selector", priority: 1, "A label query over pods that are managed by the daemon set."),
        ]
    ) { object, now in
        let containers = TableCells.containers(object, templatePath: ["spec", "template", "spec"])
        return [
            .string(TableCells.string(object, "metadata", "name") ?? ""),
            TableCells.number(TableCells.int(object, "status", "desiredNumberScheduled")), TableCells.number(TableCells.int(object, "status", "currentNumberScheduled")),
            TableCells.number(TableCells.int(object, "status", "numberReady")), TableCells.number(TableCells.int(object, "status", "updatedNumberScheduled")),
            TableCells.number(TableCells.int(object, "status", "numberAvailable")),
            .string(TableCells.mapSelectorText(object.value(at: ["spec", "template", "spec", "nodeSelector"]))), TableCells.age(object, now: now),
            TableCells.list(containers.compactMap { $0["name"]?.stringValue }), TableCells.list(containers.compactMap { $0["image"]?.stringValue }),
            .string(TableCells.selectorText(object.value(at: ["spec", "selector"]))),
        ]
    }

    public static let lease = ResourceDescriptor(
        Lease.self, group: "coordination.k8s.io", plural: "leases", nameRule: .subdomain, tracksGeneration: false,
        columns: [TableColumn("Holder", "The holder of the lease."), ageColumn]
    ) { object, now in
        [.string(TableCells.string(object, "metadata", "name") ?? ""), .string(TableCells.string(object, "spec", "holderIdentity") ?? "<none>"), TableCells.age(object, now: now)]
    }

    public static let networkPolicy = ResourceDescriptor(
        NetworkPolicy.self, group: "networking.k8s.io", plural: "networkpolicies", shortNames: ["netpol"], tracksGeneration: true,
        columns: [TableColumn("Pod-Selector", "podSelector selects the pods to which this NetworkPolicy object applies."), ageColumn]
    ) { object, now in
        [.string(TableCells.string(object, "metadata", "name") ?? ""), .string(TableCells.selectorText(object.value(at: ["spec", "podSelector"]))),
         TableCells.age(object, now: now)]
    }

    public static let podDisruptionBudget = ResourceDescriptor(
        PodDisruptionBudget.self, group: "policy", plural: "poddisruptionbudgets", shortNames: ["pdb"], subresources: ["status"], tracksGeneration: true,
        columns: [
            TableColumn("Min Available", "The minimum number of pods that must be available."),
            TableColumn("Max Unavailable", "The maximum number of pods that may be unavailable."),
            TableColumn("Allowed Disruptions", "Number of pod disruptions that are currently allowed."),
            ageColumn,
        ]
    ) { object, now in
        func cell(_ field: String) -> JSONValue {
            guard let value = object.value(at: ["spec", field]) else { return "N/A" }
            return .string(value.stringValue ?? JSONWriter.string(value))
        }
        return [.string(TableCells.string(object, "metadata", "name") ?? ""), cell("minAvailable"), cell("maxUnavailable"),
                object.value(at: ["status", "disruptionsAllowed"]) ?? 0, TableCells.age(object, now: now)]
    }

    public static let controllerRevision = ResourceDescriptor(
        ControllerRevision.self, group: "apps", plural: "controllerrevisions",
        columns: [
            TableColumn("Controller", "Controller of the object: kind.group/name."),
            TableColumn("Revision", "integer", "Revision indicates the revision of the state represented by Data."),
            ageColumn,
        ]
    ) { object, now in
        let owner = object.value(at: ["metadata", "ownerReferences"])?.arrayValue?.first { $0["controller"] == true }
        var controller = "<none>"
        if let owner, let kind = owner["kind"]?.stringValue, let name = owner["name"]?.stringValue {
            let group = owner["apiVersion"]?.stringValue?.split(separator: "/").dropLast().first.map { "." + $0 } ?? ""
            controller = kind.lowercased() + group + "/" + name
        }
        return [.string(TableCells.string(object, "metadata", "name") ?? ""), .string(controller), object["revision"] ?? 0, TableCells.age(object, now: now)]
    }

    public static let priorityClass = ResourceDescriptor(
        PriorityClass.self, group: "scheduling.k8s.io", plural: "priorityclasses", namespaced: false, shortNames: ["pc"],
        columns: [
            TableColumn("Value", "integer", "The value of this priority class. This is the actual priority that pods receive when they have the name of this class in their pod spec."),
            TableColumn("Global-Default", "boolean", "Whether this priority class is the default for pods that do not name one."),
            ageColumn,
            TableColumn("PreemptionPolicy", "The Policy for preempting pods with lower priority."),
        ]
    ) { object, now in
        [.string(TableCells.string(object, "metadata", "name") ?? ""), object["value"] ?? 0, object["globalDefault"] ?? false,
         TableCells.age(object, now: now), .string(object["preemptionPolicy"]?.stringValue ?? "")]
    }

    public static let ipPool = ResourceDescriptor(
        IPPool.self, group: "berth.dev", plural: "ippools", namespaced: false, shortNames: ["ipp"], subresources: ["status"], tracksGeneration: true,
        columns: [
            TableColumn("Namespace", "The namespace of the pods the pool serves."),
            TableColumn("Selector", "The pods the pool serves."),
            TableColumn("Allocated", "Addresses held by pods, of the pool's addresses."), ageColumn,
            TableColumn("Addresses", priority: 1, "The pool's addresses and ranges."),
        ]
    ) { object, now in
        let capacity = IPPool.capacity(object.value(at: ["spec", "addresses"])?.arrayValue?.compactMap(\.stringValue) ?? [])
        let allocated = object.value(at: ["status", "allocations"])?.objectValue?.count ?? 0
        return [
            .string(TableCells.string(object, "metadata", "name") ?? ""), .string(TableCells.string(object, "spec", "namespace") ?? ""),
            .string(TableCells.selectorText(object.value(at: ["spec", "podSelector"]))), .string("\(allocated)/\(capacity)"),
            TableCells.age(object, now: now),
            TableCells.list(object.value(at: ["spec", "addresses"])?.arrayValue?.compactMap(\.stringValue) ?? []),
        ]
    }
}
