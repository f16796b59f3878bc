import BerthMetrics
import BerthNetwork
import Foundation

/// What one node agent needs to run pods on its host.
public struct AgentConfiguration: Sendable {
    public var nodeName: String
    /// Pods, images, runtime state and logs live under here.
    public var dataDirectory: String
    /// This node's pod subnet when the operator fixes it (`--pod-subnet`); nil means the control
    /// plane assigns one (DESIGN §6: one /24 per node out of the cluster pod CIDR).
    public var podSubnet: String?
    /// The whole pod range and the service range: pods route both through their node.
    public var clusterCIDR = IPv4Network("100.96.0.0/11")!
    public var serviceCIDR = IPv4Network("100.64.0.0/13")!
    public var networkMode = NetworkMode.routed
    /// Underlay mode: the uplink pods attach to with macvlan (`--underlay-interface`).
    public var underlayInterface: String?
    /// The address other hosts reach this node on.
    public var nodeAddress: String
    public var bridgeName = "berth0"
    /// Pod traffic to addresses outside the pod and service ranges leaves masqueraded to the
    /// node's address (`--egress-masquerade`); off for routed underlays that know the pod ranges.
    public var egressMasquerade = true
    /// Label this node `berth.dev/ingress=true` at registration (`berth up` does): it then runs
    /// the ingress data plane (HAProxy) on these ports of every node address.
    public var ingressNode = false
    /// Label the node `storage.berth.dev/glusterfs=true` at registration (it serves bricks).
    public var storageNode = false
    public var ingressHTTPPort = 80
    public var ingressHTTPSPort = 443
    /// IPv4 BIG TCP on the pod path in routed mode, where the kernel and the underlay allow it.
    public var bigTCP = BigTCP.Policy.auto
    public var cniPluginDirectory = "/usr/lib/cni"
    public var heartbeatInterval: Duration = Self.defaultHeartbeatInterval
    public static let defaultHeartbeatInterval: Duration = .seconds(5)
    /// How often each pod is checked for exits, probes and restarts due.
    public var syncInterval: Duration = .milliseconds(500)
    /// How often configMap, secret and projected volumes are compared with their sources.
    public var sourceRefreshInterval: Duration = .seconds(10)
    /// How often pods with ephemeral-storage limits or emptyDir size limits are measured.
    public var storageCheckInterval: Duration = .seconds(5)
    public var maxPods = 250
    /// A container log is rotated past this size (the kubelet's containerLogMaxSize, 10 MiB).
    public var containerLogMaxSize: Int64 = 10 << 20
    /// Log files kept per container, the current one included (containerLogMaxFiles).
    public var containerLogMaxFiles = 5
    /// Image garbage collection: above this disk usage (percent) unused images are removed,
    /// down to the low threshold (the kubelet's defaults, 85 and 80), checked this often.
    public var imageGCHighThresholdPercent = 85
    public var imageGCLowThresholdPercent = 80
    public var imageGCInterval: Duration = .seconds(60)
    /// Hard eviction thresholds (`--eviction-hard`) and how long a pressure condition stays
    /// after its signal recovers (`--eviction-pressure-transition-period`; the kubelet's 5 min).
    public var evictionHard = EvictionThresholds.defaults
    public var evictionPressureTransition: Duration = .seconds(30)
    /// How long the logs of ended pods are kept for searches (`--log-retention`; 0: not kept).
    public var logRetention: Duration = .seconds(86400)
    /// How often the signals are measured (the kubelet's housekeeping: 10 s).
    public var evictionInterval: Duration = .seconds(2)
    /// The cluster registry's storage when it is on this host (`berth up`): its blobs are
    /// hard-linked into the image store instead of downloaded.
    public var clusterRegistryBlobs: String?
    /// `HOST:PORT` of the cluster registry (the API address), set from the client's server:
    /// images named there are pulled with the pod's ServiceAccount.
    public internal(set) var clusterRegistryHost: String?

    public init(nodeName: String, dataDirectory: String, podSubnet: String? = nil, nodeAddress: String = "127.0.0.1") {
        self.nodeName = nodeName
        self.dataDirectory = dataDirectory
        self.podSubnet = podSubnet
        self.nodeAddress = nodeAddress
    }

    var podsDirectory: String { "\(dataDirectory)/pods" }
    var imagesDirectory: String { "\(dataDirectory)/images" }
    var runtimeDirectory: String { "\(dataDirectory)/runtime" }
    var logsDirectory: String { "\(dataDirectory)/logs" }
    /// `berth.dev/local` volumes: an image and a mount point each.
    var volumesDirectory: String { "\(dataDirectory)/volumes" }
    var cniDirectory: String { "\(dataDirectory)/cni" }
    /// The underlay device BIG TCP raised and its old size, restored by `berth cleanup`.
    var bigTCPRecord: String { "\(dataDirectory)/big-tcp-underlay" }

    /// The host's name, lowercased as a DNS-1123 node name.
    public static var hostName: String {
        ProcessInfo.processInfo.hostName.lowercased().split(separator: ".").first.map(String.init) ?? "localhost"
    }
}
