import BerthCore
import BerthStore
import Hummingbird

/// What a node may do, after Kubernetes' Node authorizer: its own Node and Lease, the pods bound
/// to it (read, status, delete), Events, read access to what networking needs (Ingresses
/// included), the Secrets and ConfigMaps that pods bound to it use, and tokens bound to those
/// pods for their own ServiceAccounts — nothing of another node. A node labelled
/// `berth.dev/ingress=true` also reads the TLS Secrets Ingresses and Gateways name and writes
/// the status of Ingresses, GatewayClasses, Gateways and HTTPRoutes. Nodes read claims,
/// volumes and classes, and finish the volumes pinned to them.
/// The nodes a caller speaks for: one node, or a pool of simulated nodes `PREFIX-N`.
struct NodeScope {
    let user: String
    let owns: @Sendable (String) -> Bool
    let readsSecrets: Bool

    init(node: String) {
        user = "system:node:\(node)"
        owns = { $0 == node }
        readsSecrets = true
    }

    init(pool prefix: String) {
        user = "system:node-pool:\(prefix)"
        owns = { $0.hasPrefix(prefix + "-") }
        readsSecrets = false
    }
}

extension APIServer {
    /// Returns the object it read to decide, for the handler (`PrefetchedObject`).
    @discardableResult
    func authorizeNode(_ scope: NodeScope, _ request: inout Request, _ target: ResourceTarget, verb: String) async throws(BerthError) -> PrefetchedObject? {
        let node = scope.user
        let descriptor = target.descriptor
        func deny(_ reason: String) -> BerthError {
            let attributes = RequestAttributes(user: UserInfo(name: node, groups: [UserInfo.nodes]), verb: verb, path: request.uri.path, target: target)
            logger.notice("refused a node request", metadata: ["node": "\(node)", "verb": "\(verb)", "resource": "\(attributes.qualifiedResource)", "name": "\(target.name ?? "")"])
            return attributes.forbidden(reason)
        }
        switch descriptor.kind {
        case "Pod":
            switch verb {
            case "list", "watch":
                // Every pod, read-only: the network agent resolves NetworkPolicy selectors and
                // tenants against all pods (Kubernetes' nodes may list pods cluster-wide too).
                // Secrets stay limited to the pods bound to the node.
                return nil
            case "get", "update", "patch", "delete":
                guard target.subresource == nil || target.subresource == "status", let name = target.name else { throw deny("not allowed for nodes") }
                let pod = try await storage.get(descriptor, namespace: target.namespace, name: name)
                guard scope.owns(pod.value(at: ["spec", "nodeName"])?.stringValue ?? "") else { throw deny("the pod is not bound to this node") }
                return PrefetchedObject(key: storage.key(descriptor, namespace: target.namespace, name: name), object: pod)
            default: throw deny("not allowed for nodes")
            }
        case "Node":
            if target.subresource == "proxy" { throw deny("nodes may not use the node proxy") }
            switch verb {
            case "get", "list", "watch": return nil
            case "create":
                guard scope.owns(try await bodyName(&request) ?? "") else { throw deny("a node may only register itself") }
            case "update", "patch":
                guard scope.owns(target.name ?? "") else { throw deny("a node may only modify itself") }
            default: throw deny("not allowed for nodes")
            }
        case "Lease":
            guard target.namespace == "kube-node-lease" else { throw deny("a node may only use its lease in kube-node-lease") }
            // Besides its own, the Leases of load-balancer addresses (`lb-A-B-C-D`), which the
            // nodes contend for to decide who announces each address.
            switch verb {
            case "get", "update", "patch", "delete":
                guard let name = target.name, scope.owns(name) || Self.isAddressLease(name), verb != "delete" || Self.isAddressLease(name) else {
                    throw deny("a node may only use its own lease and load-balancer address leases")
                }
            case "create":
                let name = try await bodyName(&request) ?? ""
                guard scope.owns(name) || Self.isAddressLease(name) else { throw deny("a node may only use its own lease and load-balancer address leases") }
            default: throw deny("not allowed for nodes")
            }
        case "Event":
            guard verb == "create" || verb == "patch" || verb == "update" else { throw deny("a node may only record events") }
        case "Secret", "ConfigMap":
            guard scope.readsSecrets, verb == "get", let name = target.name, let namespace = target.namespace else {
                throw deny("a node may only get \(descriptor.plural) used by pods bound to it")
            }
            if descriptor.kind == "Secret", try await ingressNodeReadsCertificate(scope, namespace: namespace, name: name) { return nil }
            guard try await podsOnNodeReference(scope, namespace: namespace, kind: descriptor.kind, name: name) else {
                throw deny("no relationship found between \(node) and this object")
            }
        case "ServiceAccount":
            // A token for a pod bound to the node, of that pod's own account (its token volume).
            guard verb == "create", target.subresource == "token", let account = target.name, let namespace = target.namespace else {
                throw deny("a node may only request tokens for the pods bound to it")
            }
            let buffer = try await BodyReader.collect(&request, upTo: configuration.maximumBodyBytes)
            let reference = (try? JSONParser.parse(Array(buffer.readableBytesView)))?.value(at: ["spec", "boundObjectRef"])
            guard reference?["kind"]?.stringValue == "Pod", let podName = reference?["name"]?.stringValue,
                  let pod = try? await storage.get(.pod, namespace: namespace, name: podName),
                  scope.owns(pod.value(at: ["spec", "nodeName"])?.stringValue ?? ""),
                  (pod.value(at: ["spec", "serviceAccountName"])?.stringValue ?? "default") == account else {
                throw deny("a node may only request tokens bound to a pod on it, for that pod's ServiceAccount")
            }
        case "PersistentVolumeClaim", "StorageClass":
            guard ["get", "list", "watch"].contains(verb) else { throw deny("read-only for nodes") }
        case "PersistentVolume":
            // Read by every node; a node finishes (removes the data of, grows) only the
            // volumes pinned to it by node affinity; a storage node (label
            // storage.berth.dev/glusterfs=true) creates and keeps up GlusterFS volumes.
            if ["get", "list", "watch"].contains(verb) { return nil }
            if verb == "create", target.subresource == nil, try await servesStorage(scope) {
                let buffer = try await BodyReader.collect(&request, upTo: configuration.maximumBodyBytes)
                let body = try? JSONParser.parse(Array(buffer.readableBytesView))
                guard body?.value(at: ["spec", "glusterfs"]) != nil else { throw deny("a storage node creates only glusterfs persistentvolumes") }
                return nil
            }
            guard ["update", "patch"].contains(verb), target.subresource == nil, let name = target.name else { throw deny("nodes read persistentvolumes") }
            let volume = try await storage.get(descriptor, namespace: nil, name: name)
            let pinnedHere = Self.pinnedNode(volume).map(scope.owns) ?? false
            let glusterHere = volume.value(at: ["spec", "glusterfs"]) != nil ? try await servesStorage(scope) : false
            guard pinnedHere || glusterHere else { throw deny("the volume is not pinned to this node, nor a GlusterFS volume of a storage node") }
            return PrefetchedObject(key: storage.key(descriptor, namespace: nil, name: name), object: volume)
        case "VolumeSnapshot", "VolumeSnapshotClass":
            guard ["get", "list", "watch"].contains(verb) else { throw deny("read-only for nodes") }
        case "VolumeSnapshotContent":
            // A node reports the snapshots it takes and removes the data of those deleted: the
            // ones of volumes it holds, or whose archive it keeps.
            if ["get", "list", "watch"].contains(verb) { return nil }
            guard ["update", "patch"].contains(verb), let name = target.name else { throw deny("nodes read volumesnapshotcontents") }
            let content = try await storage.get(descriptor, namespace: nil, name: name)
            let handle = content.value(at: ["status", "snapshotHandle"])?.stringValue ?? content.value(at: ["spec", "source", "snapshotHandle"])?.stringValue
            let handleNode = handle?.split(separator: ":").first.map(String.init)
            var holds = handleNode.map(scope.owns) ?? false
            if !holds, let volumeName = content.value(at: ["spec", "source", "volumeHandle"])?.stringValue,
               let volume = try? await storage.get(.persistentVolume, namespace: nil, name: volumeName) {
                holds = Self.pinnedNode(volume).map(scope.owns) ?? false
                if !holds, volume.value(at: ["spec", "glusterfs"]) != nil { holds = try await servesStorage(scope) }
            }
            guard holds else { throw deny("this node holds neither the snapshot nor its volume") }
            return PrefetchedObject(key: storage.key(descriptor, namespace: nil, name: name), object: content)
        case "Service", "Endpoints", "Namespace", "NetworkPolicy", "IngressClass":
            guard ["get", "list", "watch"].contains(verb) else { throw deny("read-only for nodes") }
        case "Ingress", "GatewayClass", "Gateway", "HTTPRoute":
            // Read by every node; an ingress node reports where Ingresses are reachable.
            if ["get", "list", "watch"].contains(verb) { return nil }
            guard ["update", "patch"].contains(verb), target.subresource == "status", try await carriesIngress(scope) else {
                throw deny("nodes read \(descriptor.kind)s; only an ingress node (label \(Self.ingressNodeLabel)=true) updates their status")
            }
        default:
            throw deny("not allowed for nodes")
        }
        return nil
    }

