import BerthCore
import BerthImages
import BerthRuntime
import Crypto
import Foundation

extension PodWorker {
    /// Runs init containers one at a time, in order; true once all have completed.
    func syncInitContainers() async -> Bool {
        for container in pod.spec?.initContainers ?? [] {
            var entry = containerRecord(container.name)
            if entry.completed { continue }
            if entry.startedAt != nil {
                guard let exit = context.runtime.exit(bundle: bundle(container.name)) else { return false }  // still running
                recordExit(&entry, exit: exit, container: container)
                if exit.code == 0 {
                    entry.completed = true
                    record.containers[container.name] = entry
                    continue
                }
                record.containers[container.name] = entry
                if (pod.spec?.restartPolicy ?? "Always") == "Never" { return false }
                scheduleBackoff(container.name)
                return false
            }
            await startIfDue(container, isInit: true)
            return false
        }
        return true
    }

    /// Starts what should run, records exits, restarts per policy, rebuilds changed containers.
    func syncContainers() async {
        let policy = pod.spec?.restartPolicy ?? "Always"
        for container in pod.spec?.containers ?? [] {
            var entry = containerRecord(container.name)
            if entry.startedAt != nil {
                if let exit = context.runtime.exit(bundle: bundle(container.name)) {
                    recordExit(&entry, exit: exit, container: container)
                    record.containers[container.name] = entry
                    probeStates = probeStates.filter { !$0.key.hasPrefix("\(container.name)/") }
                    let restart = policy == "Always" || (policy == "OnFailure" && exit.code != 0)
                    if restart {
                        scheduleBackoff(container.name)
                        await context.api.event(pod: pod, reason: "BackOff", message: "Back-off restarting failed container \(container.name)",
                                                type: "Warning", node: context.configuration.nodeName)
                    }
                    continue
                }
                if entry.specFingerprint != Self.fingerprint(container) {
                    // The spec changed in a way that keeps the pod here: rebuild this container in place.
                    await context.api.event(pod: pod, reason: "Killing", message: "Container \(container.name) definition changed, will be restarted",
                                            node: context.configuration.nodeName)
                    await stop(container.name, grace: gracePeriod)
                    entry = containerRecord(container.name)
                    entry.startedAt = nil
                    entry.nextAttempt = nil
                    entry.backoffSeconds = 0
                    record.containers[container.name] = entry
                } else {
                    await runProbes(container)
                    continue
                }
            }
            if entry.lastTermination != nil {
                let code = entry.lastTermination?.exitCode ?? 0
                let restart = policy == "Always" || (policy == "OnFailure" && code != 0)
                if !restart { continue }
            }
            await startIfDue(container, isInit: false)
        }
    }

