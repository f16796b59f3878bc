import BerthCore

/// Pod manifests for the node tests, as JSON values.
enum Manifest {
    static func pod(_ name: String, _ containers: [JSONValue], restartPolicy: String = "Always", grace: Int = 2,
                    extra: [String: JSONValue] = [:]) -> JSONValue {
        var spec: [String: JSONValue] = [
            "containers": .array(containers), "restartPolicy": .string(restartPolicy),
            "terminationGracePeriodSeconds": .number(String(grace)),
        ]
        for (key, value) in extra { spec[key] = value }
        return ["apiVersion": "v1", "kind": "Pod", "metadata": ["name": .string(name)], "spec": .object(spec)]
    }

    static func container(_ name: String, _ script: String, extra: [String: JSONValue] = [:]) -> JSONValue {
        var fields: [String: JSONValue] = [
            "name": .string(name), "image": "berth/busybox:latest", "command": ["sh", "-c", .string(script)],
        ]
        for (key, value) in extra { fields[key] = value }
        return .object(fields)
    }
}

extension Pod {
    func container(_ name: String) -> ContainerStatus? {
        ((status?.containerStatuses ?? []) + (status?.initContainerStatuses ?? [])).first { $0.name == name }
    }

    var isReady: Bool { status?.conditions?.first { $0.type == "Ready" }?.status == "True" }
}
