import BerthCore
import BerthRuntime
import Dispatch
import Foundation
import Glibc

/// Liveness, readiness and startup probes: exec (inside the container), HTTP GET and TCP
/// connect (to the pod's IP from the host, over the node bridge).
struct ProbeRunner: Sendable {
    let runtime: ConmonDriver

    func run(_ probe: Probe, containerID: String, podIP: String, container: Container) async -> Bool {
        let timeout = max(1, Int(probe.timeoutSeconds ?? 1))
        if let exec = probe.exec, let command = exec.command, !command.isEmpty {
            let result = try? await Subprocess.run("/usr/bin/timeout", ["--kill-after=1", String(timeout), runtime.runc, "--root", runtime.runcRoot, "exec", containerID] + command)
            return result?.succeeded ?? false
        }
        if let http = probe.httpGet {
            guard let port = Self.port(http.port, container: container) else { return false }
            return await Self.httpGet(host: http.host ?? podIP, port: port, path: http.path ?? "/", headers: http.httpHeaders ?? [], timeout: timeout)
        }
        if let tcp = probe.tcpSocket {
            guard let port = Self.port(tcp.port, container: container) else { return false }
            return await BlockingThreads.shared.value { Self.connect(host: tcp.host ?? podIP, port: port, timeout: timeout).map { close($0); return true } ?? false }
        }
        return false
    }

    static func port(_ value: IntOrString, container: Container) -> Int? {
        switch value {
        case .int(let number): return number
        case .string(let name): return (container.ports ?? []).first { $0.name == name }.map { Int($0.containerPort) } ?? Int(name)
        }
    }

    /// Success is a status from 200 to 399, as Kubernetes counts it.
    static func httpGet(host: String, port: Int, path: String, headers: [HTTPHeader], timeout: Int) async -> Bool {
        await BlockingThreads.shared.value {
            guard let fd = connect(host: host, port: port, timeout: timeout) else { return false }
            defer { close(fd) }
            var request = "GET \(path.hasPrefix("/") ? path : "/" + path) HTTP/1.0\r\nHost: \(host):\(port)\r\nUser-Agent: berth-probe/1.0\r\n"
            for header in headers { request += "\(header.name): \(header.value)\r\n" }
            request += "\r\n"
            guard request.utf8CString.withUnsafeBytes({ send(fd, $0.baseAddress, $0.count - 1, Int32(MSG_NOSIGNAL)) }) > 0 else { return false }
            var buffer = [UInt8](repeating: 0, count: 64)
            let count = recv(fd, &buffer, buffer.count, 0)
            guard count >= 12 else { return false }
            let line = String(decoding: buffer[0..<count], as: UTF8.self)
            let fields = line.split(separator: " ")
            guard fields.count >= 2, let status = Int(fields[1]) else { return false }
            return (200..<400).contains(status)
        }
    }

    /// A connected TCP socket with send/receive timeouts, or nil.
    static func connect(host: String, port: Int, timeout: Int) -> Int32? {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        guard inet_pton(AF_INET, host, &address.sin_addr) == 1 else { return nil }
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return nil }
        var interval = timeval(tv_sec: timeout, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &interval, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &interval, socklen_t(MemoryLayout<timeval>.size))
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard result == 0 else { close(fd); return nil }
        return fd
    }

}

/// Counters of one probe of one container, kept in memory (a restarted agent starts them anew,
/// as the kubelet does).
struct ProbeState: Sendable {
    var nextRun = Date.distantPast
    var successes = 0
    var failures = 0
    /// nil until the first result settles it.
    var passing: Bool?
}
