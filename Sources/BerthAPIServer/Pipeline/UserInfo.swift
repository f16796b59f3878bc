/// Who a request comes from, as Kubernetes' authenticators name users (`user.Info`): every
/// credential becomes a name and groups, and authorization looks only at those.
public struct UserInfo: Sendable, Hashable {
    public var name: String
    public var uid: String
    public var groups: [String]

    public init(name: String, uid: String = "", groups: [String]) {
        self.name = name
        self.uid = uid
        self.groups = groups
    }

    public static let masters = "system:masters"
    public static let authenticated = "system:authenticated"
    public static let unauthenticated = "system:unauthenticated"
    public static let nodes = "system:nodes"
    public static let bootstrappers = "system:bootstrappers"

    /// The holder of `admin.token` (kubeadm's `kubernetes-admin`): in `system:masters`, which
    /// every authorizer allows everything.
    public static let admin = UserInfo(name: "admin", groups: [masters, authenticated])
    public static let anonymous = UserInfo(name: "system:anonymous", groups: [unauthenticated])

    static let nodePrefix = "system:node:"
    static let nodePoolPrefix = "system:node-pool:"
    static let bootstrapPrefix = "system:bootstrap:"

    public static func node(_ name: String) -> UserInfo { UserInfo(name: nodePrefix + name, groups: [nodes, authenticated]) }
    /// Simulated nodes `PREFIX-N` (`berth agent --simulate`), one certificate for all.
    static func nodePool(prefix: String) -> UserInfo { UserInfo(name: nodePoolPrefix + prefix, groups: [nodes, authenticated]) }
    static func bootstrap(tokenID: String) -> UserInfo { UserInfo(name: bootstrapPrefix + tokenID, groups: [bootstrappers, authenticated]) }

    public var isMaster: Bool { groups.contains(Self.masters) }
    public var isAnonymous: Bool { groups.contains(Self.unauthenticated) }

    /// The nodes this user speaks for, when it is a node (or a pool of simulated ones).
    var nodeScope: NodeScope? {
        guard groups.contains(Self.nodes) else { return nil }
        if name.hasPrefix(Self.nodePrefix) { return NodeScope(node: String(name.dropFirst(Self.nodePrefix.count))) }
        if name.hasPrefix(Self.nodePoolPrefix) { return NodeScope(pool: String(name.dropFirst(Self.nodePoolPrefix.count))) }
        return nil
    }

    /// The bootstrap token's ID, when this user holds one (it may do nothing but join).
    var bootstrapTokenID: String? {
        guard groups.contains(Self.bootstrappers), name.hasPrefix(Self.bootstrapPrefix) else { return nil }
        return String(name.dropFirst(Self.bootstrapPrefix.count))
    }
}
