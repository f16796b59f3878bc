import BerthCore
import BerthTestSupport
import Foundation
import Testing

extension MonitoringEndToEnd {
    /// `berth logs -l app=web --since 1h --grep ERROR [-f]` across three pods of a Deployment,
    /// one of them deleted: its lines are still found (kept past its end), only matching lines
    /// come, newest first; `-f` then follows new lines of the running pods.
    @Suite("log search across pods on berth up", .blockingAllowed)
    struct LogSearchEndToEndTests {
        @Test func searchFindsEndedPodsNewestFirstAndFollows() async throws {
            let fixture = MonitoringFixture()
            defer { fixture.stop() }
            try await fixture.start()
            let web = """
            apiVersion: apps/v1
            kind: Deployment
            metadata: {name: web, namespace: default}
            spec:
              replicas: 3
              selector: {matchLabels: {app: web}}
              template:
                metadata: {labels: {app: web}}
                spec:
                  terminationGracePeriodSeconds: 1
                  containers:
                  - name: c
                    image: berth/busybox:latest
                    command: [sh, -c, 'i=0; while true; do i=$((i+1)); echo "INFO $HOSTNAME tick $i"; if [ $((i % 2)) = 0 ]; then echo "ERROR $HOSTNAME failure $i"; fi; sleep 1; done']
            """
            #expect(try await fixture.kubectl(["apply", "-f", "-"], input: web).status == 0)
            let first = try await waitFor("three pods logging", timeout: 120) { () -> [String]? in
                let names = try await fixture.kubectl(["get", "pods", "-l", "app=web", "-o", "jsonpath={.items[*].metadata.name}"]).output.split(separator: " ").map(String.init)
                guard names.count == 3 else { return nil }
                for name in names where !(try await fixture.kubectl(["logs", name]).output.contains("ERROR")) { return nil }
                return names
            }
            let deleted = first[0]
            #expect(try await fixture.kubectl(["delete", "pod", deleted, "--wait=true"]).status == 0)
            let found = try await waitFor("the search", timeout: 60) { () -> String? in
                let result = try await fixture.berth(["logs", "-l", "app=web", "--since", "1h", "--grep", "ERROR"])
                return result.status == 0 && first.allSatisfy({ result.output.contains("\($0)/c") }) ? result.output : nil
            }
            let lines = found.split(separator: "\n")
            #expect(lines.allSatisfy { $0.contains(": ERROR ") }, "only matching lines")
            #expect(lines.contains { $0.contains("\(deleted)/c (ended): ERROR \(deleted) failure") }, "the deleted pod's lines")
            let times = lines.map { String($0.prefix { $0 != " " }) }
            #expect(times == times.sorted(by: >), "newest first")
            // Follow: new ERROR lines of running pods arrive after the history.
            let started = Date()
            let followed = try await MonitoringFixture.run(BerthServerProcess.binary, ["logs", "-l", "app=web", "--grep", "ERROR", "-f", "--limit", "1",
                                                                      "--kubeconfig", fixture.base.server.kubeconfigPath], timeout: 6)
            let newer = followed.output.split(separator: "\n").compactMap { line in RFC3339.parse(String(line.prefix { $0 != " " })) }.filter { $0 > started }
            #expect(!newer.isEmpty, "\(followed.output)")
            // Bad input: a malformed selector is a 400, not an empty answer.
            let bad = try await fixture.curl("GET", "/berth/v1/logs/namespaces/default?labelSelector=app%3D%3D%3Dx")
            #expect(bad.code == 400, "\(bad.code)")
        }
    }
}
