import BerthCore
import BerthTestSupport
import Testing

@Suite("Schemas read off the kinds' decoders", .blockingAllowed)
struct SchemaProbeTests {
    /// One object per kind carrying every field its schema lists, with a plain value of the
    /// schema's type (a string, 1, true, one array element, one map entry).
    static func example(_ schema: JSONValue, _ components: [String: JSONValue], depth: Int = 0) -> JSONValue {
        if depth > 60 { return [:] }
        if case .string(let reference) = schema["$ref"] {
            return example(components[String(reference.dropFirst("#/components/schemas/".count))] ?? [:], components, depth: depth + 1)
        }
        if case .array(let all) = schema["allOf"], let first = all.first { return example(first, components, depth: depth) }
        if schema["anyOf"] != nil { return 1 }
        switch schema["type"] {
        case "string": return "x"
        case "integer", "number": return 1
        case "boolean": return true
        case "array": return [example(schema["items"] ?? [:], components, depth: depth + 1)]
        case "object":
            if let values = schema["additionalProperties"] { return ["key": example(values, components, depth: depth + 1)] }
            guard case .object(let properties) = schema["properties"] else { return [:] }
            var object: [String: JSONValue] = [:]
            for (name, property) in properties { object[name] = example(property, components, depth: depth + 1) }
            return .object(object)
        default: return [:]
        }
    }

    @Test("every served kind probes completely, and every field its schema lists is one admission keeps")
    func schemasMatchWhatAdmissionAccepts() throws {
        var admittedKinds = 0
        for descriptor in ResourceRegistry.standard.descriptors {
            let probe = SchemaProbe(namePrefix: "test")
            let name = try #require(descriptor.schemaComponent(in: probe), "\(descriptor.kind)")
            #expect(probe.incomplete.isEmpty, "\(descriptor.kind): \(probe.incomplete.sorted())")
            let schema = try #require(probe.components[name])
            guard case .object(let properties) = schema["properties"] else {
                Issue.record("\(descriptor.kind) has no properties")
                continue
            }
            #expect(properties["metadata"] != nil && properties["apiVersion"] != nil, "\(descriptor.kind)")
            var object = Self.example(schema, probe.components)
            object["apiVersion"] = .string(descriptor.apiVersion)
            object["kind"] = .string(descriptor.kind)
            object["metadata"] = ["name": "example", "namespace": descriptor.namespaced ? "default" : nil]
            do {
                let admitted = try descriptor.admit(object, old: nil)
                admittedKinds += 1
                #expect(admitted.unknownFields.isEmpty, "\(descriptor.kind): the schema lists fields admission drops: \(admitted.unknownFields)")
            } catch {
                // A value the placeholder could not be (a format the kind checks on decode) is
                // not a schema mismatch; an unknown field would have been reported above.
                #expect(!error.message.contains("unknown field"), "\(descriptor.kind): \(error.message)")
            }
        }
        // The check above means something only if most kinds decode from their examples.
        #expect(admittedKinds >= ResourceRegistry.standard.descriptors.count - 3, "\(admittedKinds)")
    }

    @Test("optional fields are optional, required ones required, maps and arrays keep their element types")
    func shapes() throws {
        let probe = SchemaProbe(namePrefix: "io.k8s.api.apps.v1")
        let name = try #require(ResourceRegistry.standard.resource(group: "apps", plural: "deployments")?.schemaComponent(in: probe))
        #expect(name == "io.k8s.api.apps.v1.Deployment")
        let spec = try #require(probe.components["io.k8s.api.apps.v1.DeploymentSpec"])
        #expect(spec["required"] == ["selector", "template"])
        #expect(spec["properties"]?["replicas"] == ["type": "integer", "format": "int32"])
        let container = try #require(probe.components["io.k8s.api.apps.v1.Container"])
        #expect(container["properties"]?["args"] == ["type": "array", "items": ["type": "string"]])
        #expect(container["required"] == ["name"])
        let resources = try #require(probe.components["io.k8s.api.apps.v1.ResourceRequirements"])
        #expect(resources["properties"]?["limits"] == ["type": "object", "additionalProperties": ["$ref": "#/components/schemas/io.k8s.apimachinery.pkg.api.resource.Quantity"]])
        let meta = try #require(probe.components["io.k8s.api.apps.v1.ObjectMeta"])
        #expect(meta["properties"]?["labels"] == ["type": "object", "additionalProperties": ["type": "string"]])
    }
}
