import BerthClient
import BerthCore
import BerthNetwork
import BerthRuntime
import BerthTestSupport
import Foundation
import Testing

/// An app with an IPPool keeps its addresses: pods deleted, a host killed — the replacements
/// come back with the same addresses, on other hosts, reachable; a full pool leaves a pod
/// Pending with an Event; bad pools are refused with a 422 through kubectl.
@Suite("Fixed addresses (IPPool)", .serialized, .blockingAllowed)
struct FixedAddressTests {
    static let pool = """
        apiVersion: berth.dev/v1
        kind: IPPool
        metadata: {name: fixed}
        spec:
          addresses: ["100.96.250.10-100.96.250.11"]
          namespace: default
          podSelector: {matchLabels: {app: fixed}}
        """

    static func app(replicas: Int) -> String {
        """
        apiVersion: apps/v1
        kind: Deployment
        metadata: {name: fixed}
        spec:
          replicas: \(replicas)
          selector: {matchLabels: {app: fixed}}
          template:
            metadata: {labels: {app: fixed}}
            spec:
              terminationGracePeriodSeconds: 1
              affinity:
                podAntiAffinity:
                  requiredDuringSchedulingIgnoredDuringExecution:
                  - topologyKey: kubernetes.io/hostname
                    labelSelector: {matchLabels: {app: fixed}}
              containers:
              - name: web
                image: berth/busybox:latest
                command: [sh, -c, "mkdir -p /www && hostname > /www/index.html && exec httpd -f -p 8080 -h /www"]
        """
    }

    static let addresses: Set<String> = ["100.96.250.10", "100.96.250.11"]

    /// Live, Running app pods showing their pool address as their pod IP.
    static func settled(_ cluster: ClusterFixture) async throws -> [Pod]? {
        let pods = try await cluster.pods(selector: "app%3Dfixed").filter { $0.metadata.deletionTimestamp == nil }
        let running = pods.filter { pod in
            pod.status?.phase == "Running" && pod.status?.podIP != nil && pod.status?.podIP == pod.metadata.annotations?[IPPool.addressAnnotation]
        }
        return running.count == 2 && pods.count == 2 ? running : nil
    }

    /// Every app pod answers on its fixed address from the client pod.
    /// `timeout`: 20 s, except after pods were re-created: an address that moved to another
    /// host sometimes answers only 20–25 s after its pod runs although every host's route is
    /// right at once (seen in about one run in four; the cause is not found yet — the issue 31
    /// note names it). A pod that never answers still fails.
    static func expectReachable(_ pods: [Pod], from client: Pod, _ step: String, timeout: Double = 20) async throws {
        for pod in pods {
            let url = "http://\(pod.status?.podIP ?? ""):8080/"
            let answer = try await waitFor("\(step): client → \(pod.metadata.name ?? "") at \(url)", timeout: timeout) {
                let result = try PodNetworkTests.inPod(client, ["/usr/bin/curl", "-s", "-m", "3", url])
                return result.status == 0 ? result.output : nil
            }
            #expect(answer.trimmingCharacters(in: .whitespacesAndNewlines) == pod.metadata.name, "\(step)")
        }
    }

