import BerthCore
import BerthStore
import Foundation

/// Kubernetes' Priority admission: a new pod's `priorityClassName` becomes `spec.priority` and
/// `spec.preemptionPolicy` (a pod naming no class gets the global default class, or priority 0);
/// a class that does not exist, or a priority the pod states that its class contradicts, is a
/// 403 and nothing is stored. At most one class is the global default.
extension APIServer {
    static let defaultPreemptionPolicy = "PreemptLowerPriority"
    static let globalDefaultBytes = Array(#""globalDefault":true"#.utf8)

    func resolvePodPriority(_ pod: JSONValue) async throws(BerthError) -> JSONValue {
        let name = pod.value(at: ["metadata", "name"])?.stringValue ?? ""
        func forbidden(_ reason: String) -> BerthError {
            BerthError(.forbidden, "pods \"\(name)\" is forbidden: \(reason)", details: StatusDetails(name: name, kind: "pods"))
        }
        let className = pod.value(at: ["spec", "priorityClassName"])?.stringValue ?? ""
        var resolvedName = className
        var priority: Int32 = 0
        var policy = Self.defaultPreemptionPolicy
        if className.isEmpty {
            if let global = try await globalDefaultPriorityClass() {
                resolvedName = global.metadata.name ?? ""
                priority = global.value ?? 0
                policy = global.preemptionPolicy ?? policy
            }
        } else {
            let stored: JSONValue
            do {
                stored = try await admissionGet(.priorityClass, name: className)
            } catch where error.code == .notFound {
                throw forbidden("no PriorityClass with name \(className) was found")
            }
            let priorityClass = try stored.decode(PriorityClass.self)
            priority = priorityClass.value ?? 0
            policy = priorityClass.preemptionPolicy ?? policy
        }
        if let stated = pod.value(at: ["spec", "priority"]), !stated.isNull, stated.intValue != Int(priority) {
            throw forbidden("the integer value of priority (\(JSONWriter.string(stated))) must not be provided in pod spec; priority admission controller computed \(priority) from the given PriorityClass name")
        }
        if let stated = pod.value(at: ["spec", "preemptionPolicy"])?.stringValue, stated != policy {
            throw forbidden("the string value of PreemptionPolicy (\(stated)) must not be provided in pod spec; priority admission controller computed \(policy) from the given PriorityClass name")
        }
        var result = pod
        if !resolvedName.isEmpty { result.set(.string(resolvedName), at: ["spec", "priorityClassName"]) }
        result.set(.number(String(priority)), at: ["spec", "priority"])
        result.set(.string(policy), at: ["spec", "preemptionPolicy"])
        return result
    }

    func globalDefaultPriorityClass(excluding excluded: String? = nil) async throws(BerthError) -> PriorityClass? {
        let classes = try await admissionList(.priorityClass)
        var best: PriorityClass?
        for kv in classes {
            // Every pod create asks: stored objects are compact JSON, so a class that is not the
            // default is passed over without being parsed.
            guard ByteSearch.contains(kv.value, Self.globalDefaultBytes), let priorityClass = try? ObjectCodec.decode(kv).decode(PriorityClass.self),
                  priorityClass.globalDefault == true, priorityClass.metadata.name != excluded else { continue }
            // Two defaults can only come from a race; Kubernetes then takes the lowest value.
            if best == nil || (priorityClass.value ?? 0) < (best?.value ?? 0) { best = priorityClass }
        }
        return best
    }

    /// A second global default is refused as Kubernetes refuses it.
    func checkSingleGlobalDefault(_ object: JSONValue) async throws(BerthError) {
        guard object["globalDefault"] == .bool(true) else { return }
        let name = object.value(at: ["metadata", "name"])?.stringValue ?? ""
        if let existing = try await globalDefaultPriorityClass(excluding: name) {
            throw BerthError(.forbidden, "priorityclasses.scheduling.k8s.io \"\(name)\" is forbidden: PriorityClass \(existing.metadata.name ?? "") is already marked as default. Only one default can exist",
                             details: StatusDetails(name: name, group: "scheduling.k8s.io", kind: "priorityclasses"))
        }
    }

    /// Creates `system-node-critical` and `system-cluster-critical` (idempotent).
    func createSystemPriorityClasses() async throws(BerthError) {
        for builtIn in PriorityClass.system {
            var priorityClass = PriorityClass(metadata: ObjectMeta(name: builtIn.name), value: builtIn.value, description: builtIn.description)
            PriorityClass.applyDefaults(&priorityClass)
            try await createIfAbsent(.priorityClass, priorityClass)
        }
    }
}
