/// How a kind's names are checked: most kinds use DNS subdomains, some DNS labels.
public enum NameRule: Sendable {
    case subdomain
    case label
    /// Any non-empty name without '/' or '%' (Events, Leases are lenient in Kubernetes).
    case path

    func problem(_ name: String) -> String? {
        switch self {
        case .subdomain: NameValidation.dns1123SubdomainProblem(name)
        case .label: NameValidation.dns1123LabelProblem(name)
        case .path:
            if name == "." || name == ".." { "may not be '.' or '..'" }
            else if name.contains("/") || name.contains("%") { "may not contain '/' or '%'" }
            else { nil }
        }
    }
}

enum MetaValidation {
    static let annotationsSizeLimit = 256 * 1024

    static func validate(_ meta: ObjectMeta, rule: NameRule, namespaced: Bool, into errors: inout FieldErrors) {
        if let name = meta.name, !name.isEmpty {
            errors.check("metadata.name", name, rule.problem(name))
        } else if meta.generateName?.isEmpty ?? true {
            errors.required("metadata.name")
        }
        if namespaced {
            if let namespace = meta.namespace, !namespace.isEmpty {
                errors.check("metadata.namespace", namespace, NameValidation.dns1123LabelProblem(namespace))
            }
        }
        for (key, value) in (meta.labels ?? [:]).sorted(by: { $0.key < $1.key }) {
            errors.check("metadata.labels", key, NameValidation.qualifiedNameProblem(key))
            errors.check("metadata.labels", value, NameValidation.labelValueProblem(value))
        }
        var annotationBytes = 0
        for (key, value) in (meta.annotations ?? [:]).sorted(by: { $0.key < $1.key }) {
            errors.check("metadata.annotations", key, NameValidation.qualifiedNameProblem(key.lowercased()))
            annotationBytes += key.utf8.count + value.utf8.count
        }
        if annotationBytes > annotationsSizeLimit {
            errors.causes.append(StatusCause(reason: "FieldValueTooLong", message: "Too long: must have at most \(annotationsSizeLimit) bytes", field: "metadata.annotations"))
        }
        for (index, owner) in (meta.ownerReferences ?? []).enumerated() {
            if owner.uid.isEmpty { errors.required("metadata.ownerReferences[\(index)].uid") }
            if owner.name.isEmpty { errors.required("metadata.ownerReferences[\(index)].name") }
            if owner.kind.isEmpty { errors.required("metadata.ownerReferences[\(index)].kind") }
        }
        if (meta.ownerReferences ?? []).filter({ $0.controller == true }).count > 1 {
            errors.invalid("metadata.ownerReferences", "", "Only one reference can have Controller set to true")
        }
        for (index, finalizer) in (meta.finalizers ?? []).enumerated() {
            errors.check("metadata.finalizers[\(index)]", finalizer, NameValidation.qualifiedNameProblem(finalizer))
        }
    }

    static func validateSelector(_ selector: LabelSelectorSpec, path: String, into errors: inout FieldErrors) {
        for (key, value) in selector.matchLabels ?? [:] {
            errors.check("\(path).matchLabels", key, NameValidation.qualifiedNameProblem(key))
            errors.check("\(path).matchLabels", value, NameValidation.labelValueProblem(value))
        }
        for (index, expression) in (selector.matchExpressions ?? []).enumerated() {
            let field = "\(path).matchExpressions[\(index)]"
            errors.check("\(field).key", expression.key, NameValidation.qualifiedNameProblem(expression.key))
            switch expression.operator {
            case "In", "NotIn":
                if expression.values?.isEmpty ?? true { errors.required("\(field).values") }
            case "Exists", "DoesNotExist":
                if !(expression.values?.isEmpty ?? true) { errors.forbidden("\(field).values", "may not be specified when `operator` is 'Exists' or 'DoesNotExist'") }
            default:
                errors.notSupported("\(field).operator", expression.operator, ["In", "NotIn", "Exists", "DoesNotExist"])
            }
        }
    }
}
