import BerthCore
import Foundation
import Testing

/// Pod Security admission by namespace label, worded as Kubernetes' refusals.
@Suite("Pod Security admission")
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
