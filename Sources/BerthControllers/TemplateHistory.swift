import BerthCore

/// What to write so a DaemonSet's or StatefulSet's ControllerRevisions record its templates as
/// Kubernetes' controllers record them: one revision per template, named `NAME-HASH`, numbered
/// in the order the templates were last used (a rollback to an old template renumbers its
/// revision to the newest), at most `revisionHistoryLimit` (10) old ones kept, never one a live
/// pod still runs (pods carry `controller-revision-hash`).
public struct TemplateHistoryPlan: Sendable {
    public var create: ControllerRevision?
    public var renumber: ControllerRevision?
    public var delete: [ControllerRevision] = []

    public var isEmpty: Bool { create == nil && renumber == nil && delete.isEmpty }
}

/// The owner's side of its history: what the revisions record and how pods name them.
public struct TemplateOwner: Sendable {
    var reference: OwnerReference
    var namespace: String?
    var template: PodTemplateSpec
    var hash: String
    var historyLimit: Int32?
    /// The pod label value that names a revision (DaemonSets: the hash; StatefulSets: the
    /// revision's name).
    var podLabelValue: @Sendable (ControllerRevision) -> String

    var revisionName: String { reference.name + "-" + hash }
}

public enum TemplateHistory {
    public static func plan(_ owner: TemplateOwner, revisions: [ControllerRevision], pods: [Pod]) throws(BerthError) -> TemplateHistoryPlan {
        var plan = TemplateHistoryPlan()
        let name = owner.revisionName
        let newest = revisions.compactMap(\.revision).max() ?? 0
        if let current = revisions.first(where: { $0.metadata.name == name }) {
            if (current.revision ?? 0) < newest {
                var renumbered = current
                renumbered.revision = newest + 1
                plan.renumber = renumbered
            }
        } else {
            plan.create = try revision(owner, number: newest + 1)
        }
        let limit = Int(max(0, owner.historyLimit ?? 10))
        let old = revisions.filter { $0.metadata.name != name }
        let running = Set(pods.filter { $0.metadata.deletionTimestamp == nil }.compactMap { $0.metadata.labels?[DaemonSetPlanner.hashLabel] })
        let removable = old.filter { !running.contains(owner.podLabelValue($0)) }.sorted { ($0.revision ?? 0) < ($1.revision ?? 0) }
        plan.delete = Array(removable.prefix(max(0, old.count - limit)))
        return plan
    }

    /// The revision of the owner's current template; `data` is what `kubectl rollout undo`
    /// sends back as a strategic merge patch: `{"spec":{"template":{…,"$patch":"replace"}}}`.
    static func revision(_ owner: TemplateOwner, number: Int64) throws(BerthError) -> ControllerRevision {
        var template = try JSONValue(encoding: owner.template)
        template["$patch"] = "replace"
        var labels = owner.template.metadata?.labels ?? [:]
        labels[DaemonSetPlanner.hashLabel] = owner.hash
        var metadata = ObjectMeta(name: owner.revisionName, namespace: owner.namespace, labels: labels)
        metadata.ownerReferences = [owner.reference]
        return ControllerRevision(metadata: metadata, data: ["spec": ["template": template]], revision: number)
    }

    /// The template a revision recorded (nil if it does not decode).
    static func template(of revision: ControllerRevision) -> PodTemplateSpec? {
        guard var template = revision.data?.value(at: ["spec", "template"]) else { return nil }
        template["$patch"] = nil
        return try? template.decode(PodTemplateSpec.self)
    }
}

extension TemplateOwner {
    public static func daemonSet(_ daemonSet: DaemonSet) -> TemplateOwner {
        TemplateOwner(reference: .controller(daemonSet, kind: "DaemonSet"), namespace: daemonSet.metadata.namespace,
                      template: daemonSet.spec?.template ?? PodTemplateSpec(), hash: DaemonSetPlanner.templateHash(daemonSet),
                      historyLimit: daemonSet.spec?.revisionHistoryLimit,
                      podLabelValue: { $0.metadata.labels?[DaemonSetPlanner.hashLabel] ?? "" })
    }
}
