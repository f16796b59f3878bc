import BerthCore
import BerthTestSupport
import Testing

@Suite("names and validation", .blockingAllowed)
struct ValidationTests {
    @Test(arguments: [("web", true), ("web-1", true), ("a.b", false), ("Web", false), ("-a", false), (String(repeating: "a", count: 64), false)])
    func dnsLabels(_ name: String, _ valid: Bool) {
        #expect((NameValidation.dns1123LabelProblem(name) == nil) == valid)
    }

    @Test(arguments: [("a.b.c", true), ("a..b", false), ("a_b", false), ("x", true)])
    func dnsSubdomains(_ name: String, _ valid: Bool) {
        #expect((NameValidation.dns1123SubdomainProblem(name) == nil) == valid)
    }

    @Test(arguments: [("app", true), ("example.com/app", true), ("a/b/c", false), ("/x", false), ("Ab_c.d-e", true), ("-x", false)])
    func qualifiedNames(_ name: String, _ valid: Bool) {
        #expect((NameValidation.qualifiedNameProblem(name) == nil) == valid)
    }

    @Test func podValidationNamesEveryField() throws {
        let pod = try JSONParser.parse(#"""
            {"metadata":{"name":"p"},"spec":{"containers":[{"name":"c","image":"i","ports":[{"containerPort":0,"protocol":"ICMP"}],
            "env":[{"name":"A=B"}],"volumeMounts":[{"name":"missing","mountPath":"/x"}]},{"name":"c","image":"i"}],"restartPolicy":"Sometimes"}}
            """#).decode(Pod.self)
        let fields = Set(Pod.validate(pod, old: nil).causes.compactMap(\.field))
        #expect(fields == ["spec.containers[0].ports[0].containerPort", "spec.containers[0].ports[0].protocol", "spec.containers[0].env[0].name",
                           "spec.containers[0].volumeMounts[0].name", "spec.containers[1].name", "spec.restartPolicy"])
    }

    @Test func serviceExternalIPsMustBeUsableAddresses() throws {
        let service = try JSONParser.parse(#"""
            {"metadata":{"name":"s"},"spec":{"ports":[{"port":80}],"externalIPs":["100.72.9.50","1.2.3","127.0.0.1","224.0.0.1"]}}
            """#).decode(Service.self)
        let fields = Service.validate(service, old: nil).causes.compactMap(\.field)
        #expect(fields == ["spec.externalIPs[1]", "spec.externalIPs[2]", "spec.externalIPs[3]"])
    }

    @Test func fileVolumesNameEveryBadField() throws {
        let pod = try JSONParser.parse(#"""
            {"metadata":{"name":"p"},"spec":{"containers":[{"name":"c","image":"i"}],"volumes":[
             {"name":"a","configMap":{"name":"m","items":[{"key":"k","path":"../up"}]}},
             {"name":"b","secret":{"secretName":"s","defaultMode":1000,"items":[{"key":"","path":"/abs"}]}},
             {"name":"d","downwardAPI":{"items":[{"path":"x","fieldRef":{"fieldPath":"status.podIP"}},
               {"path":"y","resourceFieldRef":{"resource":"limits.gpu"}},{"path":"z"},
               {"path":"ok","fieldRef":{"fieldPath":"metadata.labels['app']"}}]}},
             {"name":"e","projected":{"sources":[{"configMap":{"name":"m","items":[{"key":"k","path":"same"}]},"secret":{"name":"s"}},
               {"downwardAPI":{"items":[{"path":"same","fieldRef":{"fieldPath":"metadata.name"}}]}},{}]}}]}}
            """#).decode(Pod.self)
        let fields = Set(Pod.validate(pod, old: nil).causes.compactMap(\.field))
        #expect(fields == [
            "spec.volumes[0].configMap.items[0].path",
            "spec.volumes[1].secret.defaultMode", "spec.volumes[1].secret.items[0].key", "spec.volumes[1].secret.items[0].path",
            "spec.volumes[2].downwardAPI.items[0].fieldRef.fieldPath", "spec.volumes[2].downwardAPI.items[1].resourceFieldRef.containerName",
            "spec.volumes[2].downwardAPI.items[1].resourceFieldRef.resource", "spec.volumes[2].downwardAPI.items[2].fieldRef",
            "spec.volumes[3].projected.sources[0]", "spec.volumes[3].projected.sources[1].downwardAPI.items[0].path",
            "spec.volumes[3].projected.sources[2]",
        ])
    }
}
