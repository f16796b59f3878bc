import BerthCore

/// Legacy (unaggregated) discovery documents: `/api`, `/apis`, `/apis/G`, `/api/v1`, `/apis/G/V`.
enum Discovery {
    static let kubernetesVersion = (major: "1", minor: "33")
    static let berthVersion = "0.1.0"

    static func version() -> JSONValue {
        [
            "major": .string(kubernetesVersion.major), "minor": .string(kubernetesVersion.minor),
            "gitVersion": .string("v\(kubernetesVersion.major).\(kubernetesVersion.minor).0-berth.\(berthVersion)"),
            "gitCommit": "", "gitTreeState": "clean", "buildDate": "", "goVersion": "swift6",
            "compiler": "swiftc", "platform": "linux/amd64",
        ]
    }

    static func coreVersions() -> JSONValue {
        ["kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": [["clientCIDR": "0.0.0.0/0", "serverAddress": ""]]]
    }

    static func groupEntry(_ group: String, _ registry: ResourceRegistry) -> JSONValue {
        var versions: [String] = []
        for descriptor in registry.descriptors where descriptor.group == group && !versions.contains(descriptor.version) {
            versions.append(descriptor.version)
        }
        // autoscaling/v1 is served over the stored v2 HPAs (`AutoscalingV1`).
        if group == "autoscaling" { versions.append("v1") }
        let entries: [JSONValue] = versions.map { ["groupVersion": .string("\(group)/\($0)"), "version": .string($0)] }
        return ["name": .string(group), "versions": .array(entries), "preferredVersion": entries.first ?? [:]]
    }

    static func groupList(_ registry: ResourceRegistry) -> JSONValue {
        var groups: [String] = []
        for descriptor in registry.descriptors where !descriptor.group.isEmpty && !groups.contains(descriptor.group) {
            groups.append(descriptor.group)
        }
        // Groups served by mounts rather than stored kinds (`metrics.k8s.io`).
        let served = [APIServer.resourceMetricsGroupDocument(kind: nil),
                      APIServer.adapterGroupDocument(APIServer.customMetricsGroup, version: "v1beta2", kind: nil),
                      APIServer.adapterGroupDocument(APIServer.externalMetricsGroup, version: "v1beta1", kind: nil)]
        return ["kind": "APIGroupList", "apiVersion": "v1", "groups": .array(groups.map { groupEntry($0, registry) } + served)]
    }

    static func group(_ group: String, _ registry: ResourceRegistry) -> JSONValue {
        var entry = groupEntry(group, registry)
        entry["kind"] = "APIGroup"
        entry["apiVersion"] = "v1"
        return entry
    }

    static let objectVerbs: JSONValue = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]

    static func resourceList(group: String, version: String, _ registry: ResourceRegistry) -> JSONValue {
        var resources: [JSONValue] = []
        for descriptor in registry.descriptors where descriptor.group == group && descriptor.version == version {
            var entry: JSONValue = [
                "name": .string(descriptor.plural), "singularName": .string(descriptor.singular),
                "namespaced": .bool(descriptor.namespaced), "kind": .string(descriptor.kind), "verbs": objectVerbs,
                "storageVersionHash": .string(String(descriptor.apiVersion.hashValue & 0xFFFFFF, radix: 16)),
            ]
            if !descriptor.shortNames.isEmpty { entry["shortNames"] = .array(descriptor.shortNames.map { .string($0) }) }
            if !descriptor.categories.isEmpty { entry["categories"] = .array(descriptor.categories.map { .string($0) }) }
            resources.append(entry)
            for subresource in descriptor.subresources.sorted() {
                var sub: JSONValue = ["name": .string("\(descriptor.plural)/\(subresource)"), "singularName": "",
                                      "namespaced": .bool(descriptor.namespaced), "kind": .string(descriptor.kind), "verbs": ["get", "patch", "update"]]
                if subresource == "log" { sub["verbs"] = ["get"] }
                if subresource == "exec" || subresource == "attach" || subresource == "portforward" {
                    sub["verbs"] = ["create", "get"]
                    sub["kind"] = ["exec": "PodExecOptions", "attach": "PodAttachOptions"][subresource] ?? "PodPortForwardOptions"
                }
                if subresource == "binding" {
                    sub["verbs"] = ["create"]
                    sub["kind"] = "Binding"
                }
                if subresource == "eviction" {
                    sub["verbs"] = ["create"]
                    sub["group"] = "policy"
                    sub["version"] = "v1"
                    sub["kind"] = "Eviction"
                }
                if subresource == "scale" {
                    sub["group"] = "autoscaling"
                    sub["version"] = "v1"
                    sub["kind"] = "Scale"
                }
                resources.append(sub)
            }
        }
        let groupVersion = group.isEmpty ? version : "\(group)/\(version)"
        return ["kind": "APIResourceList", "apiVersion": "v1", "groupVersion": .string(groupVersion), "resources": .array(resources)]
    }
}