    /// Creates and starts a container unless it is backing off.
    func startIfDue(_ container: Container, isInit: Bool) async {
        var entry = containerRecord(container.name)
        if let next = entry.nextAttempt, next > Date() { return }
        do {
            let image = try await pullImage(container, entry: &entry)
            let rootfs = try prepareRootfs(container.name, image: image, entry: &entry)
            // The address is needed before create only when the environment refers to it.
            if container.env?.contains(where: { ($0.valueFrom?.fieldRef?.fieldPath ?? "").hasPrefix("status.podIP") }) == true {
                _ = try await networkAddress()
            }
            let sandbox = ContainerSpecFactory.Sandbox(
                podDirectory: podDirectory, networkNamespace: PodNetwork.namespacePath(podUID: uid), podIP: record.podIP ?? "",
                hostIP: context.configuration.nodeAddress, nodeName: context.configuration.nodeName, volumePaths: volumePaths)
            let configuration: ContainerConfiguration
            do {
                configuration = try await context.specs.configuration(for: container, in: pod, image: image, id: entry.id, rootfs: rootfs, sandbox: sandbox)
            } catch {
                throw ContainerStartError(reason: "CreateContainerConfigError", message: error.message)
            }
            // A previous instance (exited, or left by a crash) must go before its id is reused.
            if context.runtime.exists(entry.id) { await context.runtime.delete(entry.id) }
            // A container that ran before is a restart: it counts, and logs to a new file.
            if entry.lastTermination != nil && !isInit || (isInit && entry.lastTermination != nil) { entry.restartCount += 1 }
            let logPath = "\(logDirectory)/\(container.name)/\(entry.restartCount).log"
            do {
                context.logger.debug("container creating", metadata: ["uptime_ms": "\(PodWorker.uptimeMilliseconds)", "pod": "\(record.name)", "container": "\(container.name)"])
                _ = try await context.runtime.create(configuration, bundle: bundle(container.name), logPath: logPath)
                await context.api.event(pod: pod, reason: "Created", message: "Created container: \(container.name)", node: context.configuration.nodeName)
                context.logger.debug("container created", metadata: ["uptime_ms": "\(PodWorker.uptimeMilliseconds)", "pod": "\(record.name)", "container": "\(container.name)"])
                _ = try await networkAddress()
                try await context.runtime.start(entry.id)
                context.logger.debug("container started", metadata: ["uptime_ms": "\(PodWorker.uptimeMilliseconds)", "pod": "\(record.name)", "container": "\(container.name)"])
            } catch {
                await context.runtime.delete(entry.id)
                throw ContainerStartError(reason: "CreateContainerError", message: error.message)
            }
            entry.startedAt = Date()
            entry.specFingerprint = Self.fingerprint(container)
            entry.waitingReason = nil
            entry.waitingMessage = nil
            record.containers[container.name] = entry
            await context.api.event(pod: pod, reason: "Started", message: "Started container \(container.name)", node: context.configuration.nodeName)
        } catch let failure as ContainerStartError {
            AgentMetrics.runtimeErrors.add(1, failure.reason)
            entry.waitingReason = failure.reason
            entry.waitingMessage = failure.message
            record.containers[container.name] = entry
            scheduleBackoff(container.name)
            await context.api.event(pod: pod, reason: "Failed", message: "Error: \(failure.message)", type: "Warning", node: context.configuration.nodeName)
        } catch {
            AgentMetrics.runtimeErrors.add(1, "CreateContainerError")
            entry.waitingReason = "CreateContainerError"
            entry.waitingMessage = "\(error)"
            record.containers[container.name] = entry
            scheduleBackoff(container.name)
        }
    }

    private func pullImage(_ container: Container, entry: inout ContainerRecord) async throws -> LocalImage {
        do {
            let credentials = await registryCredentials()
            let started = Date()
            let (api, pod, node) = (context.api, pod, context.configuration.nodeName)
            let (image, pulled) = try await context.images.ensure(container, pod: pod, credentials: credentials) {
                await api.event(pod: pod, reason: "Pulling", message: "Pulling image \"\(container.image ?? "")\"", node: node)
            }
            if pulled {
                let seconds = String(format: "%.3f", Date().timeIntervalSince(started))
                await context.api.event(pod: pod, reason: "Pulled", message: "Successfully pulled image \"\(container.image ?? "")\" in \(seconds)s",
                                        node: context.configuration.nodeName)
            } else if entry.imageID != image.manifestDigest.description {
                await context.api.event(pod: pod, reason: "Pulled", message: "Container image \"\(container.image ?? "")\" already present on machine",
                                        node: context.configuration.nodeName)
            }
            return image
        } catch {
            let reason = entry.waitingReason == "ErrImagePull" || entry.waitingReason == "ImagePullBackOff" ? "ImagePullBackOff" : "ErrImagePull"
            if error.message.hasPrefix("InvalidImageName") { throw ContainerStartError(reason: "InvalidImageName", message: error.message) }
            throw ContainerStartError(reason: reason, message: error.message)
        }
    }

    /// The container's overlay root: image layers under its own upper dir, which survives
    /// restarts; a different image starts from a clean upper dir.
    private func prepareRootfs(_ name: String, image: LocalImage, entry: inout ContainerRecord) throws -> String {
        let base = "\(podDirectory)/containers/\(name)"
        let rootfs = "\(base)/rootfs"
        let imageID = image.manifestDigest.description
        if entry.imageID != imageID {
            OverlayMount.unmount(rootfs)
            try? FileManager.default.removeItem(atPath: "\(base)/upper")
            try? FileManager.default.removeItem(atPath: "\(base)/work")
            entry.imageID = imageID
            entry.image = image.reference
        }
        if !OverlayMount.isMounted(rootfs) {
            let lower: [String]
            do { lower = try context.imageStore.layers.lowerDirectories(for: image) } catch {
                throw ContainerStartError(reason: "ErrImagePull", message: error.message)
            }
            try OverlayMount.mount(lower: lower, upper: "\(base)/upper", work: "\(base)/work", target: rootfs)
        }
        return rootfs
    }

