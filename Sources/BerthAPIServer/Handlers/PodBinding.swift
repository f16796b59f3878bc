import BerthCore
import BerthStore
import Hummingbird

/// `pods/{name}/binding` (the scheduler assigns a node) and `pods/{name}/eviction` (drain
/// removes a pod through the policy API).
extension APIServer {
    /// Sets `spec.nodeName` once: a pod already bound is a 409, as in Kubernetes, so two
    /// schedulers racing for one pod cannot both win.
    func bindPod(_ target: ResourceTarget, _ name: String, _ body: JSONValue) async throws(BerthError) -> Response {
        guard body["kind"]?.stringValue ?? "Binding" == "Binding" else {
            throw BerthError(.badRequest, "expected a Binding, got \(body["kind"]?.stringValue ?? "")")
        }
        guard let node = body["target"]?["name"]?.stringValue, !node.isEmpty else {
            throw BerthError.invalid(kind: "Binding", name: name, causes: [.required("target.name")])
        }
        if let bodyName = body["metadata"]?["name"]?.stringValue, bodyName != name {
            throw BerthError(.badRequest, "the name of the Binding (\(bodyName)) does not match the pod in the URL (\(name))")
        }
        let descriptor = target.descriptor
        for _ in 0..<8 {
            let current = try await storage.get(descriptor, namespace: target.namespace, name: name)
            if let uid = body["metadata"]?["uid"]?.stringValue, !uid.isEmpty, uid != current.value(at: ["metadata", "uid"])?.stringValue {
                throw BerthError(.conflict, "Precondition failed: UID in precondition: \(uid), UID in object meta: \(current.value(at: ["metadata", "uid"])?.stringValue ?? "")")
            }
            if current.value(at: ["metadata", "deletionTimestamp"]) != nil {
                throw BerthError(.conflict, "pod \(name) is being deleted, cannot be assigned to a host")
            }
            if let existing = current.value(at: ["spec", "nodeName"])?.stringValue, !existing.isEmpty {
                throw BerthError(.conflict, "pod \(name) is already assigned to node \"\(existing)\"")
            }
            let revision = Int64(current.value(at: ["metadata", "resourceVersion"])?.stringValue ?? "") ?? 0
            var updated = current
            updated.set(.string(node), at: ["spec", "nodeName"])
            var conditions = (current.value(at: ["status", "conditions"])?.arrayValue ?? []).filter { $0["type"]?.stringValue != "PodScheduled" }
            conditions.append(["type": "PodScheduled", "status": "True", "lastProbeTime": .null,
                               "lastTransitionTime": .string(TableCells.formatTimestamp(clock.now()))])
            updated.set(.array(conditions), at: ["status", "conditions"])
            updated.set(nil, at: ["metadata", "resourceVersion"])
            do {
                _ = try await storage.update(descriptor, updated, expectedRevision: revision)
                return Responses.json(["kind": "Status", "apiVersion": "v1", "metadata": [:], "status": "Success", "code": 201], status: .created)
            } catch where error.code == .conflict {
                continue
            }
        }
        throw BerthError.conflict(descriptor.plural, name, group: descriptor.group)
    }

    /// Deletes the pod with the eviction's delete options, unless that would break its
    /// PodDisruptionBudget: a 429 then, as Kubernetes answers (`kubectl drain` retries). An
    /// allowed eviction of a healthy pod is first recorded in the budget's status
    /// (`disruptedPods`, written against the budget's resourceVersion), so two evictions at
    /// once cannot both spend the last allowed disruption.
    func evictPod(_ target: ResourceTarget, _ name: String, _ body: JSONValue) async throws(BerthError) -> Response {
        guard body["kind"]?.stringValue ?? "Eviction" == "Eviction" else {
            throw BerthError(.badRequest, "expected an Eviction, got \(body["kind"]?.stringValue ?? "")")
        }
        let optionsBody = body["deleteOptions"].map(JSONWriter.bytes) ?? []
        let options = try DeleteOptions(body: optionsBody, query: QueryParameters(nil))
        let namespace = target.namespace ?? "default"
        for _ in 0..<8 {
            let pod = try await storage.get(.pod, namespace: namespace, name: name).decode(Pod.self)
            // Pods already leaving, finished or never started disrupt nothing.
            let phase = pod.status?.phase ?? "Pending"
            if pod.metadata.deletionTimestamp == nil && !["Succeeded", "Failed", "Pending"].contains(phase) {
                guard try await spendDisruption(of: pod, namespace: namespace) else { continue }
            }
            _ = try await delete(target, name, options)
            return Responses.json(["kind": "Status", "apiVersion": "v1", "metadata": [:], "status": "Success", "code": 201], status: .created)
        }
        throw BerthError(.tooManyRequests, "the disruption budget of pod \(name) changed 8 times during the eviction; try again")
    }

