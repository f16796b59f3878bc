import BerthClient
import BerthCore
import BerthNetwork
import BerthTestSupport
import Foundation
import Testing

/// Pod addresses and cross-host traffic on three hosts, in both network modes.
@Suite("Pod network across hosts", .serialized, .blockingAllowed)
struct PodNetworkTests {
    /// One web server per host, answering with its pod name.
    static let web = """
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
              affinity:
                podAntiAffinity:
                  requiredDuringSchedulingIgnoredDuringExecution:
                  - topologyKey: kubernetes.io/hostname
                    labelSelector: {matchLabels: {app: web}}
              containers:
              - name: web
                image: berth/busybox:latest
                command: [sh, -c, "mkdir -p /www && hostname > /www/index.html && exec httpd -f -p 8080 -h /www"]
        """

    static let services = """
        apiVersion: v1
        kind: Service
        metadata: {name: web}
        spec:
          type: NodePort
          selector: {app: web}
          ports: [{name: http, port: 80, targetPort: 8080}]
        ---
        apiVersion: v1
        kind: Service
        metadata: {name: sticky}
        spec:
          selector: {app: web}
          sessionAffinity: ClientIP
          ports: [{port: 81, targetPort: 8080}]
        ---
        apiVersion: v1
        kind: Service
        metadata: {name: nobody}
        spec:
          selector: {app: none}
          ports: [{port: 82}]
        """

    /// Runs a command in a pod's container through runc on the pod's host (the API's exec does
    /// not reach joined hosts yet).
    static func inContainer(_ cluster: ClusterFixture, _ pod: Pod, _ arguments: [String]) throws -> CommandResult {
        let host = try #require(cluster.hosts.first { $0.name == pod.spec?.nodeName })
        let record = try JSONParser.parse(Array(try Data(contentsOf: URL(fileURLWithPath: "\(host.dataDirectory)/node/pods/\(pod.metadata.uid ?? "")/record.json"))))
        let id = try #require(record["containers"]?["web"]?["id"]?.stringValue)
        return try runCommand("/usr/sbin/runc", ["--root", host.runcRoot, "exec", id] + arguments, timeout: 15)
    }

    /// Runs a command inside a pod's network namespace, as `nsenter` would from the host.
    static func inPod(_ pod: Pod, _ arguments: [String], timeout: TimeInterval = 15) throws -> CommandResult {
        let namespace = "berth-\((pod.metadata.uid ?? "").prefix(18))"
        return try runCommand("/usr/sbin/ip", ["netns", "exec", namespace] + arguments, timeout: timeout)
    }

