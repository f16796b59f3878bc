import BerthClient
import BerthCore
import BerthTestSupport
import Foundation
import Testing

/// LoadBalancer Services on three hosts: an address from a LoadBalancerPool, announced on the
/// underlay by the node holding its Lease, reached from a machine outside the cluster, and
/// moved to another node when that one dies.
@Suite("LoadBalancer addresses", .serialized, .blockingAllowed)
struct LoadBalancerTests {
    /// A pod on one host that answers `/cgi-bin/ip` with its caller's address, behind a
    /// LoadBalancer Service with `externalTrafficPolicy: Local`.
    static func localEcho(prefix: String, host: String) -> String {
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
            command: [sh, -c, "mkdir -p /www/cgi-bin && printf '#!/bin/sh\\\\necho Content-Type: text/plain\\\\necho\\\\necho $REMOTE_ADDR\\\\n' > /www/cgi-bin/ip && chmod +x /www/cgi-bin/ip && exec httpd -f -p 8080 -h /www"]
        ---
        apiVersion: v1
        kind: Service
        metadata: {name: echo, annotations: {berth.dev/load-balancer-ip: "\(prefix).101"}}
        spec:
          type: LoadBalancer
          externalTrafficPolicy: Local
          selector: {app: echo}
          ports: [{port: 80, targetPort: 8080}]
        """
    }

    static func manifests(prefix: String) -> String {
        """
        apiVersion: berth.dev/v1
        kind: LoadBalancerPool
        metadata: {name: underlay}
        spec: {addresses: ["\(prefix).100-\(prefix).102"]}
        ---
        apiVersion: apps/v1
        kind: Deployment
        metadata: {name: web}
        spec:
          replicas: 3
          selector: {matchLabels: {app: web}}
          template:
            metadata: {labels: {app: web}}
            spec:
              terminationGracePeriodSeconds: 1
              topologySpreadConstraints:
              - {maxSkew: 1, topologyKey: kubernetes.io/hostname, whenUnsatisfiable: DoNotSchedule, labelSelector: {matchLabels: {app: web}}}
              containers:
              - name: web
                image: berth/busybox:latest
                command: [sh, -c, "mkdir -p /www && hostname > /www/index.html && exec httpd -f -p 8080 -h /www"]
                readinessProbe: {tcpSocket: {port: 8080}, periodSeconds: 1}
        ---
        apiVersion: v1
        kind: Service
        metadata: {name: web}
        spec:
          type: LoadBalancer
          selector: {app: web}
          ports: [{port: 80, targetPort: 8080}]
          loadBalancerSourceRanges: ["\(prefix).200/32"]
        ---
        apiVersion: v1
        kind: Service
        metadata: {name: elsewhere, annotations: {berth.dev/load-balancer-ip: "\(prefix).150"}}
        spec:
          type: LoadBalancer
          selector: {app: web}
          ports: [{port: 80, targetPort: 8080}]
        """
    }

    @Test("an address from the pool, announced by one node and reached from outside (source ranges enforced); it moves when that node dies; a foreign address is refused with an Event; bad pools are 422")
    func announcedAndMoved() async throws {
        let cluster = try await ClusterFixture.start(hosts: 3)
        var outside: OutsideNetwork?
        do {
            let outsideNetwork = try OutsideNetwork(cluster: cluster)
            outside = outsideNetwork
            let address = "\(cluster.underlayPrefix).100"
            try cluster.apply(Self.manifests(prefix: cluster.underlayPrefix))
            let shown = try await waitFor("the Service shows its address", timeout: 30) { () -> String? in
                let service = try await cluster.api().request(.GET, "/api/v1/namespaces/default/services/web").checked().json()
                return service.value(at: ["status", "loadBalancer", "ingress"])?.arrayValue?.first?["ip"]?.stringValue
            }
            #expect(shown == address)
            let pool = try await cluster.api().request(.GET, "/apis/berth.dev/v1/loadbalancerpools/underlay").checked().json()
            #expect(pool.value(at: ["status", "assignments", address])?.stringValue == "default/web")
            let listed = try cluster.kubectl(["get", "lbp"])
            #expect(listed.output.contains("underlay") && listed.output.contains("1/3"), "\(listed.output)")

            let answer = try await waitFor("the address answers from outside", timeout: 60) { try outsideNetwork.curl("http://\(address)/", timeout: 2) }
            #expect(answer.hasPrefix("web-"), "\(answer)")
            let leasePath = "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/lb-\(address.replacingOccurrences(of: ".", with: "-"))"
            let holder = try #require(try await cluster.api().request(.GET, leasePath).checked().json().value(at: ["spec", "holderIdentity"])?.stringValue)
            let announcing = try #require(cluster.hosts.first { $0.name == holder })
            // Only the holder has the address on its interface.
            for host in cluster.hosts {
                let addresses = try runCommand("/usr/sbin/ip", ["-n", host.namespace, "-4", "-o", "addr", "show"]).output
                #expect(addresses.contains("\(address)/32") == (host.name == holder), "\(host.name): \(addresses)")
            }

            // externalTrafficPolicy: Local — announced by the node with the endpoint, the
            // client's own address seen by the pod.
            let echoHost = cluster.hosts[1]
            try cluster.apply(Self.localEcho(prefix: cluster.underlayPrefix, host: echoHost.name))
            let localAddress = "\(cluster.underlayPrefix).101"
            let seen = try await waitFor("the Local service answers from outside", timeout: 60) {
                try outsideNetwork.curl("http://\(localAddress)/cgi-bin/ip", timeout: 2)
            }
            #expect(TrafficTests.plainAddress(seen) == outsideNetwork.address, "the pod saw \(seen)")
            let localLease = "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/lb-\(localAddress.replacingOccurrences(of: ".", with: "-"))"
            let localHolder = try await cluster.api().request(.GET, localLease).checked().json().value(at: ["spec", "holderIdentity"])?.stringValue
            #expect(localHolder == echoHost.name, "a Local address is announced by the endpoint's node, not \(localHolder ?? "nobody")")

            // `berth expose --load-balancer-ip`: a Service with that address, said where.
            let exposedAddress = "\(cluster.underlayPrefix).102"
            let exposed = try runCommand(BerthServerProcess.binary, ["expose", "deploy/web", "--name", "web-lb", "--target-port", "8080", "--port", "80",
                                                                     "--load-balancer-ip", exposedAddress, "--kubeconfig", cluster.server.kubeconfigPath])
            #expect(exposed.status == 0 && exposed.output.contains("reachable at \(exposedAddress):80"), "\(exposed.output) \(exposed.error)")
            let viaExposed = try await waitFor("the exposed address answers from outside", timeout: 30) { try outsideNetwork.curl("http://\(exposedAddress)/", timeout: 2) }
            #expect(viaExposed.hasPrefix("web-"), "\(viaExposed)")

            // loadBalancerSourceRanges: the outside machine (.200/32) only; a host of the
            // cluster, on the same underlay, is dropped.
            let bystander = try #require(cluster.hosts.first { $0.name != holder })
            let refused = try runCommand("/usr/sbin/ip", ["netns", "exec", bystander.namespace, "/usr/bin/curl", "-s", "-m", "2", "http://\(address)/"], timeout: 10)
            #expect(refused.status != 0, "a client outside loadBalancerSourceRanges got \(refused.output)")

            // The announcing node dies: another takes the Lease and the address answers again.
            // A dead machine answers nothing: its agent and containers killed, its link down
            // (the fixture's hosts are network namespaces, which outlive their processes).
            cluster.killHost(announcing)
            _ = try runCommand("/usr/sbin/ip", ["-n", announcing.namespace, "link", "set", "eth0", "down"])
            let killed = Date()
            _ = try await waitFor("the address answers again after its node died", timeout: 30) { try outsideNetwork.curl("http://\(address)/", timeout: 1) }
            let moved = Date().timeIntervalSince(killed)
            print("load-balancer address answered again \(String(format: "%.2f", moved)) s after its node died")
            let next = try await cluster.api().request(.GET, leasePath).checked().json().value(at: ["spec", "holderIdentity"])?.stringValue
            #expect(next != nil && next != holder, "the lease moved from \(holder) to \(next ?? "nobody")")

            // An address in no pool: no address, a Warning that says why.
            let events = try await waitFor("the refusal Event", timeout: 20) { () -> [JSONValue]? in
                let reply = try await cluster.api().request(.GET, "/api/v1/namespaces/default/events?fieldSelector=reason%3DAllocationFailed").checked().json()
                let items = reply["items"]?.arrayValue ?? []
                return items.isEmpty ? nil : items
            }
            let message = events.first?["message"]?.stringValue ?? ""
            #expect(message.contains("\(cluster.underlayPrefix).150 is in no LoadBalancerPool that serves namespace default"), "\(message)")

            let bad = try cluster.kubectl(["apply", "-f", "-"], input: """
                apiVersion: berth.dev/v1
                kind: LoadBalancerPool
                metadata: {name: bad}
                spec: {addresses: ["\(cluster.underlayPrefix).300"]}
                """)
            #expect(bad.status != 0 && bad.error.contains("spec.addresses[0]"), "\(bad.error)")
            let overlapping = try cluster.kubectl(["apply", "-f", "-"], input: """
                apiVersion: berth.dev/v1
                kind: LoadBalancerPool
                metadata: {name: overlapping}
                spec: {addresses: ["100.96.200.0/28", "\(cluster.underlayPrefix).101"]}
                """)
            #expect(overlapping.status != 0 && overlapping.error.contains("overlaps the cluster pod CIDR")
                    && overlapping.error.contains("spec.addresses[1]") && overlapping.error.contains("overlaps LoadBalancerPool underlay"), "\(overlapping.error)")
        } catch {
            outside?.tearDown()
            await cluster.tearDown()
            throw error
        }
        outside?.tearDown()
        await cluster.tearDown()
    }
}
