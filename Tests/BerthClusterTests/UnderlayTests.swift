import BerthClient
import BerthCore
import BerthTestSupport
import Foundation
import Testing

/// Underlay mode on two hosts: pods on each host's uplink (macvlan) with addresses of the
/// physical network (each node's range, 100.72.K.64/27 and .96/27), reached from a machine
/// outside the cluster by those addresses with no NAT and no route; pods across hosts reach
/// each other directly; a NetworkPolicy enforced in the pod's namespace holds; a pod sending
/// with another source address is dropped by the guard on its eth0.
@Suite("Underlay mode", .serialized, .blockingAllowed)
struct UnderlayTests {
    static func workloads(first: String, second: String) -> String {
        """
        apiVersion: v1
        kind: Pod
        metadata: {name: web, labels: {app: web}}
        spec:
          nodeSelector: {kubernetes.io/hostname: \(first)}
          terminationGracePeriodSeconds: 1
          containers:
          - name: web
            image: berth/busybox:latest
            command: [sh, -c, "mkdir -p /www/cgi-bin && printf '#!/bin/sh\\\\necho Content-Type: text/plain\\\\necho\\\\necho $REMOTE_ADDR\\\\n' > /www/cgi-bin/ip && chmod +x /www/cgi-bin/ip && echo web > /www/index.html && exec httpd -f -p 8080 -h /www"]
            readinessProbe: {tcpSocket: {port: 8080}, periodSeconds: 1}
        ---
        apiVersion: v1
        kind: Pod
        metadata: {name: client}
        spec:
          nodeSelector: {kubernetes.io/hostname: \(second)}
          terminationGracePeriodSeconds: 1
          containers: [{name: client, image: berth/busybox:latest, command: [sleep, "3600"]}]
        ---
        apiVersion: v1
        kind: Service
        metadata: {name: web}
        spec: {selector: {app: web}, ports: [{port: 80, targetPort: 8080}]}
        """
    }

    @Test("the outside reaches a pod by its physical address; pods reach each other across hosts; a deny policy holds; a forged source is dropped")
    func underlay() async throws {
        let cluster = try await ClusterFixture.start(hosts: 2, networkMode: "underlay") { number, underlay in
            ["--underlay-interface", "eth0", "--pod-subnet", "\(underlay).\(32 + 32 * number)/27"]
        }
        var outside: OutsideNetwork?
        do {
            let outsideNetwork = try OutsideNetwork(cluster: cluster)
            outside = outsideNetwork
            let (first, second) = (cluster.hosts[0], cluster.hosts[1])
            try cluster.apply(Self.workloads(first: first.name, second: second.name))
            let pods = try await waitFor("web and client Running with addresses", timeout: 60) { () -> [String: Pod]? in
                let reply = try await cluster.api().request(.GET, "/api/v1/namespaces/default/pods").checked().json()
                let pods = try (reply["items"]?.arrayValue ?? []).map { try $0.decode(Pod.self) }.filter { $0.status?.phase == "Running" && $0.status?.podIP != nil }
                return pods.count == 2 ? Dictionary(uniqueKeysWithValues: pods.map { ($0.metadata.name ?? "", $0) }) : nil
            }
            let web = try #require(pods["web"]), client = try #require(pods["client"])
            let webIP = try #require(web.status?.podIP), clientIP = try #require(client.status?.podIP)
            #expect(webIP.hasPrefix("\(cluster.underlayPrefix).") && clientIP.hasPrefix("\(cluster.underlayPrefix)."), "physical addresses: \(webIP), \(clientIP)")

            // From outside, by the pod's own address: no route, no NAT (the pod sees the caller).
            let seen = try await waitFor("the outside reaches the pod", timeout: 20) { try outsideNetwork.curl("http://\(webIP):8080/cgi-bin/ip") }
            #expect(TrafficTests.plainAddress(seen) == outsideNetwork.address)
            // Pod to pod across hosts, and pod to the outside, keep their addresses.
            func inPod(_ pod: Pod, _ arguments: [String]) throws -> String? {
                let result = try PodNetworkTests.inPod(pod, ["/usr/bin/curl", "-s", "-f", "-m", "3"] + arguments)
                return result.status == 0 ? TrafficTests.plainAddress(result.output) : nil
            }
            let crossHost = try await waitFor("client → web across hosts", timeout: 20) { try inPod(client, ["http://\(webIP):8080/cgi-bin/ip"]) }
            #expect(crossHost == clientIP)
            #expect(try inPod(client, ["http://\(outsideNetwork.address):8000/cgi-bin/ip"]) == clientIP)

            // Services and cluster DNS, DNATed and answered from the pod's own namespace and node.
            let service = try await cluster.api().request(.GET, "/api/v1/namespaces/default/services/web").checked().json()
            let clusterIP = try #require(service.value(at: ["spec", "clusterIP"])?.stringValue)
            let viaService = try await waitFor("client → the web Service's cluster IP", timeout: 20) { try inPod(client, ["http://\(clusterIP)/cgi-bin/ip"]) }
            #expect(viaService == clientIP)
            let lookup = try cluster.kubectl(["exec", "client", "--", "nslookup", "web.default.svc.cluster.local"])
            #expect(lookup.status == 0 && lookup.output.contains(clusterIP), "\(lookup.output) \(lookup.error)")

            // The pod sends from another address of the network: the guard on its eth0 drops it.
            let forged = "\(cluster.underlayPrefix).150"
            _ = try PodNetworkTests.inPod(client, ["/usr/sbin/ip", "addr", "add", "\(forged)/32", "dev", "eth0"])
            #expect(try inPod(client, ["--interface", forged, "http://\(outsideNetwork.address):8000/cgi-bin/ip"]) == nil, "a forged source left the pod")
            #expect(try inPod(client, ["--interface", clientIP, "http://\(outsideNetwork.address):8000/cgi-bin/ip"]) == clientIP)

            // A policy that admits only pods labelled role=friend: the outside is refused at the pod.
            try cluster.apply("""
                apiVersion: networking.k8s.io/v1
                kind: NetworkPolicy
                metadata: {name: friends-only}
                spec:
                  podSelector: {matchLabels: {app: web}}
                  ingress: [{from: [{podSelector: {matchLabels: {role: friend}}}]}]
                """)
            _ = try await waitFor("the policy refuses the outside", timeout: 20) { () -> Bool? in
                try outsideNetwork.curl("http://\(webIP):8080/", timeout: 2) == nil ? true : nil
            }
            #expect(try inPod(client, ["http://\(webIP):8080/cgi-bin/ip"]) == nil, "the unlabelled client is refused too")
            #expect(try cluster.kubectl(["label", "pod", "client", "role=friend"]).status == 0)
            let friend = try await waitFor("a friend is admitted", timeout: 20) { try inPod(client, ["http://\(webIP):8080/cgi-bin/ip"]) }
            #expect(friend == clientIP)
            #expect(try outsideNetwork.curl("http://\(webIP):8080/", timeout: 2) == nil, "the outside is still refused")
            // The node itself probes its pods through its shim: the web pod stayed Ready.
            let ready = try await cluster.api().request(.GET, "/api/v1/namespaces/default/pods/web").checked().json()
            #expect(ready.value(at: ["status", "conditions"])?.arrayValue?.contains { $0["type"]?.stringValue == "Ready" && $0["status"]?.stringValue == "True" } == true)
        } catch {
            outside?.tearDown()
            await cluster.tearDown()
            throw error
        }
        outside?.tearDown()
        await cluster.tearDown()
    }
}
