import BerthCore
import BerthNetwork
import BerthImages
import BerthRuntime
import Foundation
import Logging

/// Everything a pod worker needs from its agent.
struct PodContext: Sendable {
    let configuration: AgentConfiguration
    let api: AgentAPI
    let runtime: ConmonDriver
    let images: PodImages
    let imageStore: ImageStore
    let network: PodNetwork
    let volumes: PodVolumes
    let specs: ContainerSpecFactory
    let probes: ProbeRunner
    let logger: Logger
}

/// Realizes one pod on this host: its own loop that runs whenever the pod changes or the sync
/// interval passes, compares what should run with what runs, and acts. Steps are idempotent, so a
/// worker started on an agent restart adopts what the previous one made.
actor PodWorker {
    let uid: String
    let context: PodContext
    var pod: Pod
    var record: PodRecord
    var removed = false
    var terminated = false
    var lastReportedStatus: PodStatus?
    var probeStates: [String: ProbeState] = [:]
    var sandboxReady = false
    var sandboxError: (reason: String, message: String)?
    /// Labels and annotations as the downwardAPI volumes last showed them.
    var projectedMetadata: [[String: String]] = []
    /// When configMap and secret volumes were last compared with their sources.
    var lastSourceRefresh: ContinuousClock.Instant?
    /// When the pod's local storage was last measured against its limits.
    var lastStorageCheck: ContinuousClock.Instant?
    var attachment: Task<Result<String, BerthError>, Never>?
    private var waiter: CheckedContinuation<Void, Never>?
    private var wokenEarly = false

    init(pod: Pod, context: PodContext) {
        uid = pod.metadata.uid ?? ""
        self.pod = pod
        self.context = context
        record = PodRecord.load("\(context.configuration.podsDirectory)/\(pod.metadata.uid ?? "")/record.json")
            ?? PodRecord(uid: pod.metadata.uid ?? "", namespace: pod.metadata.namespace ?? "default", name: pod.metadata.name ?? "")
    }

    var podDirectory: String { "\(context.configuration.podsDirectory)/\(uid)" }
    var logDirectory: String { "\(context.configuration.logsDirectory)/\(record.namespace)_\(record.name)_\(uid)" }

    func update(_ newPod: Pod) {
        pod = newPod
        wake()
    }

    /// The pod is gone from the API (or no longer bound here): stop everything and clean up.
    func remove() {
        removed = true
        wake()
    }

    func poke() { wake() }

    /// Runs until the pod is terminated and cleaned up.
    func run() async {
        while !Task.isCancelled {
            // Each sync runs as a child task: a task keeps the memory of its deepest async call
            // stack until it ends, and a sync's (pulls, container creation, status) is ~30 KB —
            // which the worker's own task would hold per pod for the pod's whole life.
            await withDiscardingTaskGroup { group in group.addTask { await self.sync() } }
            if terminated { break }
            await waitForWork()
        }
    }

    /// Returns on the next change (`wake`) or after the sync interval, whichever comes first.
    private func waitForWork() async {
        if wokenEarly {
            wokenEarly = false
            return
        }
        let timer = Task { [interval = context.configuration.syncInterval] in
            // A cancelled timer must not wake anyone: its wake would cut the next wait short,
            // whose cancelled timer would cut the one after short — a busy loop of syncs.
            do { try await Task.sleep(for: interval) } catch { return }
            self.wake()
        }
        await withCheckedContinuation { waiter = $0 }
        timer.cancel()
    }

    private func wake() {
        if let waiter {
            self.waiter = nil
            waiter.resume()
        } else {
            wokenEarly = true
        }
    }

    func sync() async {
        context.logger.trace("pod sync", metadata: ["pod": "\(record.namespace)/\(record.name)"])
        if removed || pod.metadata.deletionTimestamp != nil {
            await terminate(deleteFromAPI: !removed)
            return
        }
        if record.evictionMessage != nil {
            // Evicted: nothing runs again; the pod stays Failed until it is deleted.
            await reportStatus()
            return
        }
        if !sandboxReady {
            do {
                context.logger.debug("sandbox preparing", metadata: ["uptime_ms": "\(PodWorker.uptimeMilliseconds)", "pod": "\(record.name)"])
                try await prepareSandbox()
                context.logger.debug("sandbox ready", metadata: ["uptime_ms": "\(PodWorker.uptimeMilliseconds)", "pod": "\(record.name)"])
                sandboxReady = true
                sandboxError = nil
            } catch {
                if sandboxError?.message != error.message {
                    await context.api.event(pod: pod, reason: "FailedMount", message: error.message, type: "Warning", node: context.configuration.nodeName)
                }
                sandboxError = (error.code == .notFound ? "CreateContainerConfigError" : "ContainerCreating", error.message)
                context.logger.warning("pod sandbox failed", metadata: ["pod": "\(record.namespace)/\(record.name)", "error": "\(error.message)"])
                await reportStatus()
                return
            }
        }
        await refreshDownwardAPIVolumes()
        await refreshTokens()
        await refreshSourceVolumes()
        await enforceEphemeralStorage()
        if await syncInitContainers() {
            await syncContainers()
        }
        rotateLogs()
        context.logger.trace("pod containers synced", metadata: ["pod": "\(record.namespace)/\(record.name)"])
        record.save("\(podDirectory)/record.json")
        await reportStatus()
        context.logger.trace("pod status reported", metadata: ["pod": "\(record.namespace)/\(record.name)"])
    }

    /// Tokens in projected volumes are renewed before they expire, judged by when their files
    /// were written (so an agent restart does not forget).
    private func refreshTokens() async {
        guard let interval = PodVolumes.tokenRefreshInterval(pod),
              let written = PodVolumes.oldestTokenWrite(pod, podDirectory: podDirectory), Date() >= written.addingTimeInterval(interval) else { return }
        do throws(BerthError) {
            try await context.volumes.refreshServiceAccountTokens(pod, podDirectory: podDirectory)
        } catch {
            context.logger.warning("ServiceAccount token refresh failed", metadata: ["pod": "\(record.namespace)/\(record.name)", "error": "\(error.message)"])
        }
    }

    /// ConfigMaps and Secrets can change while the pod runs; their volumes follow within
    /// `sourceRefreshInterval` (the kubelet: its sync period plus its cache's TTL, about a minute).
    private func refreshSourceVolumes() async {
        let now = ContinuousClock.now
        guard let last = lastSourceRefresh else {
            lastSourceRefresh = now  // just written by the sandbox set-up
            return
        }
        if now - last < context.configuration.sourceRefreshInterval { return }
        lastSourceRefresh = now
        do throws(BerthError) {
            try await context.volumes.refreshSources(pod, podDirectory: podDirectory)
        } catch {
            context.logger.warning("configMap/secret volume refresh failed", metadata: ["pod": "\(record.namespace)/\(record.name)", "error": "\(error.message)"])
        }
    }

    /// Labels and annotations can change while the pod runs; the volumes that show them follow
    /// (the kubelet does the same on its sync).
    private func refreshDownwardAPIVolumes() async {
        let metadata = [pod.metadata.labels ?? [:], pod.metadata.annotations ?? [:]]
        guard metadata != projectedMetadata else { return }
        do throws(BerthError) {
            try await context.volumes.refreshDownwardAPI(pod, podDirectory: podDirectory)
            projectedMetadata = metadata
        } catch {
            context.logger.warning("downwardAPI volume refresh failed", metadata: ["pod": "\(record.namespace)/\(record.name)", "error": "\(error.message)"])
        }
    }

    /// Directories, network and IPC namespaces, /dev/shm, /etc files and volumes. The namespace's interfaces are
    /// plumbed in the background (`attachment`): containers are created meanwhile and started
    /// only once the pod has its address (`networkAddress`).
    private func prepareSandbox() async throws(BerthError) {
        try PodVolumes.makeDirectory(podDirectory, mode: 0o755)
        if record.startTime == nil { record.startTime = Date() }
        try await context.network.createNamespace(podUID: uid)
        if pod.spec?.hostIPC != true { try await PodIPC.setUp(podDirectory: podDirectory) }
        if let ip = record.podIP {
            // Adopted after an agent restart: the port exists, the guard table is new.
            await context.network.guardPort(podUID: uid, ip: ip)
            await context.network.traffic.publish(podUID: uid, podIP: ip, spec: pod.spec)
        }
        if record.podIP == nil && attachment == nil {
            let (network, podUID) = (context.network, uid)
            let bandwidth = try Bandwidth(annotations: pod.metadata.annotations ?? [:])
            let fixed = try Self.fixedAddress(pod)
            attachment = Task {
                do throws(BerthError) {
                    return .success(try await network.attach(podUID: podUID, bandwidth: bandwidth, fixedAddress: fixed))
                } catch { return .failure(error) }
            }
        }
        let hostname = pod.spec?.hostname ?? pod.metadata.name ?? "pod"
        try write("hosts", hostsFile(ip: record.podIP))
        try write("hostname", hostname + "\n")
        try write("resolv.conf", Self.resolvConf(pod, clusterDNS: context.network.gateway))
        volumePaths = try await context.volumes.setUp(pod, podDirectory: podDirectory)
        projectedMetadata = [pod.metadata.labels ?? [:], pod.metadata.annotations ?? [:]]
        record.save("\(podDirectory)/record.json")
    }

    /// The IPPool address the pod was given; a pod its pool has not served yet (bound to this
    /// node by hand, past the scheduler) waits for it.
    static func fixedAddress(_ pod: Pod) throws(BerthError) -> UInt32? {
        guard let pool = pod.metadata.labels?[IPPool.poolLabel] else { return nil }
        guard let text = pod.metadata.annotations?[IPPool.addressAnnotation], let address = IPv4.parse(text) else {
            throw BerthError(.unavailable, "waiting for an address from IPPool \(pool)")
        }
        return address
    }

    /// The pod's IP once its network is attached; writes it into /etc/hosts in place (the file
    /// is bind-mounted into containers already created, so its inode must stay).
    func networkAddress() async throws(BerthError) -> String {
        if let ip = record.podIP { return ip }
        guard let attachment else { throw BerthError(.internalError, "pod network was never set up") }
        let ip: String
        switch await attachment.value {
        case .success(let address):
            ip = address
        case .failure(let error):
            self.attachment = nil
            sandboxReady = false
            throw error
        }
        record.podIP = ip
        await context.network.traffic.publish(podUID: uid, podIP: ip, spec: pod.spec)
        // A finished task still holds its memory while referenced; the address is recorded.
        self.attachment = nil
        record.save("\(podDirectory)/record.json")
        if let handle = FileHandle(forWritingAtPath: "\(podDirectory)/hosts") {
            try? handle.truncate(atOffset: 0)
            try? handle.write(contentsOf: Data(hostsFile(ip: ip).utf8))
            try? handle.close()
        }
        return ip
    }

    private func hostsFile(ip: String?) -> String {
        let hostname = pod.spec?.hostname ?? pod.metadata.name ?? "pod"
        var hosts = "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n"
        if let ip { hosts += "\(ip)\t\(hostname)\n" }
        for alias in pod.spec?.hostAliases ?? [] { hosts += "\(alias.ip)\t\((alias.hostnames ?? []).joined(separator: " "))\n" }
        return hosts
    }

    var volumePaths: [String: String] = [:]

    private func write(_ name: String, _ text: String) throws(BerthError) {
        guard FileManager.default.createFile(atPath: "\(podDirectory)/\(name)", contents: Data(text.utf8), attributes: [.posixPermissions: 0o644]) else {
            throw BerthError(.internalError, "failed to write \(podDirectory)/\(name)")
        }
    }

    /// DNS for the pod: the cluster DNS comes with the network layer; until then the host's
    /// resolvers (dnsPolicy Default) or what `dnsConfig` says.
    /// The pod's resolver settings by `dnsPolicy`: ClusterFirst (the default) asks the node's
    /// cluster DNS with the Kubernetes search path; Default copies the host's; None uses only
    /// `dnsConfig`, whose servers, searches and options are added in every case.
    static func resolvConf(_ pod: Pod, clusterDNS: UInt32?) -> String {
        let policy = pod.spec?.dnsPolicy ?? "ClusterFirst"
        let host = (try? String(contentsOfFile: "/etc/resolv.conf", encoding: .utf8)) ?? ""
        let hostServers = host.split(separator: "\n").filter { $0.hasPrefix("nameserver") }.map { String($0.split(separator: " ").last ?? "") }
        let namespace = pod.metadata.namespace ?? "default"
        var servers: [String] = []
        var searches: [String] = []
        var options: [String] = []
        switch policy {
        case "None":
            break
        case "Default":
            servers = hostServers
        default:
            if let clusterDNS {
                servers = [IPv4Network.format(clusterDNS)]
                searches = ["\(namespace).svc.\(ClusterName.domain)", "svc.\(ClusterName.domain)", ClusterName.domain]
                options = ["ndots:5"]
            } else {
                servers = hostServers
            }
        }
        servers += pod.spec?.dnsConfig?.nameservers ?? []
        searches += pod.spec?.dnsConfig?.searches ?? []
        for option in pod.spec?.dnsConfig?.options ?? [] {
            guard let name = option.name else { continue }
            options.removeAll { $0.hasPrefix(name + ":") || $0 == name }
            options.append(option.value.map { "\(name):\($0)" } ?? name)
        }
        var text = ""
        for server in servers.prefix(3) where !server.isEmpty { text += "nameserver \(server)\n" }
        if !searches.isEmpty { text += "search \(searches.prefix(32).joined(separator: " "))\n" }
        if !options.isEmpty { text += "options \(options.joined(separator: " "))\n" }
        return text
    }
}

extension PodWorker {
    /// Milliseconds since boot, for debug logs that time the steps of a pod start.
    static var uptimeMilliseconds: String { String(format: "%.1f", ProcessInfo.processInfo.systemUptime * 1000) }
}
