import BerthTestSupport
import Foundation
import Testing

/// `kubectl explain`, client-side validation and kinds Berth does not serve, with the oldest
/// and newest kubectl we support.
@Suite("kubectl explain and unknown kinds", .serialized, .blockingAllowed)
struct KubectlExplainTests {
    static let versions = ["1.27", "1.33"].map { "/usr/lib/google-cloud-sdk/bin/kubectl.\($0)" }

    @Test(.enabled(if: versions.allSatisfy { FileManager.default.isExecutableFile(atPath: $0) }))
    func explainAndUnknownKinds() async throws {
        let server = BerthServerProcess()
        defer { server.cleanUp() }
        try await server.start()
        let cache = FileManager.default.temporaryDirectory.appendingPathComponent("kubectl-cache-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: cache) }

        for kubectl in Self.versions {
            func run(_ arguments: String..., input: String? = nil) throws -> CommandResult {
                try runCommand(kubectl, ["--kubeconfig", server.kubeconfigPath, "--cache-dir", cache] + arguments, input: input)
            }
            let spec = try run("explain", "deployment.spec")
            #expect(spec.status == 0, "\(kubectl): \(spec.error)")
            #expect(spec.output.contains("KIND:       Deployment") || spec.output.contains("KIND:     Deployment"), "\(spec.output)")
            #expect(spec.output.range(of: #"replicas\s+<integer>"#, options: .regularExpression) != nil, "\(spec.output)")
            #expect(spec.output.range(of: #"template\s+<PodTemplateSpec> -required-"#, options: .regularExpression) != nil, "\(spec.output)")
            #expect(spec.output.contains("The number of pods wanted."))

            let limits = try run("explain", "pods.spec.containers.resources")
            #expect(limits.output.range(of: #"limits\s+<map\[string\]Quantity>"#, options: .regularExpression) != nil, "\(limits.output)")
            let ports = try run("explain", "service.spec.ports.targetPort")
            #expect(ports.output.contains("<IntOrString>"), "\(ports.output)")
            let own = try run("explain", "ippools.spec")
            #expect(own.status == 0 && own.output.contains("berth.dev"), "\(own.output) \(own.error)")
            let missing = try run("explain", "deployment.spec.nosuchfield")
            #expect(missing.status != 0 && missing.error.contains("nosuchfield"), "\(missing.error)")

            // Kinds Berth does not serve: kubectl's ordinary message, not an OpenAPI failure.
            let driver = "apiVersion: storage.k8s.io/v1\nkind: CSIDriver\nmetadata: {name: x.example.test}\nspec: {}\n"
            let refused = try run("apply", "-f", "-", input: driver)
            #expect(refused.status != 0)
            #expect(refused.error.contains(#"no matches for kind "CSIDriver" in version "storage.k8s.io/v1""#), "\(kubectl): \(refused.error)")
            #expect(!refused.error.contains("openapi"))
            // Kinds served since issue 32 explain like the others.
            let templates = try run("explain", "statefulset.spec.volumeClaimTemplates")
            #expect(templates.status == 0 && templates.output.contains("PersistentVolumeClaim"), "\(templates.output) \(templates.error)")

            // A served kind is still validated (by the server: kubectl sends fieldValidation=Strict).
            let typo = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: typo}\ndatta: {a: b}\n"
            let strict = try run("apply", "-f", "-", input: typo)
            #expect(strict.status != 0 && strict.error.contains(#"unknown field "datta""#), "\(kubectl): \(strict.error)")
            let plain = try run("apply", "-f", "-", input: "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: plain}\ndata: {a: b}\n")
            #expect(plain.status == 0, "\(kubectl): \(plain.error)")
        }
    }
}
