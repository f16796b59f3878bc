/// `core/v1` Container and what it references (Kubernetes 1.33 field names).
public struct Container: Codable, Sendable, Hashable {
    public var name: String
    public var image: String?
    public var command: [String]?
    public var args: [String]?
    public var workingDir: String?
    public var ports: [ContainerPort]?
    public var envFrom: [EnvFromSource]?
    public var env: [EnvVar]?
    public var resources: ResourceRequirements?
    public var resizePolicy: [ContainerResizePolicy]?
    public var restartPolicy: String?
    public var volumeMounts: [VolumeMount]?
    public var volumeDevices: [VolumeDevice]?
    @Indirect public var livenessProbe: Probe?
    @Indirect public var readinessProbe: Probe?
    @Indirect public var startupProbe: Probe?
    @Indirect public var lifecycle: Lifecycle?
    public var terminationMessagePath: String?
    public var terminationMessagePolicy: String?
    public var imagePullPolicy: String?
    @Indirect public var securityContext: SecurityContext?
    public var stdin: Bool?
    public var stdinOnce: Bool?
    public var tty: Bool?

    public init(name: String, image: String? = nil, command: [String]? = nil, args: [String]? = nil) {
        self.name = name
        self.image = image
        self.command = command
        self.args = args
    }
}

public struct ContainerPort: Codable, Sendable, Hashable {
    public var name: String?
    public var hostPort: Int32?
    public var containerPort: Int32
    public var `protocol`: String?
    public var hostIP: String?
}

public struct ContainerResizePolicy: Codable, Sendable, Hashable {
    public var resourceName: String
    public var restartPolicy: String
}

public struct EnvVar: Codable, Sendable, Hashable {
    public var name: String
    public var value: String?
    public var valueFrom: EnvVarSource?

    public init(name: String, value: String? = nil) {
        self.name = name
        self.value = value
    }
}

public struct EnvVarSource: Codable, Sendable, Hashable {
    public var fieldRef: ObjectFieldSelector?
    public var resourceFieldRef: ResourceFieldSelector?
    public var configMapKeyRef: KeySelector?
    public var secretKeyRef: KeySelector?

    public init(fieldRef: ObjectFieldSelector? = nil) { self.fieldRef = fieldRef }
}

public struct ObjectFieldSelector: Codable, Sendable, Hashable {
    public var apiVersion: String?
    public var fieldPath: String

    public init(apiVersion: String? = "v1", fieldPath: String) {
        self.apiVersion = apiVersion
        self.fieldPath = fieldPath
    }
}

public struct ResourceFieldSelector: Codable, Sendable, Hashable {
    public var containerName: String?
    public var resource: String
    public var divisor: Quantity?
}

public struct KeySelector: Codable, Sendable, Hashable {
    public var name: String?
    public var key: String
    public var optional: Bool?
}

public struct EnvFromSource: Codable, Sendable, Hashable {
    public var prefix: String?
    public var configMapRef: NameReference?
    public var secretRef: NameReference?
}

public struct NameReference: Codable, Sendable, Hashable {
    public var name: String?
    public var optional: Bool?
}

public struct ResourceRequirements: Codable, Sendable, Hashable {
    public var limits: [String: Quantity]?
    public var requests: [String: Quantity]?
    public var claims: [ResourceClaim]?

    public init(limits: [String: Quantity]? = nil, requests: [String: Quantity]? = nil) {
        self.limits = limits
        self.requests = requests
    }
}

public struct ResourceClaim: Codable, Sendable, Hashable {
    public var name: String
    public var request: String?
}

public struct VolumeMount: Codable, Sendable, Hashable {
    public var name: String
    public var readOnly: Bool?
    public var recursiveReadOnly: String?
    public var mountPath: String
    public var subPath: String?
    public var mountPropagation: String?
    public var subPathExpr: String?
}

public struct VolumeDevice: Codable, Sendable, Hashable {
    public var name: String
    public var devicePath: String
}

public struct Probe: Codable, Sendable, Hashable {
    public var exec: ExecAction?
    public var httpGet: HTTPGetAction?
    public var tcpSocket: TCPSocketAction?
    public var grpc: GRPCAction?
    public var initialDelaySeconds: Int32?
    public var timeoutSeconds: Int32?
    public var periodSeconds: Int32?
    public var successThreshold: Int32?
    public var failureThreshold: Int32?
    public var terminationGracePeriodSeconds: Int64?
}

public struct ExecAction: Codable, Sendable, Hashable {
    public var command: [String]?
}

public struct HTTPGetAction: Codable, Sendable, Hashable {
    public var path: String?
    public var port: IntOrString
    public var host: String?
    public var scheme: String?
    public var httpHeaders: [HTTPHeader]?
}

public struct HTTPHeader: Codable, Sendable, Hashable {
    public var name: String
    public var value: String
}

public struct TCPSocketAction: Codable, Sendable, Hashable {
    public var port: IntOrString
    public var host: String?
}

public struct GRPCAction: Codable, Sendable, Hashable {
    public var port: Int32
    public var service: String?
}

public struct Lifecycle: Codable, Sendable, Hashable {
    public var postStart: LifecycleHandler?
    public var preStop: LifecycleHandler?
    public var stopSignal: String?
}

public struct LifecycleHandler: Codable, Sendable, Hashable {
    public var exec: ExecAction?
    public var httpGet: HTTPGetAction?
    public var tcpSocket: TCPSocketAction?
    public var sleep: SleepAction?
}

public struct SleepAction: Codable, Sendable, Hashable {
    public var seconds: Int64
}

public struct SecurityContext: Codable, Sendable, Hashable {
    public var capabilities: Capabilities?
    public var privileged: Bool?
    public var seLinuxOptions: SELinuxOptions?
    public var windowsOptions: JSONValue?
    public var runAsUser: Int64?
    public var runAsGroup: Int64?
    public var runAsNonRoot: Bool?
    public var readOnlyRootFilesystem: Bool?
    public var allowPrivilegeEscalation: Bool?
    public var procMount: String?
    public var seccompProfile: SeccompProfile?
    public var appArmorProfile: AppArmorProfile?
}

public struct Capabilities: Codable, Sendable, Hashable {
    public var add: [String]?
    public var drop: [String]?
}

public struct SELinuxOptions: Codable, Sendable, Hashable {
    public var user: String?
    public var role: String?
    public var type: String?
    public var level: String?
}

public struct SeccompProfile: Codable, Sendable, Hashable {
    public var type: String
    public var localhostProfile: String?
}

public struct AppArmorProfile: Codable, Sendable, Hashable {
    public var type: String
    public var localhostProfile: String?
}