    @Test("pods reach each other across hosts, forged addresses do not; a ClusterIP balances over 3 replicas, ClientIP affinity sticks, DNS names and service variables, NodePort from the underlay",
          arguments: ["routed", "vxlan"])
    func podToPod(mode: String) async throws {
        let cluster = try await ClusterFixture.start(networkMode: mode)
        do {
            // Each node got its own /24 of the cluster range.
            var subnets: [String: IPv4Network] = [:]
            for host in cluster.hosts {
                let node = try await cluster.api().request(.GET, "/api/v1/nodes/\(host.name)").json()
                let subnet = try #require(node["spec"]?["podCIDR"]?.stringValue.flatMap(IPv4Network.init))
                #expect(IPv4Network("100.96.0.0/11")!.contains(subnet) && subnet.prefixLength == 24)
                subnets[host.name] = subnet
            }
            #expect(Set(subnets.values).count == 3, "subnets: \(subnets)")

            try cluster.apply(Self.web)
            let pods = try await waitFor("3 web pods running with addresses", timeout: 60) {
                let pods = try await cluster.pods(selector: "app%3Dweb").filter { $0.status?.phase == "Running" && $0.status?.podIP != nil }
                return pods.count == 3 ? pods : nil
            }
            #expect(Set(pods.compactMap { $0.spec?.nodeName }).count == 3)
            for pod in pods {
                let address = try #require(pod.status?.podIP.flatMap(IPv4.parse))
                #expect(subnets[pod.spec?.nodeName ?? ""]?.contains(address) == true, "\(pod.metadata.name ?? "") has \(pod.status?.podIP ?? "") outside its node's subnet")
                let link = try Self.inPod(pod, ["/usr/sbin/ip", "-j", "link", "show", "eth0"]).output
                #expect(link.contains("\"mtu\":\(mode == "vxlan" ? 1450 : 1500)"), "pod MTU in \(mode) mode: \(link)")
            }
            for source in pods {
                for target in pods where target.metadata.uid != source.metadata.uid {
                    let url = "http://\(target.status?.podIP ?? ""):8080/"
                    let answer = try await waitFor("\(source.metadata.name ?? "") → \(target.metadata.name ?? "")", timeout: 20) {
                        let result = try Self.inPod(source, ["/usr/bin/curl", "-s", "-m", "3", url])
                        return result.status == 0 ? result.output : nil
                    }
                    #expect(answer.trimmingCharacters(in: .whitespacesAndNewlines) == target.metadata.name)
                }
            }

            // Anti-spoofing: a second address or a forged MAC on a pod's eth0 (made from the host
            // with the pod's namespace) gets nothing through; the real ones do.
            let (spoofer, target) = (pods[0], pods[1])
            let targetURL = "http://\(target.status?.podIP ?? ""):8080/"
            let namespace = "berth-\((spoofer.metadata.uid ?? "").prefix(18))"
            let forged = IPv4Network.format(try #require(spoofer.status?.podIP.flatMap(IPv4.parse)) & 0xFFFF_FF00 | 250)
            _ = try runCommand("/usr/sbin/ip", ["-n", namespace, "addr", "add", "\(forged)/32", "dev", "eth0"])
            let spoofed = try Self.inPod(spoofer, ["/usr/bin/curl", "-s", "-m", "3", "--interface", forged, targetURL])
            #expect(spoofed.status != 0, "a forged source address got through")
            _ = try runCommand("/usr/sbin/ip", ["-n", namespace, "addr", "del", "\(forged)/32", "dev", "eth0"])
            let mac = try runCommand("/usr/sbin/ip", ["-n", namespace, "-j", "link", "show", "eth0"]).output
            let realMAC = try #require(try JSONParser.parse(Array(mac.utf8)).arrayValue?.first?["address"]?.stringValue)
            _ = try runCommand("/usr/sbin/ip", ["-n", namespace, "link", "set", "eth0", "address", "0a:00:00:00:00:99"])
            _ = try runCommand("/usr/sbin/ip", ["-n", namespace, "neigh", "flush", "all"])
            let forgedMAC = try Self.inPod(spoofer, ["/usr/bin/curl", "-s", "-m", "3", targetURL])
            #expect(forgedMAC.status != 0, "a forged MAC got through")
            _ = try runCommand("/usr/sbin/ip", ["-n", namespace, "link", "set", "eth0", "address", realMAC])
            _ = try runCommand("/usr/sbin/ip", ["-n", namespace, "neigh", "flush", "all"])
            let honest = try await waitFor("the real address and MAC get through again", timeout: 10) {
                let result = try Self.inPod(spoofer, ["/usr/bin/curl", "-s", "-m", "3", targetURL])
                return result.status == 0 ? result.output : nil
            }
            #expect(honest.trimmingCharacters(in: .whitespacesAndNewlines) == target.metadata.name)

            // Services: Endpoints list the three pods; the cluster IP spreads requests over them.
            try cluster.apply(Self.services)
            let names = Set(pods.compactMap(\.metadata.name))
            let endpoints = try await waitFor("endpoints of web", timeout: 20) {
                let object = try? await cluster.api().request(.GET, "/api/v1/namespaces/default/endpoints/web").json()
                let ips = object?["subsets"]?.arrayValue?.first?["addresses"]?.arrayValue?.compactMap { $0["ip"]?.stringValue } ?? []
                return ips.count == 3 ? Set(ips) : nil
            }
            #expect(endpoints == Set(pods.compactMap { $0.status?.podIP }))
            let web = try await cluster.api().request(.GET, "/api/v1/namespaces/default/services/web").json()
            let clusterIP = try #require(web["spec"]?["clusterIP"]?.stringValue)
            let nodePort = try #require(web["spec"]?["ports"]?.arrayValue?.first?["nodePort"]?.intValue)
            let client = pods[0]
            var answered: [String: Int] = [:]
            _ = try await waitFor("all three replicas answer on \(clusterIP):80", timeout: 30) {
                let result = try Self.inPod(client, ["/usr/bin/curl", "-s", "-m", "2", "http://\(clusterIP):80/"])
                if result.status == 0 { answered[result.output.trimmingCharacters(in: .whitespacesAndNewlines), default: 0] += 1 }
                return Set(answered.keys) == names ? true : nil
            }
            let sticky = try await cluster.api().request(.GET, "/api/v1/namespaces/default/services/sticky").json()
            let stickyIP = try #require(sticky["spec"]?["clusterIP"]?.stringValue)
            var stuck = Set<String>()
            for _ in 0..<12 {
                let result = try Self.inPod(client, ["/usr/bin/curl", "-s", "-m", "2", "http://\(stickyIP):81/"])
                if result.status == 0 { stuck.insert(result.output) }
            }
            #expect(stuck.count == 1, "ClientIP affinity answered from \(stuck)")
            // A Service without endpoints refuses at once rather than timing out.
            let nobody = try await cluster.api().request(.GET, "/api/v1/namespaces/default/services/nobody").json()
            let refused = try Self.inPod(client, ["/usr/bin/curl", "-s", "-m", "5", "http://\(nobody["spec"]?["clusterIP"]?.stringValue ?? ""):82/"])
            #expect(refused.status == 7, "curl to a service without endpoints: exit \(refused.status)")
            // DNS from inside a container: the service's full name and its short name within the
            // namespace; an unknown service does not resolve. Pods started after the Service
            // also see its environment variables.
            let lookup = try await waitFor("nslookup web.default.svc.cluster.local", timeout: 20) {
                let result = try Self.inContainer(cluster, client, ["nslookup", "web.default.svc.cluster.local"])
                return result.status == 0 && result.output.contains(clusterIP) ? result.output : nil
            }
            #expect(lookup.contains(clusterIP))
            // Short names are the resolver's search path at work (glibc, musl); busybox's
            // nslookup sends names as given, so the path itself is checked.
            let resolv = try Self.inContainer(cluster, client, ["cat", "/etc/resolv.conf"]).output
            let gateway = try #require(client.status?.podIP.flatMap(IPv4.parse)).advanced(by: 0) & 0xFFFF_FF00 | 1
            #expect(resolv.contains("nameserver \(IPv4Network.format(gateway))") && resolv.contains("search default.svc.cluster.local svc.cluster.local cluster.local")
                    && resolv.contains("options ndots:5"), "resolv.conf: \(resolv)")
            let short = try Self.inContainer(cluster, client, ["nslookup", "web"])
            print("nslookup web (no search path in busybox): exit \(short.status)")
            let unknown = try Self.inContainer(cluster, client, ["nslookup", "nothing.default.svc.cluster.local"])
            #expect(unknown.status != 0)
            // The same name over TCP, and the named port as an SRV record, asked by a real
            // resolver (dig) from the pod's network namespace.
            let dns = "@\(IPv4Network.format(gateway))"
            let overTCP = try Self.inPod(client, ["/usr/bin/dig", "+tcp", "+short", "+time=3", dns, "web.default.svc.cluster.local"])
            #expect(overTCP.output.trimmingCharacters(in: .whitespacesAndNewlines) == clusterIP, "dig +tcp: \(overTCP.output) \(overTCP.error)")
            let srv = try Self.inPod(client, ["/usr/bin/dig", "+short", "+time=3", dns, "SRV", "_http._tcp.web.default.svc.cluster.local"])
            #expect(srv.output.trimmingCharacters(in: .whitespacesAndNewlines) == "0 100 80 web.default.svc.cluster.local.", "dig SRV: \(srv.output) \(srv.error)")
            // Reverse lookups: the cluster IP names the Service, a backend's address its pod.
            let reverse = try Self.inPod(client, ["/usr/bin/dig", "+short", "+time=3", dns, "-x", clusterIP])
            #expect(reverse.output.trimmingCharacters(in: .whitespacesAndNewlines) == "web.default.svc.cluster.local.", "dig -x: \(reverse.output) \(reverse.error)")
            let backend = try #require(pods.first?.status?.podIP)
            let podReverse = try Self.inPod(client, ["/usr/bin/dig", "+short", "+time=3", dns, "-x", backend])
            #expect(podReverse.output.trimmingCharacters(in: .whitespacesAndNewlines) == "\(backend.replacingOccurrences(of: ".", with: "-")).default.pod.cluster.local.",
                    "dig -x \(backend): \(podReverse.output) \(podReverse.error)")
            try cluster.kubectl(["delete", "pod", client.metadata.name ?? ""])
            let replacement = try await waitFor("a replacement web pod", timeout: 60) {
                let pods = try await cluster.pods(selector: "app%3Dweb").filter { $0.status?.phase == "Running" && !names.contains($0.metadata.name ?? "") }
                return pods.first
            }
            let environment = try Self.inContainer(cluster, replacement, ["env"]).output
            #expect(environment.contains("WEB_SERVICE_HOST=\(clusterIP)") && environment.contains("WEB_SERVICE_PORT=80")
                    && environment.contains("WEB_PORT_80_TCP=tcp://\(clusterIP):80") && environment.contains("WEB_SERVICE_PORT_HTTP=80"),
                    "service variables: \(environment)")

