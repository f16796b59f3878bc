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
            let descriptors = try Self.resolveKinds(kind, client, options)
            if descriptors.count > 1 && watch { throw BerthError(.badRequest, "you may only specify a single resource type with --watch") }
            var query: [String] = []
            if let selector { query.append("labelSelector=" + Self.escape(selector)) }
            if let fieldSelector { query.append("fieldSelector=" + Self.escape(fieldSelector)) }
            let suffix = query.isEmpty ? "" : "?" + query.joined(separator: "&")
            let scope: String? = allNamespaces ? nil : options.effectiveNamespace(client)
            func namespace(_ descriptor: ResourceDescriptor) -> String? { descriptor.namespaced ? scope : nil }
            switch output {
            case "yaml", "json", "name":
                var objects: [(ResourceDescriptor, JSONValue)] = []
                for descriptor in descriptors { objects += try await fetchObjects(client, descriptor, namespace(descriptor), suffix).map { (descriptor, $0) } }
                printObjects(objects, single: descriptors.count == 1 && names.count == 1)
            default:
                var printed = false
                for descriptor in descriptors {
                    let shown = try await printTables(client, descriptor, namespace(descriptor), suffix, prefixNames: descriptors.count > 1, separated: printed)
                    printed = printed || shown
                }
                if !printed && !watch {
                    printError(scope.map { "No resources found in \($0) namespace." } ?? "No resources found")
                }
            }
        }
    }

    /// `pods`, `svc,cm`, `all` (kubectl's `all` category, in kubectl's order).
    static func resolveKinds(_ argument: String, _ client: APIClient, _ options: ClientOptions) throws -> [ResourceDescriptor] {
        var descriptors: [ResourceDescriptor] = []
        for part in argument.split(separator: ",").map(String.init) {
            let expanded = part == "all" ? allCategory(client.registry) : [try options.resolve(client, part)]
            for descriptor in expanded where !descriptors.contains(where: { $0.qualifiedResource == descriptor.qualifiedResource }) {
                descriptors.append(descriptor)
            }
        }
        guard !descriptors.isEmpty else { throw BerthError(.badRequest, "you must specify the type of resource to get") }
        return descriptors
    }

    static func allCategory(_ registry: ResourceRegistry) -> [ResourceDescriptor] {
        let order = ["pods", "services", "daemonsets", "deployments", "replicasets", "statefulsets", "cronjobs", "jobs"]
        return registry.descriptors.filter { $0.categories.contains("all") }
            .sorted { (order.firstIndex(of: $0.plural) ?? order.count) < (order.firstIndex(of: $1.plural) ?? order.count) }
    }

    static func escape(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "-._~"))) ?? text
    }

    func fetchObjects(_ client: APIClient, _ descriptor: ResourceDescriptor, _ namespace: String?, _ suffix: String) async throws -> [JSONValue] {
        guard names.isEmpty else {
            var objects: [JSONValue] = []
            for name in names {
                objects.append(try await client.request(.GET, client.path(descriptor, namespace: namespace, name: name)).checked().json())
            }
            return objects
        }
        let list = try await client.request(.GET, client.path(descriptor, namespace: namespace) + suffix).checked().json()
        return (list["items"]?.arrayValue ?? []).map { item in
            var item = item
            item["apiVersion"] = .string(descriptor.apiVersion)
            item["kind"] = .string(descriptor.kind)
            return item
        }
    }

    func printObjects(_ objects: [(descriptor: ResourceDescriptor, object: JSONValue)], single: Bool) {
        switch output {
        case "name":
            for (descriptor, object) in objects { print("\(descriptor.printedType)/\(object.value(at: ["metadata", "name"])?.stringValue ?? "")") }
        default:
            let value: JSONValue = single && objects.count == 1
                ? objects[0].object
                : ["apiVersion": "v1", "kind": "List", "items": .array(objects.map(\.object)), "metadata": ["resourceVersion": ""]]
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

    /// Prints one kind's table; whether it had any rows. With several kinds (`svc,cm`, `all`)
    /// names are printed as TYPE/NAME and kinds without objects are left out, as kubectl does.
    @discardableResult
    func printTables(_ client: APIClient, _ descriptor: ResourceDescriptor, _ namespace: String?, _ suffix: String,
                     prefixNames: Bool = false, separated: Bool = false) async throws -> Bool {
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
        if lines.count <= 1 && !watch { return false }
        if prefixNames {
            let nameColumn = printer.withNamespace ? 1 : 0
            for index in lines.indices.dropFirst() where nameColumn < lines[index].count {
                lines[index][nameColumn] = "\(descriptor.printedType)/\(lines[index][nameColumn])"
            }
        }
        if separated { print("") }
        let widths = TablePrinter.widths(lines)
        if lines.count > 1 || !watch { print(printer.render(lines, widths: widths)) }
        guard watch else { return lines.count > 1 }
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
        return true
    }
}

/// Flushes buffered stdout so watch output appears as events arrive.
func flushStandardOutput() {
    fflush(nil)
}
