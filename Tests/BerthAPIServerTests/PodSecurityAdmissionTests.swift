import BerthCore
import BerthTestSupport
import Foundation
import HTTPTypes
import Testing

/// Pod Security admission by namespace label, worded as Kubernetes' refusals.
@Suite("Pod Security admission", .blockingAllowed)
struct PodSecurityAdmissionTests {
    static func namespace(_ name: String, level: String) -> JSONValue {
        ["apiVersion": "v1", "kind": "Namespace", "metadata": ["name": .string(name), "labels": [.init(stringLiteral: PodSecurityStandards.enforceLabel): .string(level)]]]
    }

    static func pod(_ name: String, namespace: String, container: JSONValue, spec: JSONValue = [:]) -> JSONValue {
        var object: JSONValue = ["apiVersion": "v1", "kind": "Pod", "metadata": ["name": .string(name), "namespace": .string(namespace)],
                                 "spec": spec]
        object.set([container], at: ["spec", "containers"])
        return object
    }

    @Test("baseline refuses a privileged pod and host namespaces, allows an ordinary one; restricted wants the hardened settings")
    func levels() async throws {
        try await APIHarness.run { _, client in
            #expect(try await client.send(.post, "/api/v1/namespaces", json: Self.namespace("base", level: "baseline")).status == 201)
            #expect(try await client.send(.post, "/api/v1/namespaces", json: Self.namespace("strict", level: "restricted")).status == 201)
            let plain: JSONValue = ["name": "c", "image": "berth/busybox:latest"]
            var privileged = plain
            privileged.set(true, at: ["securityContext", "privileged"])
            let refused = try await client.send(.post, "/api/v1/namespaces/base/pods",
                                                json: Self.pod("p", namespace: "base", container: privileged, spec: ["hostNetwork": true]))
            #expect(refused.status == 403)
            #expect(refused.json["message"] == #"pods "p" is forbidden: violates PodSecurity "baseline:latest": host namespaces (hostNetwork=true), privileged (container "c" must not set securityContext.privileged=true)"#,
                    "\(refused.json)")
            #expect(try await client.send(.get, "/api/v1/namespaces/base/pods/p").status == 404)
            #expect(try await client.send(.post, "/api/v1/namespaces/base/pods", json: Self.pod("ok", namespace: "base", container: plain)).status == 201)

            let loose = try await client.send(.post, "/api/v1/namespaces/strict/pods", json: Self.pod("loose", namespace: "strict", container: plain))
            #expect(loose.status == 403)
            let message = loose.json["message"]?.stringValue ?? ""
            for part in ["allowPrivilegeEscalation != false", "runAsNonRoot != true", "seccompProfile", "unrestricted capabilities"] {
                #expect(message.contains(part), "\(message)")
            }
            var hardened = plain
            hardened["securityContext"] = ["allowPrivilegeEscalation": false, "runAsNonRoot": true, "runAsUser": 1000,
                                           "capabilities": ["drop": ["ALL"]], "seccompProfile": ["type": "RuntimeDefault"]]
            let allowed = try await client.send(.post, "/api/v1/namespaces/strict/pods", json: Self.pod("hard", namespace: "strict", container: hardened))
            #expect(allowed.status == 201, "\(allowed.json)")
            // Unlabelled namespaces are privileged: anything goes.
            #expect(try await client.send(.post, "/api/v1/namespaces/default/pods", json: Self.pod("any", namespace: "default", container: privileged)).status == 201)
        }
    }

    @Test("warn: a Warning header for a violating pod and for a Deployment whose template violates; nothing refused")
    func warnLevel() async throws {
        try await APIHarness.run { _, client in
            var namespace: JSONValue = ["apiVersion": "v1", "kind": "Namespace", "metadata": ["name": "warned"]]
            namespace.set("baseline", at: ["metadata", "labels", .init(stringLiteral: PodSecurityStandards.warnLabel)])
            #expect(try await client.send(.post, "/api/v1/namespaces", json: namespace).status == 201)
            var privileged: JSONValue = ["name": "c", "image": "berth/busybox:latest"]
            privileged.set(true, at: ["securityContext", "privileged"])
            let pod = try await client.send(.post, "/api/v1/namespaces/warned/pods", json: Self.pod("p", namespace: "warned", container: privileged))
            #expect(pod.status == 201)
            let warning = pod.headers[HTTPField.Name("Warning")!] ?? ""
            #expect(warning.contains("would violate PodSecurity") && warning.contains("baseline:latest") && warning.contains("privileged"), "\(warning)")
            let deployment: JSONValue = ["apiVersion": "apps/v1", "kind": "Deployment", "metadata": ["name": "d", "namespace": "warned"],
                                         "spec": ["selector": ["matchLabels": ["app": "d"]],
                                                  "template": ["metadata": ["labels": ["app": "d"]], "spec": ["containers": [privileged]]]]]
            let created = try await client.send(.post, "/apis/apps/v1/namespaces/warned/deployments", json: deployment)
            #expect(created.status == 201 && (created.headers[HTTPField.Name("Warning")!] ?? "").contains("would violate PodSecurity"))
            let plain = try await client.send(.post, "/api/v1/namespaces/warned/pods",
                                              json: Self.pod("q", namespace: "warned", container: ["name": "c", "image": "x"]))
            #expect(plain.status == 201 && plain.headers[HTTPField.Name("Warning")!] == nil)
        }
    }

    @Test("the checks one by one")
    func standards() throws {
        func spec(_ json: JSONValue) throws -> PodSpec { try json.decode(PodSpec.self) }
        let hostPath = try spec(["containers": [["name": "c", "ports": [["containerPort": 80, "hostPort": 8080]]]], "volumes": [["name": "root", "hostPath": ["path": "/"]]],
                                 "securityContext": ["sysctls": [["name": "kernel.msgmax", "value": "1"]]]])
        #expect(PodSecurityStandards.violations(hostPath, level: .baseline) == [
            #"hostPath volumes (volume "root")"#, #"hostPort (container "c" uses hostPort 8080)"#, "forbidden sysctls (kernel.msgmax)",
        ])
        #expect(PodSecurityStandards.violations(hostPath, level: .privileged).isEmpty)
        let capabilities = try spec(["containers": [["name": "c", "securityContext": ["capabilities": ["add": ["NET_ADMIN", "CHOWN"]]]]]])
        #expect(PodSecurityStandards.violations(capabilities, level: .baseline) == [#"non-default capabilities (container "c" must not include "NET_ADMIN" in securityContext.capabilities.add)"#])
    }
}

