import BerthCore

/// What to write so a DaemonSet's ControllerRevisions record its templates as Kubernetes'
/// DaemonSet controller records them: one revision per template, named `NAME-HASH` with the
/// pods' `controller-revision-hash`, numbered in the order the templates were last used (a
/// rollback to an old template renumbers its revision to the newest), at most
/// `revisionHistoryLimit` (10) old ones kept, never one a live pod still runs.
public struct DaemonSetHistoryPlan: Sendable {
    public var create: ControllerRevision?
    public var renumber: ControllerRevision?
    public var delete: [ControllerRevision] = []

    public var isEmpty: Bool { create == nil && renumber == nil && delete.isEmpty }
}

public enum DaemonSetHistory {
    public static func plan(_ daemonSet: DaemonSet, revisions: [ControllerRevision], pods: [Pod]) throws(BerthError) -> DaemonSetHistoryPlan {
        var plan = DaemonSetHistoryPlan()
        let hash = DaemonSetPlanner.templateHash(daemonSet)
        let name = revisionName(daemonSet, hash: hash)
        let newest = revisions.compactMap(\.revision).max() ?? 0
        let current = revisions.first { $0.metadata.name == name }
        if let current {
            if (current.revision ?? 0) < newest {
                var renumbered = current
                renumbered.revision = newest + 1
                plan.renumber = renumbered
            }
        } else {
            plan.create = try revision(daemonSet, hash: hash, number: newest + 1)
        }
        let limit = Int(max(0, daemonSet.spec?.revisionHistoryLimit ?? 10))
        let old = revisions.filter { $0.metadata.name != name }
        let running = Set(pods.filter { $0.metadata.deletionTimestamp == nil }.compactMap { $0.metadata.labels?[DaemonSetPlanner.hashLabel] })
        let removable = old.filter { !running.contains($0.metadata.labels?[DaemonSetPlanner.hashLabel] ?? "") }
            .sorted { ($0.revision ?? 0) < ($1.revision ?? 0) }
        plan.delete = Array(removable.prefix(max(0, old.count - limit)))
        return plan
    }

    static func revisionName(_ daemonSet: DaemonSet, hash: String) -> String { (daemonSet.metadata.name ?? "daemonset") + "-" + hash }

    /// The revision of the DaemonSet's current template; `data` is what `kubectl rollout undo`
    /// sends back as a strategic merge patch: `{"spec":{"template":{…,"$patch":"replace"}}}`.
    static func revision(_ daemonSet: DaemonSet, hash: String, number: Int64) throws(BerthError) -> ControllerRevision {
        var template = try JSONValue(encoding: daemonSet.spec?.template ?? PodTemplateSpec())
        template["$patch"] = "replace"
        var labels = daemonSet.spec?.template.metadata?.labels ?? [:]
        labels[DaemonSetPlanner.hashLabel] = hash
        var metadata = ObjectMeta(name: revisionName(daemonSet, hash: hash), namespace: daemonSet.metadata.namespace, labels: labels)
        metadata.ownerReferences = [.controller(daemonSet, kind: "DaemonSet")]
        return ControllerRevision(metadata: metadata, data: ["spec": ["template": template]], revision: number)
    }
}