            // NodePort from the underlay (the machine's side of the hosts' bridge), on every host.
            for host in cluster.hosts {
                let answer = try await waitFor("node port on \(host.name)", timeout: 30) {
                    let result = try runCommand("/usr/bin/curl", ["-s", "-m", "2", "http://\(host.address):\(nodePort)/"])
                    return result.status == 0 ? result.output.trimmingCharacters(in: .whitespacesAndNewlines) : nil
                }
                #expect(names.subtracting([client.metadata.name ?? ""]).union([replacement.metadata.name ?? ""]).contains(answer))
            }
        } catch {
            for host in cluster.hosts {
                let routes = (try? runCommand("/usr/sbin/ip", ["-n", host.namespace, "route"]).output) ?? ""
                let sysctl = (try? runCommand("/usr/sbin/ip", ["netns", "exec", host.namespace, "sh", "-c", "sysctl net.ipv4.ip_forward net.ipv4.conf.all.rp_filter; ip -d link show berth.vx; ip neigh show dev berth.vx; bridge fdb show dev berth.vx; nft list table ip berth-svc-berth0 | grep -E 'dnat|:|elements|tcp' | head -40; conntrack -L 2>/dev/null | head -5"]))
                let log = ((try? String(contentsOfFile: host.logPath, encoding: .utf8)) ?? "").suffix(1500)
                let endpoints = (try? await cluster.api().request(.GET, "/api/v1/namespaces/default/endpoints").json()).map { String(decoding: JSONWriter.bytes($0), as: UTF8.self) } ?? ""
                print("DIAG endpoints: \(endpoints.prefix(3000))")
                print("DIAG \(host.name) routes:\n\(routes)\n\(sysctl?.output ?? "")\(sysctl?.error ?? "")\nlog:\n\(log)")
            }
            await cluster.tearDown()
            throw error
        }
        await cluster.tearDown()
    }
}
