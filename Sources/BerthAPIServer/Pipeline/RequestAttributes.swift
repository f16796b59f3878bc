import BerthCore
import HTTPTypes

/// What a request asks to do, as authorizers and audit see it (Kubernetes'
/// `authorizer.Attributes`): the user, a verb, and either a resource (group, resource,
/// subresource, namespace, name) or a non-resource path.
struct RequestAttributes: Sendable {
    var user: UserInfo
    var verb: String
    var path: String
    /// The resource the request addresses, as the handlers know it.
    var target: ResourceTarget? {
        didSet { describe(target) }
    }
    /// The same, as authorization sees it; set from `target`, or given alone for a question
    /// about a resource Berth may not serve (`kubectl auth can-i create foos`).
    private(set) var isResourceRequest = false
    private(set) var resource = ""
    private(set) var apiGroup = ""
    private(set) var namespace: String?
    private(set) var name: String?
    private(set) var subresource: String?

    init(user: UserInfo, verb: String, path: String, target: ResourceTarget?) {
        self.user = user
        self.verb = verb
        self.path = path
        self.target = target
        describe(target)
    }

    /// A resource named by group and plural only (access reviews).
    init(user: UserInfo, verb: String, group: String, resource: String, subresource: String?, namespace: String?, name: String?) {
        self.user = user
        self.verb = verb
        path = ""
        isResourceRequest = true
        self.resource = resource
        apiGroup = group
        self.subresource = subresource
        self.namespace = namespace
        self.name = name
    }

    private mutating func describe(_ target: ResourceTarget?) {
        guard let target else { return }
        isResourceRequest = true
        resource = target.descriptor.plural
        apiGroup = target.descriptor.group
        namespace = target.namespace
        name = target.name
        subresource = target.subresource
        // As Kubernetes: a request for one namespace object is in that namespace, so a role
        // bound there may allow reading it.
        if target.descriptor.kind == "Namespace", let name = target.name { namespace = name }
    }

    /// `pods/log`, `deployments`: the resource as RBAC rules and messages name it.
    var qualifiedResource: String { subresource.map { "\(resource)/\($0)" } ?? resource }

    /// Kubernetes' verb for a method on a resource: get/list/watch, create, update, patch,
    /// delete/deletecollection.
    static func verb(_ method: HTTPRequest.Method, target: ResourceTarget, watch: Bool) -> String {
        switch method {
        case .get, .head: return watch ? "watch" : (target.name == nil ? "list" : "get")
        case .post: return "create"
        case .put: return "update"
        case .patch: return "patch"
        case .delete: return target.name == nil ? "deletecollection" : "delete"
        default: return method.rawValue.lowercased()
        }
    }

    /// A non-resource path's verb is the method's name (`get`, `post`, …).
    static func verb(_ method: HTTPRequest.Method) -> String { method == .head ? "get" : method.rawValue.lowercased() }

    /// The refusal, worded as kube-apiserver words it:
    /// `pods "web" is forbidden: User "alice" cannot get resource "pods" in API group "" in the namespace "b"`.
    func forbidden(_ reason: String?) -> BerthError {
        let suffix = reason.map { ": \($0)" } ?? ""
        guard isResourceRequest else {
            return BerthError(.forbidden, "forbidden: User \"\(user.name)\" cannot \(verb) path \"\(path)\"\(suffix)")
        }
        let qualified = apiGroup.isEmpty ? resource : "\(resource).\(apiGroup)"
        let subject = name.map { "\(qualified) \"\($0)\"" } ?? qualified
        let place = namespace.map { " in the namespace \"\($0)\"" } ?? " at the cluster scope"
        return BerthError(.forbidden, "\(subject) is forbidden: User \"\(user.name)\" cannot \(verb) resource \"\(qualifiedResource)\" in API group \"\(apiGroup)\"\(place)\(suffix)")
    }
}