/// LimitRange defaults and bounds at pod admission.
@Suite("LimitRange admission", .blockingAllowed)
struct LimitRangeAdmissionTests {
    @Test("container defaults filled in; a limit over the maximum refused with Kubernetes' words; a LimitRange with min over max is 422")
    func defaultsAndBounds() async throws {
        try await APIHarness.run { _, client in
            #expect(try await client.send(.post, "/api/v1/namespaces", json: ["apiVersion": "v1", "kind": "Namespace", "metadata": ["name": "lr"]]).status == 201)
            #expect(try await client.send(.post, "/api/v1/namespaces", json: ["apiVersion": "v1", "kind": "Namespace", "metadata": ["name": "lr2"]]).status == 201)
            let range: JSONValue = ["apiVersion": "v1", "kind": "LimitRange", "metadata": ["name": "limits", "namespace": "lr"],
                                    "spec": ["limits": [["type": "Container", "default": ["cpu": "500m", "memory": "256Mi"],
                                                         "defaultRequest": ["cpu": "100m"], "max": ["memory": "1Gi"]]]]]
            #expect(try await client.send(.post, "/api/v1/namespaces/lr/limitranges", json: range).status == 201)
            let pod = PodSecurityAdmissionTests.pod("p", namespace: "lr", container: ["name": "c", "image": "berth/busybox:latest"])
            let created = try await client.send(.post, "/api/v1/namespaces/lr/pods", json: pod)
            #expect(created.status == 201)
            let resources = created.json.value(at: ["spec", "containers"])?.arrayValue?.first?["resources"]
            #expect(resources?["limits"] == ["cpu": "500m", "memory": "256Mi"], "\(String(describing: resources))")
            #expect(resources?["requests"] == ["cpu": "100m", "memory": "256Mi"], "\(String(describing: resources))")
            // Another namespace (whose name starts the same) is not affected.
            let elsewhere = try await client.send(.post, "/api/v1/namespaces/lr2/pods", json: PodSecurityAdmissionTests.pod("q", namespace: "lr2", container: ["name": "c", "image": "x"]))
            #expect(elsewhere.json.value(at: ["spec", "containers"])?.arrayValue?.first?["resources"] == [:])
            let big = PodSecurityAdmissionTests.pod("big", namespace: "lr", container: ["name": "c", "image": "x", "resources": ["limits": ["memory": "2Gi"]]])
            let refused = try await client.send(.post, "/api/v1/namespaces/lr/pods", json: big)
            #expect(refused.status == 403)
            #expect(refused.json["message"] == #"pods "big" is forbidden: [maximum memory usage per Container is 1Gi, but limit is 2Gi]"#, "\(refused.json)")
            // Type Pod bounds the sum of the containers.
            let perPod: JSONValue = ["apiVersion": "v1", "kind": "LimitRange", "metadata": ["name": "pod", "namespace": "lr2"],
                                     "spec": ["limits": [["type": "Pod", "max": ["cpu": "1"]]]]]
            #expect(try await client.send(.post, "/api/v1/namespaces/lr2/limitranges", json: perPod).status == 201)
            var pair = PodSecurityAdmissionTests.pod("pair", namespace: "lr2", container: ["name": "a", "image": "x", "resources": ["limits": ["cpu": "600m"]]])
            pair.set([["name": "a", "image": "x", "resources": ["limits": ["cpu": "600m"]]], ["name": "b", "image": "x", "resources": ["limits": ["cpu": "600m"]]]],
                     at: ["spec", "containers"])
            let summed = try await client.send(.post, "/api/v1/namespaces/lr2/pods", json: pair)
            #expect(summed.status == 403 && summed.json["message"] == #"pods "pair" is forbidden: [maximum cpu usage per Pod is 1, but limit is 1200m]"#, "\(summed.json)")
            let bad: JSONValue = ["apiVersion": "v1", "kind": "LimitRange", "metadata": ["name": "bad", "namespace": "lr"],
                                  "spec": ["limits": [["type": "Container", "min": ["cpu": "2"], "max": ["cpu": "1"]]]]]
            let invalid = try await client.send(.post, "/api/v1/namespaces/lr/limitranges", json: bad)
            #expect(invalid.status == 422 && (invalid.json["message"]?.stringValue ?? "").contains("spec.limits[0].min[cpu]"), "\(invalid.json)")
        }
    }
}
