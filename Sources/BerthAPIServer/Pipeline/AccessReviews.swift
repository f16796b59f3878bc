import BerthCore
import Hummingbird

/// The questions a user asks about themselves and the admin about anyone:
/// `kubectl auth can-i` (SelfSubjectAccessReview, and `--list`: SelfSubjectRulesReview),
/// `kubectl auth whoami` (SelfSubjectReview), and SubjectAccessReview. Nothing is stored:
/// the answer is the posted object with its `status` filled in.
enum SelfReviewPaths {
    static let accessReview = "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews"
    static let rulesReview = "/apis/authorization.k8s.io/v1/selfsubjectrulesreviews"
    static let subjectAccessReview = "/apis/authorization.k8s.io/v1/subjectaccessreviews"
    /// kubectl 1.27 asks v1beta1 (beta then), 1.28+ v1.
    static let whoAmI = ["/apis/authentication.k8s.io/v1/selfsubjectreviews", "/apis/authentication.k8s.io/v1beta1/selfsubjectreviews",
                         "/apis/authentication.k8s.io/v1alpha1/selfsubjectreviews"]
    static let all: Set<String> = Set([accessReview, rulesReview] + whoAmI)
}

extension APIServer {
    static var reviewMounts: [Mount] {
        [
            Mount(name: "selfsubjectaccessreviews", matches: Mount.prefix(SelfReviewPaths.accessReview)) { server, request, attributes, _ throws(BerthError) in
                try await server.accessReview(request, user: attributes.user, kind: "SelfSubjectAccessReview")
            },
            Mount(name: "subjectaccessreviews", matches: Mount.prefix(SelfReviewPaths.subjectAccessReview)) { server, request, _, _ throws(BerthError) in
                try await server.accessReview(request, user: nil, kind: "SubjectAccessReview")
            },
            Mount(name: "selfsubjectrulesreviews", matches: Mount.prefix(SelfReviewPaths.rulesReview)) { server, request, attributes, _ throws(BerthError) in
                try await server.rulesReview(request, user: attributes.user)
            },
            Mount(name: "selfsubjectreviews", matches: { SelfReviewPaths.whoAmI.contains($0) }) { server, request, attributes, _ throws(BerthError) in
                try await server.whoAmI(request, user: attributes.user)
            },
        ]
    }

    private func review(_ request: Request, kind: String) async throws(BerthError) -> JSONValue {
        guard request.method == .post else { throw BerthError(.methodNotAllowed, "the server does not allow this method on the requested resource") }
        let body = try await readJSON(request)
        guard body["kind"]?.stringValue == kind else {
            throw BerthError(.badRequest, "expected a \(kind), got \(body["kind"]?.stringValue ?? "no kind")")
        }
        return body
    }

    /// `spec.resourceAttributes` or `spec.nonResourceAttributes`, decided as a request would be.
    func accessReview(_ request: Request, user: UserInfo?, kind: String) async throws(BerthError) -> Response {
        var review = try await review(request, kind: kind)
        let spec = review["spec"] ?? [:]
        let subject = user ?? UserInfo(name: spec["user"]?.stringValue ?? "", uid: spec["uid"]?.stringValue ?? "",
                                       groups: spec["groups"]?.arrayValue?.compactMap(\.stringValue) ?? [])
        let attributes: RequestAttributes
        if let resource = spec["resourceAttributes"] {
            attributes = RequestAttributes(user: subject, verb: resource["verb"]?.stringValue ?? "", group: resource["group"]?.stringValue ?? "",
                                           resource: resource["resource"]?.stringValue ?? "", subresource: resource["subresource"]?.stringValue.flatMap { $0.isEmpty ? nil : $0 },
                                           namespace: resource["namespace"]?.stringValue.flatMap { $0.isEmpty ? nil : $0 },
                                           name: resource["name"]?.stringValue.flatMap { $0.isEmpty ? nil : $0 })
        } else if let nonResource = spec["nonResourceAttributes"] {
            attributes = RequestAttributes(user: subject, verb: nonResource["verb"]?.stringValue ?? "", path: nonResource["path"]?.stringValue ?? "", target: nil)
        } else {
            throw BerthError.invalid(kind: kind, name: "", causes: [.required("spec.resourceAttributes")])
        }
        var allowed = subject.isMaster
        if !allowed { allowed = try await rbacIndex().allows(attributes) }
        var status: JSONValue = ["allowed": .bool(allowed)]
        if allowed && !subject.isMaster { status["reason"] = "RBAC: allowed by a binding" }
        review["status"] = status
        return Responses.json(review, status: .created)
    }

    /// What the user may do in `spec.namespace`, as `kubectl auth can-i --list` prints it.
    func rulesReview(_ request: Request, user: UserInfo) async throws(BerthError) -> Response {
        var review = try await review(request, kind: "SelfSubjectRulesReview")
        let namespace = review.value(at: ["spec", "namespace"])?.stringValue
        var rules = user.isMaster ? [PolicyRule(verbs: ["*"], apiGroups: ["*"], resources: ["*"]), PolicyRule(verbs: ["*"], nonResourceURLs: ["*"])]
            : try await rbacIndex().rules(for: user, namespace: namespace.flatMap { $0.isEmpty ? nil : $0 })
        // What every authenticated user holds (Kubernetes' system:basic-user and system:discovery).
        rules.append(PolicyRule(verbs: ["create"], apiGroups: ["authorization.k8s.io"], resources: ["selfsubjectaccessreviews", "selfsubjectrulesreviews"]))
        rules.append(PolicyRule(verbs: ["create"], apiGroups: ["authentication.k8s.io"], resources: ["selfsubjectreviews"]))
        rules.append(PolicyRule(verbs: ["get"], nonResourceURLs: ["/api", "/api/*", "/apis", "/apis/*", "/healthz", "/livez", "/openapi", "/openapi/*", "/readyz", "/version", "/version/"]))
        func strings(_ list: [String]?) -> JSONValue { .array((list ?? []).map { .string($0) }) }
        let resourceRules: [JSONValue] = rules.filter { ($0.nonResourceURLs ?? []).isEmpty }.map {
            var rule: JSONValue = ["verbs": strings($0.verbs), "apiGroups": strings($0.apiGroups), "resources": strings($0.resources)]
            if let names = $0.resourceNames, !names.isEmpty { rule["resourceNames"] = strings(names) }
            return rule
        }
        let nonResourceRules: [JSONValue] = rules.filter { !($0.nonResourceURLs ?? []).isEmpty }.map {
            ["verbs": strings($0.verbs), "nonResourceURLs": strings($0.nonResourceURLs)]
        }
        review["status"] = ["resourceRules": .array(resourceRules), "nonResourceRules": .array(nonResourceRules), "incomplete": false]
        return Responses.json(review, status: .created)
    }

    /// `kubectl auth whoami`.
    func whoAmI(_ request: Request, user: UserInfo) async throws(BerthError) -> Response {
        var review = try await review(request, kind: "SelfSubjectReview")
        var info: JSONValue = ["username": .string(user.name), "groups": .array(user.groups.map { .string($0) })]
        if !user.uid.isEmpty { info["uid"] = .string(user.uid) }
        review["status"] = ["userInfo": info]
        if review["metadata"] == nil { review["metadata"] = [:] }
        return Responses.json(review, status: .created)
    }
}
