import BerthCore
import Foundation
import Hummingbird
import Synchronization

/// The last step of every request: one `audit.k8s.io/v1` Event per request, as a JSON line,
/// at stage `ResponseComplete` and level `Metadata` (who, what, on which object, the answer's
/// code, when) — refusals included. The file rotates past `maximumBytes`, keeping
/// `maximumBackups` old ones (`PATH.1` newest), as kube-apiserver's `--audit-log-maxsize` and
/// `--audit-log-maxbackup` do. (An audit policy choosing levels per request is planned.)
public final class AuditLog: Sendable {
    let path: String
    let maximumBytes: Int
    let maximumBackups: Int
    private struct State {
        var descriptor: Int32
        var bytes: Int
    }
    private let state: Mutex<State>

    public init(path: String, maximumBytes: Int = 100 * 1024 * 1024, maximumBackups: Int = 10) throws(BerthError) {
        self.path = path
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

    func record(_ attributes: RequestAttributes, request: Request, status: Int, received: Date, finished: Date) {
        var event: JSONValue = [
            "kind": "Event", "apiVersion": "audit.k8s.io/v1", "level": "Metadata", "auditID": .string(ObjectUID.make()),
            "stage": "ResponseComplete", "requestURI": .string(request.uri.description), "verb": .string(attributes.verb),
            "user": ["username": .string(attributes.user.name), "groups": .array(attributes.user.groups.map { .string($0) })],
            "userAgent": .string(request.headers[.userAgent] ?? ""),
            "responseStatus": ["metadata": [:], "code": .number(String(status))],
            "requestReceivedTimestamp": .string(Self.microTime(received)), "stageTimestamp": .string(Self.microTime(finished)),
        ]
        if let target = attributes.target {
            var reference: JSONValue = ["resource": .string(target.descriptor.plural), "apiVersion": .string(target.descriptor.version)]
            if !target.descriptor.group.isEmpty { reference["apiGroup"] = .string(target.descriptor.group) }
            if let namespace = target.namespace { reference["namespace"] = .string(namespace) }
            if let name = target.name { reference["name"] = .string(name) }
            if let subresource = target.subresource { reference["subresource"] = .string(subresource) }
            event["objectRef"] = reference
        }
        write(JSONWriter.bytes(event) + [UInt8(ascii: "\n")])
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