    /// The node a PersistentVolume's affinity pins it to (`kubernetes.io/hostname In [NODE]`).
    static func pinnedNode(_ volume: JSONValue) -> String? {
        guard let terms = volume.value(at: ["spec", "nodeAffinity", "required", "nodeSelectorTerms"])?.arrayValue, terms.count == 1 else { return nil }
        let requirement = terms[0]["matchExpressions"]?.arrayValue?.first { $0["key"] == "kubernetes.io/hostname" && $0["operator"] == "In" }
        guard let values = requirement?["values"]?.arrayValue, values.count == 1 else { return nil }
        return values[0].stringValue
    }

    /// `lb-A-B-C-D`: the Lease of a load-balancer address.
    static func isAddressLease(_ name: String) -> Bool {
        guard name.hasPrefix("lb-") else { return false }
        let parts = name.dropFirst(3).split(separator: "-", omittingEmptySubsequences: false)
        return parts.count == 4 && parts.allSatisfy { !$0.isEmpty && $0.count <= 3 && $0.allSatisfy(\.isNumber) }
    }

    /// The node label that chooses the nodes carrying ingress (HAProxy).
    static let ingressNodeLabel = "berth.dev/ingress"

    func carriesIngress(_ scope: NodeScope) async throws(BerthError) -> Bool {
        guard scope.readsSecrets, let name = scope.user.split(separator: ":").last.map(String.init),
              let node = try? await storage.get(.node, namespace: nil, name: name) else { return false }
        return node.value(at: ["metadata", "labels", Self.ingressNodeLabel])?.stringValue == "true"
    }

