import BerthClient
import BerthCore
import BerthTestSupport
import Foundation
import Testing

/// Traffic between the cluster and a machine outside it (a namespace on the underlay the test
/// made): pod egress masqueraded to the node's address while pod-to-pod keeps its source,
/// hostPort and externalIPs reached from outside, and the node itself reaching node ports, host
/// ports (through 127.0.0.1) and cluster IPs with no default route.
@Suite("Traffic in and out", .serialized, .blockingAllowed)
struct TrafficTests {
    static func workloads(host: String, externalIP: String) -> String {
        """
        apiVersion: v1
        kind: Pod
        metadata: {name: echo, labels: {app: echo}}
        spec:
          nodeSelector: {kubernetes.io/hostname: \(host)}
          terminationGracePeriodSeconds: 1
          containers:
          - name: web
            image: berth/busybox:latest
            ports: [{containerPort: 8080, hostPort: 18080}]
            command: [sh, -c, "mkdir -p /www/cgi-bin && printf '#!/bin/sh\\\\necho Content-Type: text/plain\\\\necho\\\\necho $REMOTE_ADDR\\\\n' > /www/cgi-bin/ip && chmod +x /www/cgi-bin/ip && echo echo > /www/index.html && exec httpd -f -p 8080 -h /www"]
        ---
        apiVersion: v1
        kind: Pod
        metadata: {name: client}
        spec:
          affinity:
            podAntiAffinity:
              requiredDuringSchedulingIgnoredDuringExecution:
              - topologyKey: kubernetes.io/hostname
                labelSelector: {matchLabels: {app: echo}}
          terminationGracePeriodSeconds: 1
          containers: [{name: web, image: berth/busybox:latest, command: [sleep, "3600"]}]
        ---
        apiVersion: v1
        kind: Service
        metadata: {name: echo}
        spec:
          type: NodePort
          selector: {app: echo}
          externalIPs: [\(externalIP)]
          ports: [{port: 80, targetPort: 8080}]
        """
    }

    static func plainAddress(_ text: String) -> String {
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        return trimmed.hasPrefix("[::ffff:") && trimmed.hasSuffix("]") ? String(trimmed.dropFirst(8).dropLast()) : trimmed
    }

    @Test("egress masqueraded to the node, pod-to-pod keeps its source; hostPort and externalIPs from outside; node ports, host ports and cluster IPs from the node itself")
    func inAndOut() async throws {
        let cluster = try await ClusterFixture.start(hosts: 2)
        var outside: OutsideNetwork?
        do {
            let outsideNetwork = try OutsideNetwork(cluster: cluster)
            outside = outsideNetwork
            let (first, second) = (cluster.hosts[0], cluster.hosts[1])
            let externalIP = "\(cluster.underlayPrefix).150"
            try cluster.apply(Self.workloads(host: first.name, externalIP: externalIP))
            let pods = try await waitFor("echo and client Running with addresses", timeout: 60) { () -> [String: Pod]? in
                let reply = try await cluster.api().request(.GET, "/api/v1/namespaces/default/pods").checked().json()
                let pods = try (reply["items"]?.arrayValue ?? []).map { try $0.decode(Pod.self) }.filter { $0.status?.phase == "Running" && $0.status?.podIP != nil }
                return pods.count == 2 ? Dictionary(uniqueKeysWithValues: pods.map { ($0.metadata.name ?? "", $0) }) : nil
            }
            let echo = try #require(pods["echo"]), client = try #require(pods["client"])
            #expect(echo.spec?.nodeName == first.name && client.spec?.nodeName == second.name)
            let echoIP = try #require(echo.status?.podIP), clientIP = try #require(client.status?.podIP)
            let service = try await cluster.api().request(.GET, "/api/v1/namespaces/default/services/echo").checked().json()
            let clusterIP = try #require(service.value(at: ["spec", "clusterIP"])?.stringValue)
            let nodePort = try #require(service.value(at: ["spec", "ports"])?.arrayValue?.first?["nodePort"]?.intValue)

            // The pod's httpd listens on a dual-stack socket: IPv4 callers show as [::ffff:A.B.C.D].
            func inPod(_ pod: Pod, _ url: String) throws -> String? {
                let result = try PodNetworkTests.inPod(pod, ["/usr/bin/curl", "-s", "-f", "-m", "3", url])
                return result.status == 0 ? Self.plainAddress(result.output) : nil
            }
            func onHost(_ host: ClusterFixture.Host, _ url: String) throws -> String? {
                let result = try runCommand("/usr/sbin/ip", ["netns", "exec", host.namespace, "/usr/bin/curl", "-s", "-f", "-m", "3", url], timeout: 10)
                return result.status == 0 ? result.output.trimmingCharacters(in: .whitespacesAndNewlines) : nil
            }
            // Egress: the outside sees the node's address; pod to pod and pod to service keep
            // the pod's own.
            let seenOutside = try await waitFor("a pod reaches the outside server", timeout: 20) {
                try inPod(echo, "http://\(outsideNetwork.address):8000/cgi-bin/ip")
            }
            #expect(seenOutside == first.address, "the outside saw \(seenOutside), not the node address \(first.address)")
            #expect(try inPod(client, "http://\(outsideNetwork.address):8000/cgi-bin/ip") == second.address)
            let seenByPod = try await waitFor("client → echo pod", timeout: 20) { try inPod(client, "http://\(echoIP):8080/cgi-bin/ip") }
            #expect(seenByPod == clientIP, "pod-to-pod traffic was rewritten: \(seenByPod) instead of \(clientIP)")
            #expect(try inPod(client, "http://\(clusterIP)/cgi-bin/ip") == clientIP)
            // hostPort from outside keeps the client's address; through 127.0.0.1 on the node.
            let viaHostPort = try await waitFor("hostPort from outside", timeout: 20) {
                try outsideNetwork.curl("http://\(first.address):18080/cgi-bin/ip")
            }
            #expect(Self.plainAddress(viaHostPort) == outsideNetwork.address)
            #expect(try onHost(first, "http://127.0.0.1:18080/") == "echo")
            #expect(try onHost(second, "http://127.0.0.1:18080/") == nil, "the host port is the echo pod's node's only")
            // externalIPs: the outside routes the address to the node without the pod.
            try outsideNetwork.route("\(externalIP)/32", via: second.address)
            let viaExternal = try await waitFor("externalIP from outside", timeout: 20) { try outsideNetwork.curl("http://\(externalIP)/") }
            #expect(viaExternal == "echo")
            // The nodes themselves (no default route): node port on 127.0.0.1 and the node's
            // address, with the endpoint local and remote; the cluster IP.
            for host in [first, second] {
                let local = try await waitFor("127.0.0.1:\(nodePort) on \(host.name)", timeout: 20) { try onHost(host, "http://127.0.0.1:\(nodePort)/") }
                #expect(local == "echo")
                #expect(try onHost(host, "http://\(host.address):\(nodePort)/") == "echo")
                #expect(try onHost(host, "http://\(clusterIP)/") == "echo", "cluster IP from \(host.name)")
            }
            #expect(try outsideNetwork.curl("http://\(second.address):\(nodePort)/") == "echo")
            // Pods are not reachable by their own addresses from outside: nothing routes the pod
            // range out there.
            #expect(try outsideNetwork.curl("http://\(echoIP):8080/", timeout: 2) == nil)
        } catch {
            outside?.tearDown()
            await cluster.tearDown()
            throw error
        }
        outside?.tearDown()
        await cluster.tearDown()
    }
}
