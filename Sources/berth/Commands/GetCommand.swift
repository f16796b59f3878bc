import ArgumentParser
import BerthClient
import BerthCore
import Foundation

/// `berth get KIND [NAME…]`: tables from the server, or the objects as YAML/JSON/names.
struct GetCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "get", abstract: "Display one or many objects.")
    static let tableAccept = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"

    @OptionGroup var options: ClientOptions

    @Argument(help: "The kind (pods, deploy, svc …), then optional names.")
    var kind: String

    @Argument var names: [String] = []

    @Option(name: .shortAndLong, help: "wide, yaml, json or name.")
    var output: String?

    @Option(name: [.customShort("l"), .customLong("selector")], help: "Label selector, e.g. app=web,tier!=db.")
    var selector: String?

    @Option(name: .customLong("field-selector"), help: "Field selector, e.g. status.phase=Running.")
    var fieldSelector: String?

    @Flag(name: [.customShort("A"), .customLong("all-namespaces")], help: "List across all namespaces.")
    var allNamespaces = false

    @Flag(name: [.short, .long], help: "After listing, watch for changes.")
    var watch = false

    func validate() throws {
        if let output, !["wide", "yaml", "json", "name"].contains(output) {
            throw ValidationError("unable to match a printer suitable for the output format \"\(output)\", allowed formats are: json,name,wide,yaml")
        }
    }

    func run() async throws {
        try await reportingErrors {
            let client = try options.client()
            defer { Task { await client.shutdown() } }
            let descriptor = try options.resolve(client, kind)
            let namespace: String? = descriptor.namespaced && !allNamespaces ? options.effectiveNamespace(client) : nil
            var query: [String] = []
            if let selector { query.append("labelSelector=" + Self.escape(selector)) }
            if let fieldSelector { query.append("fieldSelector=" + Self.escape(fieldSelector)) }
            let suffix = query.isEmpty ? "" : "?" + query.joined(separator: "&")
            switch output {
            case "yaml", "json", "name":
                try await printObjects(client, descriptor, namespace, suffix)
            default:
                try await printTables(client, descriptor, namespace, suffix)
            }
        }
    }

    static func escape(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "-._~"))) ?? text
    }

    func printObjects(_ client: APIClient, _ descriptor: ResourceDescriptor, _ namespace: String?, _ suffix: String) async throws {
        var objects: [JSONValue] = []
        if names.isEmpty {
            let list = try await client.request(.GET, client.path(descriptor, namespace: namespace) + suffix).checked().json()
            objects = (list["items"]?.arrayValue ?? []).map { item in
                var item = item
                item["apiVersion"] = .string(descriptor.apiVersion)
                item["kind"] = .string(descriptor.kind)
                return item
            }
        } else {
            for name in names {
                objects.append(try await client.request(.GET, client.path(descriptor, namespace: namespace, name: name)).checked().json())
            }
        }
        switch output {
        case "name":
            for object in objects { print("\(descriptor.printedType)/\(object.value(at: ["metadata", "name"])?.stringValue ?? "")") }
        default:
            let value: JSONValue = objects.count == 1 && !names.isEmpty
                ? objects[0]
                : ["apiVersion": "v1", "kind": "List", "items": .array(objects), "metadata": ["resourceVersion": ""]]
            if output == "json" {
                print(Self.prettyJSON(value))
            } else {
                print(YAMLConversion.emit(value), terminator: "")
            }
        }
    }

    static func prettyJSON(_ value: JSONValue) -> String {
        guard let data = try? JSONSerialization.jsonObject(with: Data(JSONWriter.bytes(value))),
              let pretty = try? JSONSerialization.data(withJSONObject: data, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
        else { return JSONWriter.string(value) }
        return String(decoding: pretty, as: UTF8.self)
    }

    func printTables(_ client: APIClient, _ descriptor: ResourceDescriptor, _ namespace: String?, _ suffix: String) async throws {
        var printer = TablePrinter(wide: output == "wide", withNamespace: allNamespaces && descriptor.namespaced)
        var lines: [[String]] = []
        var columns: [(index: Int, name: String)] = []
        var revision = ""
        if names.isEmpty {
            let table = try await client.request(.GET, client.path(descriptor, namespace: namespace) + suffix, accept: Self.tableAccept).checked().json()
            columns = printer.columns(table)
            lines = printer.lines(table, columns: columns)
            revision = table.value(at: ["metadata", "resourceVersion"])?.stringValue ?? ""
        } else {
            for name in names {
                let table = try await client.request(.GET, client.path(descriptor, namespace: namespace, name: name), accept: Self.tableAccept).checked().json()
                columns = printer.columns(table)
                let rows = printer.lines(table, columns: columns)
                lines.append(contentsOf: lines.isEmpty ? rows : Array(rows.dropFirst()))
            }
        }
        if lines.count <= 1 && !watch {
            printError(namespace.map { "No resources found in \($0) namespace." } ?? "No resources found")
            return
        }
        let widths = TablePrinter.widths(lines)
        if lines.count > 1 || !watch { print(printer.render(lines, widths: widths)) }
        guard watch else { return }
        flushStandardOutput()
        printer.showHeaders = lines.count <= 1
        var query = suffix.isEmpty ? "?watch=true" : suffix + "&watch=true"
        if !revision.isEmpty { query += "&resourceVersion=\(revision)" }
        if names.count == 1 { query += "&fieldSelector=metadata.name%3D\(names[0])" }
        let events = try await client.watch(client.path(descriptor, namespace: namespace) + query, accept: Self.tableAccept)
        for try await event in events {
            guard let table = event["object"], table["kind"]?.stringValue == "Table" else { continue }
            let rows = printer.lines(table, columns: printer.columns(table))
            printer.showHeaders = false
            var padded = widths
            for (index, width) in TablePrinter.widths(rows).enumerated() where index < padded.count { padded[index] = max(padded[index], width) }
            print(printer.render(rows, widths: padded))
            flushStandardOutput()
        }
    }
}

/// Flushes buffered stdout so watch output appears as events arrive.
func flushStandardOutput() {
    fflush(nil)
}