    /// Whether the node serves GlusterFS bricks (label `storage.berth.dev/glusterfs=true`).
    func servesStorage(_ scope: NodeScope) async throws(BerthError) -> Bool {
        guard scope.readsSecrets, let name = scope.user.split(separator: ":").last.map(String.init),
              let node = try? await storage.get(.node, namespace: nil, name: name) else { return false }
        return node.value(at: ["metadata", "labels", "storage.berth.dev/glusterfs"])?.stringValue == "true"
    }

    /// An ingress node may read the TLS Secrets Ingresses name (it terminates their TLS), and
    /// no other Secret through this rule.
    func ingressNodeReadsCertificate(_ scope: NodeScope, namespace: String, name: String) async throws(BerthError) -> Bool {
        guard try await carriesIngress(scope) else { return false }
        for kv in try await storage.list(.ingress, namespace: namespace, limit: 0, continueAfter: nil).kvs {
            let ingress = try ObjectCodec.decode(kv)
            if (ingress.value(at: ["spec", "tls"])?.arrayValue ?? []).contains(where: { $0["secretName"]?.stringValue == name }) { return true }
        }
        // A Gateway listener's certificate (references to other namespaces are not honoured).
        for kv in try await storage.list(.gateway, namespace: namespace, limit: 0, continueAfter: nil).kvs {
            let gateway = try ObjectCodec.decode(kv)
            for listener in gateway.value(at: ["spec", "listeners"])?.arrayValue ?? [] {
                let references = listener.value(at: ["tls", "certificateRefs"])?.arrayValue ?? []
                if references.contains(where: { $0["name"]?.stringValue == name && ($0["namespace"]?.stringValue ?? namespace) == namespace }) { return true }
            }
        }
        return false
    }

    /// The `metadata.name` of a create's body; the body stays readable for the handler.
    func bodyName(_ request: inout Request) async throws(BerthError) -> String? {
        let buffer = try await BodyReader.collect(&request, upTo: configuration.maximumBodyBytes)
        let value = try? JSONParser.parse(Array(buffer.readableBytesView))
        return value?["metadata"]?["name"]?.stringValue
    }

    /// Whether a pod bound to `node` uses the Secret or ConfigMap: volumes, env, envFrom,
    /// projected sources, imagePullSecrets.
    func podsOnNodeReference(_ scope: NodeScope, namespace: String, kind: String, name: String) async throws(BerthError) -> Bool {
        let page = try await storage.list(.pod, namespace: namespace, limit: 0, continueAfter: nil)
        for kv in page.kvs {
            let pod = try ObjectCodec.decode(kv)
            guard scope.owns(pod.value(at: ["spec", "nodeName"])?.stringValue ?? ""), let spec = pod["spec"] else { continue }
            if Self.references(spec, kind: kind, name: name) { return true }
        }
        return false
    }

    static func references(_ spec: JSONValue, kind: String, name: String) -> Bool {
        let volumeKey = kind == "Secret" ? "secret" : "configMap"
        let nameKey = kind == "Secret" ? "secretName" : "name"
        for volume in spec["volumes"]?.arrayValue ?? [] {
            if volume[volumeKey]?[nameKey]?.stringValue == name { return true }
            for source in volume["projected"]?["sources"]?.arrayValue ?? [] where source[volumeKey]?["name"]?.stringValue == name { return true }
        }
        if kind == "Secret", spec["imagePullSecrets"]?.arrayValue?.contains(where: { $0["name"]?.stringValue == name }) == true { return true }
        let refKey = kind == "Secret" ? "secretKeyRef" : "configMapKeyRef"
        let fromKey = kind == "Secret" ? "secretRef" : "configMapRef"
        let containers = (spec["containers"]?.arrayValue ?? []) + (spec["initContainers"]?.arrayValue ?? [])
        for container in containers {
            for variable in container["env"]?.arrayValue ?? [] where variable["valueFrom"]?[refKey]?["name"]?.stringValue == name { return true }
            for source in container["envFrom"]?.arrayValue ?? [] where source[fromKey]?["name"]?.stringValue == name { return true }
        }
        return false
    }
}