    func recordExit(_ entry: inout ContainerRecord, exit: ContainerExit, container: Container) {
        let reason = exit.oomKilled ? "OOMKilled" : (exit.code == 0 ? "Completed" : "Error")
        entry.lastTermination = .init(exitCode: exit.code, reason: reason, startedAt: entry.startedAt, finishedAt: exit.finishedAt,
                                      message: terminationMessage(container))
        if let started = entry.startedAt, exit.finishedAt.timeIntervalSince(started) > 600 { entry.backoffSeconds = 0 }
        entry.startedAt = nil
    }

    /// Exponential back-off between restarts: 10 s doubling to 5 min, as the kubelet does.
    func scheduleBackoff(_ name: String) {
        var entry = containerRecord(name)
        entry.backoffSeconds = entry.backoffSeconds == 0 ? 10 : min(300, entry.backoffSeconds * 2)
        entry.nextAttempt = Date().addingTimeInterval(entry.backoffSeconds)
        record.containers[name] = entry
    }

    func containerRecord(_ name: String) -> ContainerRecord {
        if let entry = record.containers[name] { return entry }
        let digest = SHA256.hash(data: Data("\(uid)/\(name)".utf8))
        let id = digest.prefix(12).map { String(format: "%02x", $0) }.joined()
        return ContainerRecord(name: name, id: id)
    }

    func bundle(_ name: String) -> String { "\(podDirectory)/containers/\(name)/bundle" }

    var gracePeriod: Int64 { pod.metadata.deletionGracePeriodSeconds ?? pod.spec?.terminationGracePeriodSeconds ?? 30 }

    private func terminationMessage(_ container: Container) -> String? {
        let path = "\(podDirectory)/containers/\(container.name)/upper\(container.terminationMessagePath ?? "/dev/termination-log")"
        guard let text = try? String(contentsOfFile: path, encoding: .utf8), !text.isEmpty else { return nil }
        return String(text.prefix(4096))
    }

    /// Identity of what a running container was built from: a change restarts it in place.
    static func fingerprint(_ container: Container) -> String {
        var relevant = container
        relevant.livenessProbe = nil
        relevant.readinessProbe = nil
        relevant.startupProbe = nil
        relevant.resources = nil
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys  // dictionary order must not change the identity
        let bytes = (try? encoder.encode(relevant)) ?? Data()
        return SHA256.hash(data: bytes).prefix(8).map { String(format: "%02x", $0) }.joined()
    }

    private func registryCredentials() async -> [RegistryCredential] {
        var credentials: [RegistryCredential] = []
        // The cluster registry: the pod pulls with its ServiceAccount's rights (a short token
        // bound to the pod), no imagePullSecrets needed.
        if let host = context.configuration.clusterRegistryHost,
           (pod.spec?.containers ?? []).contains(where: { (try? ImageReference(parsing: $0.image ?? ""))?.registry == host })
            || (pod.spec?.initContainers ?? []).contains(where: { (try? ImageReference(parsing: $0.image ?? ""))?.registry == host }) {
            let projection = ServiceAccountTokenProjection(expirationSeconds: 600, path: "token")
            if let token = try? await context.volumes.serviceAccountToken(projection, pod: pod) {
                credentials.append(RegistryCredential(registry: host, username: "serviceaccount", password: token))
            }
        }
        for reference in pod.spec?.imagePullSecrets ?? [] {
            guard let name = reference.name,
                  let secret = try? await context.api.getIfPresent(Secret.self, "/api/v1/namespaces/\(record.namespace)/secrets/\(name)"),
                  let encoded = secret.data?[".dockerconfigjson"], let data = Data(base64Encoded: encoded),
                  let config = try? JSONParser.parse(Array(data)), let auths = config["auths"]?.objectValue else { continue }
            for (registry, entry) in auths {
                var username = entry["username"]?.stringValue ?? ""
                var password = entry["password"]?.stringValue ?? ""
                if let auth = entry["auth"]?.stringValue, let decoded = Data(base64Encoded: auth) {
                    let parts = String(decoding: decoded, as: UTF8.self).split(separator: ":", maxSplits: 1).map(String.init)
                    if parts.count == 2 { username = parts[0]; password = parts[1] }
                }
                let host = registry.replacingOccurrences(of: "https://", with: "").replacingOccurrences(of: "http://", with: "")
                    .split(separator: "/").first.map(String.init) ?? registry
                credentials.append(RegistryCredential(registry: host, username: username, password: password))
            }
        }
        return credentials
    }
}

struct ContainerStartError: Error {
    var reason: String
    var message: String
}
