import ArgumentParser
import BerthClient
import BerthCore
import Foundation

/// `berth apply -f FILE|DIR|-`: creates what is missing and updates what exists, keeping the
/// last applied configuration in the same annotation kubectl uses, so fields removed from the
/// manifest are removed from the object (and the two tools can be mixed).
struct ApplyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "apply", abstract: "Create or update objects from manifests.")
    static let lastApplied = "kubectl.kubernetes.io/last-applied-configuration"

    @OptionGroup var options: ClientOptions

    @Option(name: [.short, .customLong("filename")], help: "A manifest file, a directory of manifests, or - for stdin.")
    var files: [String] = []

    func run() async throws {
        guard !files.isEmpty else { throw ValidationError("must specify one of -f or --filename") }
        try await reportingErrors {
            let client = try options.client()
            defer { Task { await client.shutdown() } }
            var failed = false
            for document in try readManifests(files) {
                do {
                    print(try await apply(document, client))
                } catch let error as BerthError {
                    printError("Error from server (\(error.code.rawValue)): \(error.message)")
                    failed = true
                }
            }
            if failed { throw ExitCode(1) }
        }
    }

    func apply(_ document: JSONValue, _ client: APIClient) async throws -> String {
        guard let apiVersion = document["apiVersion"]?.stringValue, let kind = document["kind"]?.stringValue else {
            throw BerthError(.badRequest, "error validating data: apiVersion and kind must be set")
        }
        guard let descriptor = client.registry.resource(apiVersion: apiVersion, kind: kind) else {
            throw BerthError(.notFound, "resource mapping not found for kind \"\(kind)\" in version \"\(apiVersion)\"")
        }
        guard let name = document.value(at: ["metadata", "name"])?.stringValue, !name.isEmpty else {
            throw BerthError(.badRequest, "error validating data: metadata.name must be set")
        }
        let namespace = descriptor.namespaced ? (document.value(at: ["metadata", "namespace"])?.stringValue ?? options.effectiveNamespace(client)) : nil
        var desired = document
        desired["status"] = nil
        if descriptor.namespaced { desired.set(.string(namespace!), at: ["metadata", "namespace"]) }
        var annotated = desired
        annotated.set(nil, at: ["metadata", "annotations", Self.lastApplied])
        annotated.set(.string(JSONWriter.string(annotated) + "\n"), at: ["metadata", "annotations", Self.lastApplied])
        let label = "\(descriptor.printedType)/\(name)"
        let existing = try await client.request(.GET, client.path(descriptor, namespace: namespace, name: name))
        if existing.status == 404 {
            let body = JSONWriter.bytes(annotated)
            _ = try await client.request(.POST, client.path(descriptor, namespace: namespace) + "?fieldValidation=Strict", body: body).checked()
            return "\(label) created"
        }
        let current = try existing.checked().json()
        let previous = current.value(at: ["metadata", "annotations", Self.lastApplied])?.stringValue.flatMap { try? JSONParser.parse($0) } ?? [:]
        let patch = Self.threeWayPatch(previous: previous, desired: annotated)
        let reply = try await client.request(.PATCH, client.path(descriptor, namespace: namespace, name: name) + "?fieldValidation=Strict",
                                             body: JSONWriter.bytes(patch), contentType: "application/merge-patch+json").checked()
        for warning in reply.warnings { printError("Warning: \(warning)") }
        // Unchanged when nothing the user manages moved: status, the resourceVersion and
        // annotations others own (a controller may write them between our read and our patch)
        // do not count.
        let mine = Set(annotated.value(at: ["metadata", "annotations"])?.objectValue?.keys.map { $0 } ?? [])
        let unchanged = Self.userView(try reply.json(), annotations: mine) == Self.userView(current, annotations: mine)
        return "\(label) \(unchanged ? "unchanged" : "configured")"
    }

    /// A merge patch that sets everything desired and removes what the previous apply set but
    /// the manifest no longer has.
    static func userView(_ object: JSONValue, annotations: Set<String>) -> JSONValue {
        var view = object
        view["status"] = nil
        view.set(nil, at: ["metadata", "resourceVersion"])
        view.set(nil, at: ["metadata", "managedFields"])
        let kept = (object.value(at: ["metadata", "annotations"])?.objectValue ?? [:]).filter { annotations.contains($0.key) }
        view.set(kept.isEmpty ? nil : .object(kept), at: ["metadata", "annotations"])
        return view
    }

    static func threeWayPatch(previous: JSONValue, desired: JSONValue) -> JSONValue {
        guard case .object(let wanted) = desired else { return desired }
        var patch = wanted
        for (key, old) in previous.objectValue ?? [:] {
            if let now = wanted[key] {
                if case .object = now, case .object = old { patch[key] = threeWayPatch(previous: old, desired: now) }
            } else {
                patch[key] = .null
            }
        }
        return .object(patch)
    }
}
