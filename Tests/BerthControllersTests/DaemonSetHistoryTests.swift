import BerthCore
import BerthTestSupport
import Foundation
import Testing
@testable import BerthControllers

@Suite("DaemonSet history (ControllerRevisions, .blockingAllowed)")
struct DaemonSetHistoryTests {
    /// Carries a plan out on an in-memory list, as the controller does through the API.
    func apply(_ plan: TemplateHistoryPlan, to revisions: inout [ControllerRevision]) {
        if let create = plan.create { revisions.append(create) }
        if let renumber = plan.renumber, let index = revisions.firstIndex(where: { $0.metadata.name == renumber.metadata.name }) {
            revisions[index] = renumber
        }
        revisions.removeAll { gone in plan.delete.contains { $0.metadata.name == gone.metadata.name } }
    }

    func numbers(_ revisions: [ControllerRevision]) -> [String: Int64] {
        Dictionary(uniqueKeysWithValues: revisions.map { ($0.metadata.labels?[DaemonSetPlanner.hashLabel] ?? "", $0.revision ?? -1) })
    }

    @Test("one revision per template, renumbered newest on rollback; data restores the template")
    func revisionsFollowTemplates() throws {
        var revisions: [ControllerRevision] = []
        let v1 = DaemonSetPlannerTests.daemonSet(image: "v1"), v2 = DaemonSetPlannerTests.daemonSet(image: "v2")
        let h1 = DaemonSetPlanner.templateHash(v1), h2 = DaemonSetPlanner.templateHash(v2)
        apply(try TemplateHistory.plan(.daemonSet(v1), revisions: revisions, pods: []), to: &revisions)
        #expect(numbers(revisions) == [h1: 1])
        let first = try #require(revisions.first)
        #expect(first.metadata.name == "logs-\(h1)")
        #expect(first.metadata.labels?["app"] == "logs", "the template's labels, so the DaemonSet's selector finds it")
        #expect(first.metadata.ownerReferences?.first?.uid == "ds-uid" && first.metadata.ownerReferences?.first?.controller == true)
        #expect(try TemplateHistory.plan(.daemonSet(v1), revisions: revisions, pods: []).isEmpty, "nothing to do twice")

        apply(try TemplateHistory.plan(.daemonSet(v2), revisions: revisions, pods: []), to: &revisions)
        #expect(numbers(revisions) == [h1: 1, h2: 2])
        // Back to v1: its revision becomes the newest, no third object.
        apply(try TemplateHistory.plan(.daemonSet(v1), revisions: revisions, pods: []), to: &revisions)
        #expect(numbers(revisions) == [h1: 3, h2: 2])

        // The data is the strategic merge patch kubectl sends back: it restores v1's template.
        var current = try JSONValue(encoding: v2)
        current = try StrategicMergePatch.apply(try #require(first.data), to: current)
        #expect(try current.decode(DaemonSet.self).spec?.template == v1.spec?.template)
        #expect(first.data?.value(at: ["spec", "template", "$patch"]) == "replace")
    }

    @Test("old revisions beyond revisionHistoryLimit go, oldest first, unless a live pod still runs them")
    func historyLimit() throws {
        var revisions: [ControllerRevision] = []
        var sets: [DaemonSet] = []
        for version in 1...5 {
            var set = DaemonSetPlannerTests.daemonSet(image: "v\(version)")
            set.spec?.revisionHistoryLimit = 2
            sets.append(set)
            apply(try TemplateHistory.plan(.daemonSet(set), revisions: revisions, pods: []), to: &revisions)
        }
        #expect(revisions.compactMap(\.revision).sorted() == [3, 4, 5], "the current one and two old ones")
        // A pod still on v3 keeps it; v4 goes instead when v6 arrives.
        let stale = DaemonSetPlannerTests.pod(sets[2], on: "a")
        var six = DaemonSetPlannerTests.daemonSet(image: "v6")
        six.spec?.revisionHistoryLimit = 2
        apply(try TemplateHistory.plan(.daemonSet(six), revisions: revisions, pods: [stale]), to: &revisions)
        #expect(revisions.compactMap(\.revision).sorted() == [3, 5, 6])
    }
}
