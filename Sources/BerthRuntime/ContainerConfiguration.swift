/// Everything the runtime needs to know to run one container; the agent derives it from the pod
/// spec and the image configuration.
public struct ContainerConfiguration: Sendable {
    public var id: String
    /// The mounted root file system (overlay of the image's layers and the container's upper dir).
    public var rootfs: String
    public var arguments: [String]
    public var environment: [String]
    public var workingDirectory: String
    public var uid: UInt32 = 0
    public var gid: UInt32 = 0
    public var additionalGids: [UInt32] = []
    public var hostname: String
    /// The pod's network namespace (`/run/netns/…`); nil gives the container the host's network.
    public var networkNamespace: String?
    /// The IPC namespace to join (the pod's, see `PodIPC`); nil gives the container its own.
    public var ipcNamespace: String?
    /// `hostIPC`: the host's IPC namespace and /dev/shm; overrides `ipcNamespace`.
    public var hostIPC = false
    /// A tmpfs bound at /dev/shm (the pod's, shared by its containers); nil gives the container its own.
    public var sharedMemory: String?
    public var mounts: [RuntimeSpec.Mount] = []
    public var cgroupsPath: String
    public var resources = ContainerResources()
    public var readOnlyRootfs = false
    public var privileged = false
    public var addCapabilities: [String] = []
    public var dropCapabilities: [String] = []
    public var allowPrivilegeEscalation = false
    public var terminal = false
    /// conmon keeps the container's stdin open for attaching (`stdin: true`); with
    /// `stdinOnce` it closes when the first attached client leaves.
    public var openStdin = false
    public var stdinOnce = false

    public init(id: String, rootfs: String, arguments: [String], environment: [String], workingDirectory: String,
                hostname: String, cgroupsPath: String) {
        self.id = id
        self.rootfs = rootfs
        self.arguments = arguments
        self.environment = environment
        self.workingDirectory = workingDirectory
        self.hostname = hostname
        self.cgroupsPath = cgroupsPath
    }
}

/// cgroup limits, in the units the kernel takes.
public struct ContainerResources: Sendable, Hashable {
    /// CPU weight relative to other containers (Kubernetes: requests.cpu millicores × 1024 / 1000, at least 2).
    public var cpuShares: UInt64?
    /// CPU time per period in microseconds (limits.cpu millicores × period / 1000).
    public var cpuQuota: Int64?
    public var cpuPeriod: UInt64 = 100_000
    public var memoryLimitBytes: Int64?
    public var pidsLimit: Int64?

    public init(cpuShares: UInt64? = nil, cpuQuota: Int64? = nil, memoryLimitBytes: Int64? = nil, pidsLimit: Int64? = nil) {
        self.cpuShares = cpuShares
        self.cpuQuota = cpuQuota
        self.memoryLimitBytes = memoryLimitBytes
        self.pidsLimit = pidsLimit
    }

    /// Kubernetes' conversion: requests.cpu → shares, limits.cpu → quota, limits.memory → limit.
    public static func fromKubernetes(cpuRequestMillis: Int64?, cpuLimitMillis: Int64?, memoryLimit: Int64?, pidsLimit: Int64?) -> ContainerResources {
        var resources = ContainerResources()
        if let request = cpuRequestMillis ?? cpuLimitMillis { resources.cpuShares = max(2, UInt64(request) * 1024 / 1000) }
        if let limit = cpuLimitMillis { resources.cpuQuota = max(1000, limit * 100_000 / 1000) }
        resources.memoryLimitBytes = memoryLimit
        resources.pidsLimit = pidsLimit
        return resources
    }
}
