import BerthClient
import BerthCore
import Foundation
import Logging

/// List, then watch from the list's revision; on any end of the stream (410 Gone, timeout, a
/// dropped connection) list again. `onList` gets the whole set each time, `onEvent` each change.
struct ListWatch: Sendable {
    let client: APIClient
    let path: String
    let logger: Logger

    func run(onList: @Sendable ([JSONValue]) async -> Void, onEvent: @Sendable (String, JSONValue) async -> Void) async {
        let separator = path.contains("?") ? "&" : "?"
        while !Task.isCancelled {
            do {
                let list = try JSONParser.parse(try await client.request(.GET, path).checked().body)
                await onList(list["items"]?.arrayValue ?? [])
                let revision = list["metadata"]?["resourceVersion"]?.stringValue ?? "0"
                let events = try await client.watch("\(path)\(separator)watch=true&allowWatchBookmarks=true&resourceVersion=\(revision)")
                for try await event in events {
                    guard let type = event["type"]?.stringValue, let object = event["object"] else { continue }
                    if type == "ERROR" { throw BerthError(.gone, object["message"]?.stringValue ?? "watch error") }
                    if type == "BOOKMARK" { continue }
                    await onEvent(type, object)
                }
            } catch {
                if Task.isCancelled { return }
                logger.debug("watch ended, re-listing", metadata: ["path": "\(path)", "error": "\(error)"])
                try? await Task.sleep(for: .seconds(1))
            }
        }
    }
}
