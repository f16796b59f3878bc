/// Field ownership for writes other than apply (PUT, merge, strategic-merge and JSON patches):
/// the fields a write changes pass to its manager under an `Update` entry and leave every other
/// entry, and fields it removes leave every entry. A later apply that changes such a field is
/// then a conflict naming the updater, as in Kubernetes (`kubectl edit` after `kubectl apply
/// --server-side`, then applying again without `--force-conflicts`).
///
/// Recorded only on objects that already carry `managedFields`, i.e. that someone applied:
/// Kubernetes also records creates and updates of objects nobody applied, which costs a field
/// set of the whole object on every write — every pod status update of every node — for
/// ownership that only an apply ever consults.
extension ServerSideApply {
    public static func recordUpdate(old: JSONValue, new: JSONValue, manager: String, apiVersion: String, time: String,
                                    subresource: String?) -> JSONValue {
        let recorded = old.value(at: ["metadata", "managedFields"])?.arrayValue ?? []
        guard !recorded.isEmpty else { return new }
        let before = fieldSet(of: old)
        let after = fieldSet(of: new)
        var changed = Set<FieldPath>()
        for path in after {
            if isItem(path) {
                if !before.contains(path) { changed.insert(path) }
            } else if !before.contains(path) || value(at: path, in: new) != value(at: path, in: old) {
                changed.insert(path)
            }
        }
        let removed = before.subtracting(after)
        var result = new
        guard !changed.isEmpty || !removed.isEmpty else {
            result.set(.array(recorded), at: ["metadata", "managedFields"])
            return result
        }
        var entries = recorded.compactMap(Entry.init)
        let mine = entries.firstIndex { $0.manager == manager && $0.operation == "Update" && $0.subresource == subresource }
        for index in entries.indices where index != mine {
            entries[index].fields.subtract(changed)
            entries[index].fields.subtract(removed)
        }
        if let mine {
            entries[mine].fields.formUnion(changed)
            entries[mine].fields.subtract(removed)
            entries[mine].time = time
            entries[mine].apiVersion = apiVersion
        } else if !changed.isEmpty {
            entries.append(Entry(manager: manager, operation: "Update", apiVersion: apiVersion, time: time, subresource: subresource, fields: changed))
        }
        entries.removeAll { $0.fields.isEmpty }
        result.set(entries.isEmpty ? nil : .array(entries.map(\.json)), at: ["metadata", "managedFields"])
        return result
    }

    /// The manager of a non-apply write: `fieldManager`, else the client's program name (the
    /// User-Agent up to its first `/`), as Kubernetes defaults it.
    public static func updateManager(fieldManager: String?, userAgent: String?) -> String {
        if let fieldManager, !fieldManager.isEmpty { return fieldManager }
        let program = (userAgent ?? "").split(separator: "/", maxSplits: 1).first.map(String.init) ?? ""
        return program.isEmpty ? "unknown" : String(program.prefix(128))
    }
}
