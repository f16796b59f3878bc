import BerthClient
import BerthCore
import Foundation
import Synchronization

extension SimulatedNodes {
    /// Watches all pods and answers for those bound to a simulated node: Running and Ready as
    /// soon as they are bound, gone as soon as they are deleted.
    func runPods() async {
        let (work, feed) = AsyncStream<JSONValue>.makeStream(bufferingPolicy: .unbounded)
        let addresses = AddressBook()
        await withDiscardingTaskGroup { group in
            for _ in 0..<concurrency {
                group.addTask {
                    for await pod in work { await answer(pod, addresses: addresses) }
                }
            }
            group.addTask {
                await watchPods(feed)
                feed.finish()
            }
        }
    }

    private func watchPods(_ feed: AsyncStream<JSONValue>.Continuation) async {
        let owned = prefix + "-"
        func relevant(_ pod: JSONValue) -> Bool {
            guard pod.value(at: ["spec", "nodeName"])?.stringValue?.hasPrefix(owned) == true else { return false }
            if pod.value(at: ["metadata", "deletionTimestamp"]) != nil { return true }
            return pod.value(at: ["status", "phase"])?.stringValue != "Running"
        }
        let ownedNode = Array("\"nodeName\":\"\(owned)".utf8)
        let running = Array("\"phase\":\"Running\"".utf8)
        let deleting = Array("\"deletionTimestamp\"".utf8)
        let error = Array("\"type\":\"ERROR\"".utf8)
        func mayBeRelevant(_ line: [UInt8]) -> Bool {
            if ByteSearch.contains(line, error) { return true }
            guard ByteSearch.contains(line, ownedNode) else { return false }
            return !ByteSearch.contains(line, running) || ByteSearch.contains(line, deleting)
        }
        while !Task.isCancelled {
            do {
                let reply = try await client.request(.GET, "/api/v1/pods", timeout: .seconds(300)).checked()
                let list = try JSONParser.parse(reply.body)
                for item in list["items"]?.arrayValue ?? [] {
                    if relevant(item) {
                        feed.yield(item)
                    } else if item.value(at: ["spec", "nodeName"])?.stringValue?.hasPrefix(owned) == true {
                        remember(item, started: Date())  // running since before this simulator started
                    }
                }
                let revision = list["metadata"]?["resourceVersion"]?.stringValue ?? "0"
                for try await line in try await client.watchLines("/api/v1/pods?watch=true&allowWatchBookmarks=true&resourceVersion=\(revision)") {
                    // Two events in three are not for us (a pod created, not yet bound; our own
                    // Running): their bytes say so, and they are not parsed.
                    guard mayBeRelevant(line) else { continue }
                    let event = try JSONParser.parse(line)
                    guard let type = event["type"]?.stringValue, let object = event["object"] else { continue }
                    if type == "ERROR" { throw BerthError(.gone, "watch expired") }
                    if type == "ADDED" || type == "MODIFIED", relevant(object) { feed.yield(object) }
                }
            } catch {
                if Task.isCancelled { return }
                logger.debug("simulated pod watch ended, re-listing", metadata: ["error": "\(error)"])
                try? await Task.sleep(for: .milliseconds(500))
            }
        }
    }

    private func answer(_ pod: JSONValue, addresses: AddressBook) async {
        guard let namespace = pod.value(at: ["metadata", "namespace"])?.stringValue, let name = pod.value(at: ["metadata", "name"])?.stringValue,
              let node = pod.value(at: ["spec", "nodeName"])?.stringValue else { return }
        let uid = pod.value(at: ["metadata", "uid"])?.stringValue ?? ""
        let path = "/api/v1/namespaces/\(namespace)/pods/\(name)"
        do {
            if pod.value(at: ["metadata", "deletionTimestamp"]) != nil {
                let options: JSONValue = ["apiVersion": "v1", "kind": "DeleteOptions", "gracePeriodSeconds": 0, "preconditions": ["uid": .string(uid)]]
                let reply = try await client.request(.DELETE, path, body: JSONWriter.bytes(options))
                if reply.status != 404 && reply.status != 409 { _ = try reply.checked() }
                addresses.release(uid)
                pods.remove(uid: uid)
                return
            }
            let index = Int(node.dropFirst(prefix.count + 1)) ?? 0
            let stamp = JSONValue.string(TableCells.formatTimestamp(Date()))
            let podIP = JSONValue.string(podAddress(index, addresses.take(uid, node: index)))
            let hostIP = JSONValue.string(podAddress(index, 1))
            var statuses: [JSONValue] = []
            for container in pod.value(at: ["spec", "containers"])?.arrayValue ?? [] {
                statuses.append([
                    "name": container["name"] ?? "", "image": container["image"] ?? "", "imageID": "", "ready": true, "started": true, "restartCount": 0,
                    "containerID": .string("sim://\(uid)/\(container["name"]?.stringValue ?? "")"), "state": ["running": ["startedAt": stamp]],
                ])
            }
            let conditions: JSONValue = .array(["PodScheduled", "Initialized", "ContainersReady", "Ready"].map {
                ["type": .string($0), "status": "True", "lastTransitionTime": stamp]
            })
            let status: JSONValue = ["status": [
                "phase": "Running", "hostIP": hostIP, "hostIPs": [["ip": hostIP]], "podIP": podIP, "podIPs": [["ip": podIP]],
                "startTime": stamp, "conditions": conditions, "containerStatuses": .array(statuses),
            ]]
            let reply = try await client.request(.PATCH, path + "/status", body: JSONWriter.bytes(status), contentType: "application/merge-patch+json")
            if reply.status != 404 {
                _ = try reply.checked()
                remember(pod, started: Date())
            }
        } catch {
            logger.warning("simulated pod update failed", metadata: ["pod": "\(namespace)/\(name)", "error": "\(error)"])
        }
    }
}

extension SimulatedNodes {
    /// Counts a pod as running on its node, for the node's stats and metrics.
    func remember(_ pod: JSONValue, started: Date) {
        guard let namespace = pod.value(at: ["metadata", "namespace"])?.stringValue, let name = pod.value(at: ["metadata", "name"])?.stringValue,
              let uid = pod.value(at: ["metadata", "uid"])?.stringValue, let node = pod.value(at: ["spec", "nodeName"])?.stringValue else { return }
        let containers = (pod.value(at: ["spec", "containers"])?.arrayValue ?? []).compactMap { $0["name"]?.stringValue }
        pods.add(node: node, SimulatedPod(namespace: namespace, name: name, uid: uid, containers: containers, started: started))
    }
}

/// Fake pod addresses per simulated node: .2 to .254 of its /24, reused after deletion.
final class AddressBook: Sendable {
    private let state = Mutex<(byPod: [String: Int], next: [Int: Int])>(([:], [:]))

    func take(_ uid: String, node: Int) -> Int {
        state.withLock { state in
            if let existing = state.byPod[uid] { return existing }
            let host = (state.next[node] ?? 0) % 253 + 2
            state.next[node] = (state.next[node] ?? 0) + 1
            state.byPod[uid] = host
            return host
        }
    }

    func release(_ uid: String) { state.withLock { _ = $0.byPod.removeValue(forKey: uid) } }
}