    /// Checks the pod's budget and records the disruption; false when the record lost a race
    /// (the caller starts over with fresh state).
    private func spendDisruption(of pod: Pod, namespace: String) async throws(BerthError) -> Bool {
        let page = try await storage.list(.podDisruptionBudget, namespace: namespace, limit: 0, continueAfter: nil)
        var matching: [(budget: PodDisruptionBudget, revision: Int64)] = []
        for kv in page.kvs {
            let budget = try ObjectCodec.decode(kv).decode(PodDisruptionBudget.self)
            if DisruptionBudget.selects(budget, pod) { matching.append((budget, kv.modRevision)) }
        }
        guard let (budget, revision) = matching.first else { return true }
        guard matching.count == 1 else {
            throw BerthError(.internalError, "This pod has more than one PodDisruptionBudget, which the eviction subresource does not support.")
        }
        let podPage = try await storage.list(.pod, namespace: namespace, limit: 0, continueAfter: nil)
        var selected: [Pod] = []
        for kv in podPage.kvs {
            let candidate = try ObjectCodec.decode(kv).decode(Pod.self)
            if DisruptionBudget.selects(budget, candidate) { selected.append(candidate) }
        }
        let now = clock.now()
        let owners = try await controllerScales(of: selected, namespace: namespace)
        let status = DisruptionBudget.status(budget, pods: selected, now: now) { owner, namespace in
            DisruptionBudget.controllerScale(owner, namespace: namespace) { kind, _, name in owners["\(kind)/\(name)"] }
        }
        let budgetName = budget.metadata.name ?? ""
        if !DisruptionBudget.isHealthy(pod) {
            // An unready pod keeps nothing available: it may go when the budget is met anyway,
            // or always under AlwaysAllow.
            if budget.spec?.unhealthyPodEvictionPolicy == "AlwaysAllow" || status.currentHealthy >= status.desiredHealthy { return true }
            throw Self.budgetViolation(budgetName, status)
        }
        guard status.disruptionsAllowed > 0 else { throw Self.budgetViolation(budgetName, status) }
        var recorded = budget
        var spent = status
        spent.disruptionsAllowed -= 1
        spent.disruptedPods = (status.disruptedPods ?? [:]).merging([pod.metadata.name ?? "": clock.timestamp()]) { $1 }
        recorded.status = spent
        var object = try JSONValue(encoding: recorded)
        object.set(nil, at: ["metadata", "resourceVersion"])
        do {
            _ = try await storage.update(.podDisruptionBudget, object, expectedRevision: revision)
            return true
        } catch where error.code == .conflict {
            return false
        }
    }

    /// The pods' controllers (and the Deployments over their ReplicaSets) with their scale, by
    /// `KIND/NAME`, read from the store for `DisruptionBudget.controllerScale`.
    private func controllerScales(of pods: [Pod], namespace: String) async throws(BerthError) -> [String: (meta: ObjectMeta, replicas: Int32)] {
        var found: [String: (meta: ObjectMeta, replicas: Int32)] = [:]
        var wanted = pods.compactMap { $0.metadata.ownerReferences?.first { $0.controller == true } }
        while let owner = wanted.popLast() {
            let key = "\(owner.kind)/\(owner.name)"
            guard found[key] == nil else { continue }
            let descriptor: ResourceDescriptor
            switch owner.kind {
            case "ReplicaSet": descriptor = .replicaSet
            case "Deployment": descriptor = .deployment
            case "DaemonSet": descriptor = .daemonSet
            default: continue
            }
            let object: JSONValue
            do {
                object = try await storage.get(descriptor, namespace: namespace, name: owner.name)
            } catch where error.code == .notFound {
                continue
            }
            let meta = try (object["metadata"] ?? [:]).decode(ObjectMeta.self)
            let replicas = owner.kind == "DaemonSet" ? object.value(at: ["status", "desiredNumberScheduled"])?.intValue
                : (object.value(at: ["spec", "replicas"])?.intValue ?? 1)
            found[key] = (meta, Int32(clamping: replicas ?? 0))
            if owner.kind == "ReplicaSet", let parent = meta.ownerReferences?.first(where: { $0.controller == true }) { wanted.append(parent) }
        }
        return found
    }

    static func budgetViolation(_ name: String, _ status: PodDisruptionBudgetStatus) -> BerthError {
        let cause = StatusCause(reason: "DisruptionBudget",
                                message: "The disruption budget \(name) needs \(status.desiredHealthy) healthy pods and has \(status.currentHealthy) currently")
        var details = StatusDetails(causes: [cause])
        details.retryAfterSeconds = 10
        return BerthError(.tooManyRequests, "Cannot evict pod as it would violate the pod's disruption budget.", causes: [cause], details: details)
    }
}
