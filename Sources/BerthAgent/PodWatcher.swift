import BerthClient
import BerthCore
import Foundation
import Logging

/// Lists and watches the pods bound to this node (`spec.nodeName`), feeding the pod manager;
/// re-lists whenever the watch ends or its revision is compacted.
struct PodWatcher: Sendable {
    let configuration: AgentConfiguration
    let client: APIClient
    let manager: PodManager
    let logger: Logger

    func run() async {
        let selector = "spec.nodeName%3D\(configuration.nodeName)"
        while !Task.isCancelled {
            do {
                let reply = try await client.request(.GET, "/api/v1/pods?fieldSelector=\(selector)").checked()
                let list = try JSONParser.parse(reply.body)
                var existing = Set<String>()
                for item in list["items"]?.arrayValue ?? [] {
                    let pod = try item.decode(Pod.self)
                    if let uid = pod.metadata.uid { existing.insert(uid) }
                    await manager.apply(pod)
                }
                await manager.reconcile(existing: existing)
                let revision = list["metadata"]?["resourceVersion"]?.stringValue ?? "0"
                let events = try await client.watch("/api/v1/pods?watch=true&allowWatchBookmarks=true&fieldSelector=\(selector)&resourceVersion=\(revision)")
                for try await event in events {
                    guard let type = event["type"]?.stringValue, let object = event["object"] else { continue }
                    logger.debug("pod event", metadata: ["uptime_ms": "\(PodWorker.uptimeMilliseconds)", "type": "\(type)", "pod": "\(object["metadata"]?["name"]?.stringValue ?? "")"])
                    switch type {
                    case "ADDED", "MODIFIED":
                        await manager.apply(try object.decode(Pod.self))
                    case "DELETED":
                        if let uid = object["metadata"]?["uid"]?.stringValue { await manager.remove(uid: uid) }
                    case "ERROR":
                        throw BerthError(.gone, object["message"]?.stringValue ?? "watch error")
                    default:
                        continue
                    }
                }
            } catch {
                if Task.isCancelled { return }
                logger.warning("pod watch ended, re-listing", metadata: ["error": "\(error)"])
                try? await Task.sleep(for: .seconds(1))
            }
        }
    }
}
