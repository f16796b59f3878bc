// The OCI runtime specification v1.0.2 `config.json`, the subset Berth writes. Field names are
// the spec's; optional fields are omitted when nil.

public struct RuntimeSpec: Codable, Sendable {
    public var ociVersion = "1.0.2"
    public var process: Process
    public var root: Root
    public var hostname: String?
    public var mounts: [Mount]
    public var linux: Linux

    public struct Process: Codable, Sendable {
        public var terminal: Bool
        public var user: User
        public var args: [String]
        public var env: [String]
        public var cwd: String
        public var capabilities: Capabilities?
        public var rlimits: [Rlimit]?
        public var noNewPrivileges: Bool?
        public var oomScoreAdj: Int?
    }

    public struct User: Codable, Sendable {
        public var uid: UInt32
        public var gid: UInt32
        public var additionalGids: [UInt32]?
    }

    public struct Capabilities: Codable, Sendable {
        public var bounding: [String]
        public var effective: [String]
        public var inheritable: [String]
        public var permitted: [String]
        public var ambient: [String]

        public init(_ set: [String]) {
            bounding = set
            effective = set
            inheritable = []
            permitted = set
            ambient = []
        }
    }

    public struct Rlimit: Codable, Sendable {
        public var type: String
        public var hard: UInt64
        public var soft: UInt64
    }

    public struct Root: Codable, Sendable {
        public var path: String
        public var readonly: Bool?
    }

    public struct Mount: Codable, Sendable, Hashable {
        public var destination: String
        public var type: String?
        public var source: String?
        public var options: [String]?

        public init(destination: String, type: String? = nil, source: String? = nil, options: [String]? = nil) {
            self.destination = destination
            self.type = type
            self.source = source
            self.options = options
        }
    }

    public struct Linux: Codable, Sendable {
        public var namespaces: [Namespace]
        public var cgroupsPath: String?
        public var resources: Resources?
        public var maskedPaths: [String]?
        public var readonlyPaths: [String]?
        public var seccomp: Seccomp?
        public var sysctl: [String: String]?
    }

    public struct Namespace: Codable, Sendable {
        public var type: String
        public var path: String?
    }

    public struct Resources: Codable, Sendable {
        public var devices: [DeviceRule]?
        public var memory: Memory?
        public var cpu: CPU?
        public var pids: Pids?
    }

    public struct DeviceRule: Codable, Sendable {
        public var allow: Bool
        public var access: String?
    }

    public struct Memory: Codable, Sendable {
        public var limit: Int64?
        public var swap: Int64?
    }

    public struct CPU: Codable, Sendable {
        public var shares: UInt64?
        public var quota: Int64?
        public var period: UInt64?
    }

    public struct Pids: Codable, Sendable {
        public var limit: Int64
    }

    public struct Seccomp: Codable, Sendable {
        public var defaultAction: String
        public var architectures: [String]
        public var syscalls: [SyscallRule]
    }

    public struct SyscallRule: Codable, Sendable {
        public var names: [String]
        public var action: String
        public var errnoRet: UInt32?
        /// All must hold for the rule to apply (libseccomp's argument comparisons).
        public var args: [SyscallArg]?

        public init(names: [String], action: String, errnoRet: UInt32? = nil, args: [SyscallArg]? = nil) {
            self.names = names
            self.action = action
            self.errnoRet = errnoRet
            self.args = args
        }
    }

    /// `op` on argument `index`: for SCMP_CMP_MASKED_EQ, `(arg & value) == valueTwo`.
    public struct SyscallArg: Codable, Sendable, Equatable {
        public var index: UInt32
        public var value: UInt64
        public var valueTwo: UInt64
        public var op: String
    }
}
