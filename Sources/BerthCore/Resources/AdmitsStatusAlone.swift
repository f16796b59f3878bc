/// Kinds whose `status` can be admitted on its own. An update that leaves everything but
/// `status` as it is stored — a node reporting its pod's state, the bulk of a cluster's writes —
/// decodes, defaults and re-encodes only `status`: the rest passed admission when it was
/// stored, and the kind's checks look only at spec and metadata, so they would pass again.
public protocol AdmitsStatusAlone: APIResource {
    associatedtype Status: Codable
    /// What `applyDefaults` does to the status part.
    static func applyStatusDefaults(_ status: inout Status?)
    /// The admitted update, or nil when it must take the full path (something besides
    /// `status` differs, or the status does not decode: the full path words that error).
    static func admitStatusAlone(_ json: JSONValue, old: JSONValue) -> AdmittedObject?
}

extension AdmitsStatusAlone {
    public static func admitStatusAlone(_ json: JSONValue, old: JSONValue) -> AdmittedObject? {
        guard case .object(let fields) = json, case .object(let stored) = old else { return nil }
        // The API server hands over the object as stored, with its resourceVersion, and the
        // update with the resourceVersion taken out: that difference is not the client's.
        guard same(fields, stored, except: { $0 == "status" || $0 == "metadata" }),
              case .object(let metadata)? = fields["metadata"], case .object(let storedMetadata)? = stored["metadata"],
              same(metadata, storedMetadata, except: { $0 == "resourceVersion" }) else { return nil }
        var status: Status?
        if let sent = fields["status"], !sent.isNull {
            guard let decoded = try? sent.decode(Status.self) else { return nil }
            status = decoded
        }
        applyStatusDefaults(&status)
        var normalized = json
        var unknown: [String] = []
        if let status {
            guard let encoded = try? JSONValue(encoding: status) else { return nil }
            if let sent = fields["status"] { Admission.collectUnknown(input: sent, output: encoded, path: "status", into: &unknown) }
            normalized["status"] = encoded
        } else {
            normalized["status"] = nil
        }
        return AdmittedObject(object: normalized, unknownFields: unknown, causes: [])
    }

    /// The two objects' members are equal apart from the excepted keys, without copying either.
    private static func same(_ left: [String: JSONValue], _ right: [String: JSONValue], except: (String) -> Bool) -> Bool {
        for (key, value) in left where !except(key) {
            guard right[key] == value else { return false }
        }
        for key in right.keys where !except(key) && left[key] == nil { return false }
        return true
    }
}

extension Pod: AdmitsStatusAlone {
    public static func applyStatusDefaults(_ status: inout PodStatus?) {
        if status == nil { status = PodStatus(phase: "Pending") }
        if status?.phase == nil { status?.phase = "Pending" }
    }
}
