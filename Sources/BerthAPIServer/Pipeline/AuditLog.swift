import BerthCore
import Foundation
import Hummingbird
import Synchronization

/// The last step of every request: `audit.k8s.io/v1` Events as JSON lines, at the level and
/// stages the policy chooses (`AuditPolicy`; without one, every request at Metadata when the
/// response is complete) — refusals included. An event of a request in a tenant's namespace
/// carries the annotation `berth.dev/tenant` (`berth audit --tenant`). The file rotates past
/// `maximumBytes`, keeping `maximumBackups` old ones (`PATH.1` newest), as kube-apiserver's
/// `--audit-log-maxsize` and `--audit-log-maxbackup` do.
public final class AuditLog: Sendable {
    let path: String
    let maximumBytes: Int
    let maximumBackups: Int
    let policy: AuditPolicy
    private struct State {
        var descriptor: Int32
        var bytes: Int
    }
    private let state: Mutex<State>

    public init(path: String, maximumBytes: Int = 100 * 1024 * 1024, maximumBackups: Int = 10, policy: AuditPolicy = .metadataForAll) throws(BerthError) {
        self.path = path
        self.policy = policy
        self.maximumBytes = maximumBytes
        self.maximumBackups = maximumBackups
        let descriptor = try Self.open(path)
        var status = stat()
        fstat(descriptor, &status)
        state = Mutex(State(descriptor: descriptor, bytes: Int(status.st_size)))
    }

    deinit { state.withLock { _ = close($0.descriptor) } }

    static func open(_ path: String) throws(BerthError) -> Int32 {
        let descriptor = Foundation.open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw BerthError(.internalError, "cannot open the audit log \(path): \(String(cString: strerror(errno)))") }
        return descriptor
    }

    /// What one request's events share: who, what, and the level the policy chose.
    struct Entry {
        let auditID = ObjectUID.make()
        var level: AuditPolicy.Level
        var omitted: [String]
        var tenant: String?
    }

    func begin(_ attributes: RequestAttributes, tenant: String?) -> Entry? {
        let (level, omitted) = policy.decide(attributes)
        guard level != .none else { return nil }
        return Entry(level: level, omitted: omitted, tenant: tenant)
    }

    /// The RequestReceived stage (unless the policy omits it).
    func received(_ entry: Entry, _ attributes: RequestAttributes, request: Request, at time: Date) {
        guard !entry.omitted.contains("RequestReceived") else { return }
        var event = Self.event(entry, attributes, request: request, stage: "RequestReceived", received: time, stageTime: time)
        event["responseStatus"] = nil
        write(JSONWriter.bytes(event) + [UInt8(ascii: "\n")])
    }

    /// The ResponseComplete stage, with the bodies the level asks for.
    func completed(_ entry: Entry, _ attributes: RequestAttributes, request: Request, status: Int, received: Date, finished: Date,
                   capture: AuditCapture?) {
        guard !entry.omitted.contains("ResponseComplete") else { return }
        var event = Self.event(entry, attributes, request: request, stage: "ResponseComplete", received: received, stageTime: finished)
        event.set(.number(String(status)), at: ["responseStatus", "code"])
        if entry.level >= .request, let body = capture?.requestBody, let object = try? JSONParser.parse(body) { event["requestObject"] = object }
        if entry.level >= .requestResponse, let body = capture?.responseBody, let object = try? JSONParser.parse(body) { event["responseObject"] = object }
        for (key, value) in capture?.annotations ?? [:] { event.set(.string(value), at: ["annotations", key]) }
        write(JSONWriter.bytes(event) + [UInt8(ascii: "\n")])
    }

    /// Records a request at its end, as the pipeline's last step (both stages, as the policy says).
    func record(_ attributes: RequestAttributes, request: Request, status: Int, received: Date, finished: Date, tenant: String? = nil) {
        guard let entry = begin(attributes, tenant: tenant) else { return }
        completed(entry, attributes, request: request, status: status, received: received, finished: finished, capture: nil)
    }

    static func event(_ entry: Entry, _ attributes: RequestAttributes, request: Request, stage: String, received: Date, stageTime: Date) -> JSONValue {
        var event: JSONValue = [
            "kind": "Event", "apiVersion": "audit.k8s.io/v1", "level": .string(entry.level.rawValue), "auditID": .string(entry.auditID),
            "stage": .string(stage), "requestURI": .string(request.uri.description), "verb": .string(attributes.verb),
            "user": ["username": .string(attributes.user.name), "groups": .array(attributes.user.groups.map { .string($0) })],
            "userAgent": .string(request.headers[.userAgent] ?? ""),
            "responseStatus": ["metadata": [:]],
            "requestReceivedTimestamp": .string(Self.microTime(received)), "stageTimestamp": .string(Self.microTime(stageTime)),
        ]
        if let target = attributes.target {
            var reference: JSONValue = ["resource": .string(target.descriptor.plural), "apiVersion": .string(target.descriptor.version)]
            if !target.descriptor.group.isEmpty { reference["apiGroup"] = .string(target.descriptor.group) }
            if let namespace = target.namespace { reference["namespace"] = .string(namespace) }
            if let name = target.name { reference["name"] = .string(name) }
            if let subresource = target.subresource { reference["subresource"] = .string(subresource) }
            event["objectRef"] = reference
        }
        if let tenant = entry.tenant { event["annotations"] = [.init(stringLiteral: Tenant.label): .string(tenant)] }
        return event
    }

    private func write(_ line: [UInt8]) {
        state.withLock { state in
            if state.bytes + line.count > maximumBytes, state.bytes > 0 { rotate(&state) }
            let written = line.withUnsafeBytes { Foundation.write(state.descriptor, $0.baseAddress, $0.count) }
            if written > 0 { state.bytes += written }
        }
    }

    /// `PATH` → `PATH.1` → … → `PATH.N`; the oldest goes.
    private func rotate(_ state: inout State) {
        close(state.descriptor)
        if maximumBackups > 0 {
            unlink("\(path).\(maximumBackups)")
            for index in stride(from: maximumBackups - 1, through: 1, by: -1) { rename("\(path).\(index)", "\(path).\(index + 1)") }
            rename(path, "\(path).1")
        } else {
            unlink(path)
        }
        state.descriptor = (try? Self.open(path)) ?? -1
        state.bytes = 0
    }

    static func microTime(_ date: Date) -> String {
        let seconds = date.timeIntervalSince1970
        let whole = Date(timeIntervalSince1970: seconds.rounded(.down))
        let micro = Int((seconds - seconds.rounded(.down)) * 1_000_000)
        let base = TableCells.formatTimestamp(whole)
        return base.dropLast() + "." + String(format: "%06d", micro) + "Z"
    }
}

/// The bodies of the request being handled, kept for the audit log when its policy records
/// them (a task-local box: the body reader and the response builder fill it).
final class AuditCapture: @unchecked Sendable {
    /// Whether bodies are kept (only when a policy rule records them).
    let keepsBodies: Bool
    var requestBody: [UInt8]?
    var responseBody: [UInt8]?
    /// Annotations admission adds to the request's event (Pod Security's audit level).
    var annotations: [String: String] = [:]

    init(keepsBodies: Bool) { self.keepsBodies = keepsBodies }

    @TaskLocal static var current: AuditCapture?
}