    @Test("a fixed-IP app keeps its addresses across pod deletion and host loss; an exhausted pool leaves a pod Pending; bad pools are 422; `berth cleanup` leaves no table, route, link, namespace or mount",
          arguments: ["routed", "vxlan"])
    func fixedAddresses(mode: String) async throws {
        let cluster = try await ClusterFixture.start(networkMode: mode)
        do {
            try cluster.apply(Self.pool)
            // Bad pools through a real client: overlapping, outside the cluster range, in a node's subnet.
            let overlapping = Self.pool.replacingOccurrences(of: "name: fixed", with: "name: other").replacingOccurrences(of: "250.10-", with: "250.5-")
            let refused = try cluster.kubectl(["apply", "-f", "-"], input: overlapping)
            #expect(refused.status != 0 && refused.error.contains("spec.addresses[0]") && refused.error.contains("overlaps IPPool fixed"), "\(refused.error)")
            let outside = overlapping.replacingOccurrences(of: "100.96.250.5-100.96.250.11", with: "198.51.100.7")
            #expect(try cluster.kubectl(["apply", "-f", "-"], input: outside).error.contains("cluster pod CIDR"))
            let nodeSubnet = overlapping.replacingOccurrences(of: "100.96.250.5-100.96.250.11", with: "100.96.1.7")
            #expect(try cluster.kubectl(["apply", "-f", "-"], input: nodeSubnet).error.contains("pod subnet 100.96.1.0/24"))

            let clientHost = cluster.hosts[0]
            try cluster.apply("""
                apiVersion: v1
                kind: Pod
                metadata: {name: client}
                spec:
                  nodeName: \(clientHost.name)
                  terminationGracePeriodSeconds: 1
                  containers: [{name: web, image: "berth/busybox:latest", command: [sleep, "3600"]}]
                """)
            try cluster.apply(Self.app(replicas: 2))
            let client = try await waitFor("client pod running", timeout: 60) {
                try await cluster.pods(selector: "").first { $0.metadata.name == "client" && $0.status?.phase == "Running" && $0.status?.podIP != nil }
            }
            let first = try await waitFor("2 fixed pods running on their pool addresses", timeout: 60) { try await Self.settled(cluster) }
            #expect(Set(first.compactMap(\.status?.podIP)) == Self.addresses)
            let pool = try await cluster.api().request(.GET, "/apis/berth.dev/v1/ippools/fixed").json()
            let allocations = pool["status"]?["allocations"]?.objectValue?.compactMapValues(\.stringValue) ?? [:]
            #expect(allocations == Dictionary(uniqueKeysWithValues: first.map { ($0.status?.podIP ?? "", $0.metadata.name ?? "") }), "\(allocations)")
            try await Self.expectReachable(first, from: client, "first pods")

            // Deleted pods: the replacements take the same addresses.
            #expect(try cluster.kubectl(["delete", "pods", "-l", "app=fixed", "--wait=false"]).status == 0)
            let second = try await waitFor("replacements running on the same addresses", timeout: 60) { () -> [Pod]? in
                guard let pods = try await Self.settled(cluster), Set(pods.compactMap(\.metadata.name)).isDisjoint(with: first.compactMap(\.metadata.name)) else { return nil }
                return pods
            }
            #expect(Set(second.compactMap(\.status?.podIP)) == Self.addresses)
            for pod in second { print("re-created: \(pod.metadata.name ?? "") \(pod.status?.podIP ?? "") on \(pod.spec?.nodeName ?? ""); before: \(first.map { "\($0.metadata.name ?? "") \($0.status?.podIP ?? "") on \($0.spec?.nodeName ?? "")" })") }
            try await Self.expectReachable(second, from: client, "re-created pods", timeout: 60)

            // A third replica finds the pool full: Pending, with an Event that says so.
            #expect(try cluster.kubectl(["scale", "deployment", "fixed", "--replicas=3"]).status == 0)
            let pending = try await waitFor("a Pending pod told that its pool is exhausted", timeout: 30) {
                try await cluster.pods(selector: "app%3Dfixed").first { pod in
                    pod.status?.phase == "Pending" && pod.spec?.nodeName == nil
                        && pod.status?.conditions?.contains { $0.type == "PodScheduled" && $0.reason == "IPPoolExhausted" } == true
                }
            }
            let events = try await cluster.api().request(.GET, "/api/v1/namespaces/default/events?fieldSelector=reason%3DIPPoolExhausted").json()
            let told = events["items"]?.arrayValue?.first { $0["involvedObject"]?["name"]?.stringValue == pending.metadata.name }
            let message = told?["message"]?.stringValue ?? ""
            #expect(message.contains("IPPool fixed has no free address: 2 of 2 allocated"), "\(message)")
            #expect(try cluster.kubectl(["scale", "deployment", "fixed", "--replicas=2"]).status == 0)

            // A host dies: its pod comes back elsewhere with the same address.
            let victimPod = try #require(second.first { $0.spec?.nodeName != clientHost.name })
            let victim = try #require(cluster.hosts.first { $0.name == victimPod.spec?.nodeName })
            let survivor = try #require(second.first { $0.metadata.uid != victimPod.metadata.uid })
            cluster.killHost(victim)
            let third = try await waitFor("the lost pod's address running on another host", timeout: 90) { () -> [Pod]? in
                guard let pods = try await Self.settled(cluster),
                      let moved = pods.first(where: { $0.status?.podIP == victimPod.status?.podIP }),
                      moved.metadata.uid != victimPod.metadata.uid, moved.spec?.nodeName != victim.name else { return nil }
                return pods
            }
            #expect(Set(third.compactMap(\.status?.podIP)) == Self.addresses)
            #expect(third.contains { $0.metadata.uid == survivor.metadata.uid }, "the surviving pod kept running")
            try await Self.expectReachable(third, from: client, "after the host loss")

            // The agents stop and `berth cleanup` takes the rest off each host (the killed one too).
            for host in cluster.hosts { cluster.stopAgent(host) }
            for host in cluster.hosts {
                let pods = (try? FileManager.default.contentsOfDirectory(atPath: "\(host.dataDirectory)/node/pods")) ?? []
                #expect(!pods.isEmpty)
                let cleanup = try runCommand("/usr/bin/nsenter", ["--net=/run/netns/\(host.namespace)", BerthServerProcess.binary, "cleanup", "--data-dir", host.dataDirectory])
                #expect(cleanup.status == 0, "\(cleanup.error)")
                print("berth cleanup on \(host.name):\n\(cleanup.output)\(cleanup.error)")
                let inHost = { (command: [String]) throws -> String in try runCommand("/usr/sbin/ip", ["netns", "exec", host.namespace] + command).output }
                let tables = try inHost(["/usr/sbin/nft", "list", "tables"])
                #expect(!tables.contains("berth"), "\(host.name) nftables: \(tables)")
                let routes = try inHost(["/usr/sbin/ip", "route", "show", "proto", "77"])
                #expect(routes.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty, "\(host.name) routes: \(routes)")
                let links = try inHost(["/usr/sbin/ip", "-br", "link"])
                #expect(!links.contains("berth") && !links.contains("veth"), "\(host.name) links: \(links)")
                let namespaces = try runCommand("/usr/sbin/ip", ["netns", "list"]).output
                for uid in pods { #expect(!namespaces.contains("berth-\(uid.prefix(18))"), "\(host.name) left the namespace of pod \(uid)") }
                let mounts = ProcFile.mounts(under: host.dataDirectory)
                #expect(mounts.isEmpty, "\(host.name) left mounts: \(mounts)")
                let containers = try runCommand("/usr/sbin/runc", ["--root", host.runcRoot, "list", "-q"]).output
                #expect(containers.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty, "\(host.name) left containers: \(containers)")
            }
        } catch {
            for host in cluster.hosts {
                for command in [["route", "show", "proto", "77"], ["neigh", "show"], ["-d", "link", "show", "berth.vx"]] {
                    print("--- \(host.name): ip \(command.joined(separator: " "))\n\((try? runCommand("/usr/sbin/ip", ["-n", host.namespace] + command))?.output ?? "")")
                }
                print((try? runCommand("/usr/sbin/ip", ["netns", "exec", host.namespace, "/usr/sbin/bridge", "fdb", "show", "dev", "berth.vx"]))?.output ?? "")
                let log = (try? String(contentsOfFile: host.logPath, encoding: .utf8)) ?? ""
                print("--- \(host.name) agent log (tail) ---\n\(log.split(separator: "\n").suffix(30).joined(separator: "\n"))")
            }
            await cluster.tearDown()
            throw error
        }
        await cluster.tearDown()
    }
}
