import ArgumentParser
import BerthClient
import BerthCore
import Foundation

/// `berth describe KIND NAME`: the object in readable sections, then its events.
struct DescribeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "describe", abstract: "Show details of an object and its events.")

    @OptionGroup var options: ClientOptions

    @Argument var kind: String
    @Argument var names: [String]

    func run() async throws {
        try await reportingErrors {
            let client = try options.client()
            defer { Task { await client.shutdown() } }
            let descriptor = try options.resolve(client, kind)
            let namespace = descriptor.namespaced ? options.effectiveNamespace(client) : nil
            for (index, name) in names.enumerated() {
                if index > 0 { print("\n") }
                let object = try await client.request(.GET, client.path(descriptor, namespace: namespace, name: name)).checked().json()
                print(try await describe(object, descriptor, client))
            }
        }
    }

    func describe(_ object: JSONValue, _ descriptor: ResourceDescriptor, _ client: APIClient) async throws -> String {
        var out = ""
        func line(_ label: String, _ value: String) { out += label.padding(toLength: 19, withPad: " ", startingAt: 0) + value + "\n" }
        func mapText(_ value: JSONValue?) -> [String] {
            let fields = value?.objectValue ?? [:]
            return fields.isEmpty ? ["<none>"] : fields.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value.stringValue ?? "")" }
        }
        let metadata = object["metadata"] ?? [:]
        line("Name:", metadata["name"]?.stringValue ?? "")
        if descriptor.namespaced { line("Namespace:", metadata["namespace"]?.stringValue ?? "") }
        let labels = mapText(metadata["labels"])
        line("Labels:", labels[0])
        for extra in labels.dropFirst() { line("", extra) }
        let annotations = mapText((metadata["annotations"]?.objectValue?.filter { $0.key != ApplyCommand.lastApplied }).map { .object($0) })
        line("Annotations:", annotations[0])
        for extra in annotations.dropFirst() { line("", extra) }
        line("CreationTimestamp:", metadata["creationTimestamp"]?.stringValue ?? "")
        if let deletion = metadata["deletionTimestamp"]?.stringValue { line("DeletionTimestamp:", deletion) }
        for section in ["spec", "data", "status"] {
            guard let value = object[section], !(value.objectValue?.isEmpty ?? false) else { continue }
            out += section.prefix(1).uppercased() + section.dropFirst() + ":\n"
            let body = section == "data" && descriptor.kind == "Secret"
                ? JSONValue.object((value.objectValue ?? [:]).mapValues { .string("\(Base64.decode($0.stringValue ?? "")?.count ?? 0) bytes") })
                : value
            for text in YAMLConversion.emit(body).split(separator: "\n") { out += "  " + text + "\n" }
        }
        let selector = "involvedObject.name=\(metadata["name"]?.stringValue ?? "")" + (descriptor.namespaced ? ",involvedObject.namespace=\(metadata["namespace"]?.stringValue ?? "")" : "")
        let events = try? await client.request(.GET, client.path(.event, namespace: metadata["namespace"]?.stringValue) + "?fieldSelector=" + GetCommand.escape(selector)).checked().json()
        let items = events?["items"]?.arrayValue ?? []
        if items.isEmpty {
            out += "Events:            <none>"
        } else {
            out += "Events:\n"
            var lines = [["Type", "Reason", "Age", "From", "Message"], ["----", "------", "----", "----", "-------"]]
            for event in items {
                let when = TableCells.parseTimestamp(event["lastTimestamp"]?.stringValue ?? event["eventTime"]?.stringValue)
                lines.append([event["type"]?.stringValue ?? "", event["reason"]?.stringValue ?? "",
                              when.map { TableCells.humanDuration(Date().timeIntervalSince($0)) } ?? "<unknown>",
                              event.value(at: ["source", "component"])?.stringValue ?? "", event["message"]?.stringValue ?? ""])
            }
            out += TablePrinter(wide: true, withNamespace: false).render(lines).split(separator: "\n").map { "  " + $0 }.joined(separator: "\n")
        }
        return out
    }
}
