import BerthCore
import BerthNetwork
import Foundation
import Glibc
import Logging
import Synchronization

/// The cluster resolver for this node's pods, on the pod bridge's address port 53 (the pods'
/// `resolv.conf` names it): `SERVICE.NAMESPACE.svc.cluster.local` from the service catalog,
/// `A-B-C-D.NAMESPACE.pod.cluster.local`, NXDOMAIN for other cluster names, and anything else
/// relayed to the host's own resolvers. UDP, one blocking thread: answers come from memory.
final class ClusterDNS: Sendable {
    let catalog: ServiceCatalog
    let logger: Logger
    private let socket = Mutex<Int32>(-1)

    init(catalog: ServiceCatalog, logger: Logger) {
        self.catalog = catalog
        self.logger = logger
    }

    /// Binds `address`:53 (IP_FREEBIND: the bridge gets its address with the first pod) and
    /// serves until `stop`.
    func start(address: UInt32, port: UInt16 = 53) throws(BerthError) {
        let fd = Glibc.socket(AF_INET, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw BerthError(.internalError, "failed to create the DNS socket: \(String(cString: strerror(errno)))") }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        setsockopt(fd, Int32(IPPROTO_IP), 15 /* IP_FREEBIND */, &one, socklen_t(MemoryLayout<Int32>.size))
        var local = sockaddr_in()
        local.sin_family = sa_family_t(AF_INET)
        local.sin_port = port.bigEndian
        local.sin_addr.s_addr = address.bigEndian
        let bound = withUnsafePointer(to: &local) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        guard bound == 0 else {
            let reason = String(cString: strerror(errno))
            close(fd)
            throw BerthError(.internalError, "failed to bind the cluster DNS to \(IPv4Network.format(address)):\(port): \(reason)")
        }
        socket.withLock { $0 = fd }
        let thread = Thread { [self] in serve(fd) }
        thread.name = "berth-dns"
        thread.start()
        logger.info("cluster DNS listening", metadata: ["address": "\(IPv4Network.format(address)):\(port)"])
    }

    func stop() {
        let fd = socket.withLock { value -> Int32 in
            defer { value = -1 }
            return value
        }
        if fd >= 0 {
            shutdown(fd, Int32(SHUT_RDWR))
            close(fd)
        }
    }

    private func serve(_ fd: Int32) {
        var buffer = [UInt8](repeating: 0, count: 1500)
        while true {
            var peer = sockaddr_in()
            var length = socklen_t(MemoryLayout<sockaddr_in>.size)
            let received = withUnsafeMutablePointer(to: &peer) { pointer in
                pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { recvfrom(fd, &buffer, buffer.count, 0, $0, &length) }
            }
            if received < 0 {
                if errno == EINTR { continue }
                return  // closed by stop()
            }
            guard let query = DNSQuery(Array(buffer[0..<received])) else { continue }
            let reply: [UInt8]
            if let answer = answer(query) {
                reply = answer
            } else {
                let request = Array(buffer[0..<received])
                let (client, catalogLogger) = (peer, logger)
                DispatchQueue.global().async {
                    let relayed = Self.relay(request) ?? query.answer(.serverFailure)
                    Self.send(fd, relayed, to: client, logger: catalogLogger)
                }
                continue
            }
            Self.send(fd, reply, to: peer, logger: logger)
        }
    }

    /// The answer from cluster state; nil for names outside the cluster domain.
    func answer(_ query: DNSQuery) -> [UInt8]? {
        guard query.qclass == 1 else { return query.answer(.notImplemented) }
        switch ClusterName(query.name) {
        case .external:
            return nil
        case .unknown:
            return query.answer(.nameError)
        case .pod(let address):
            return query.type == DNSQuery.typeA ? query.answer(.noError, addresses: [address]) : query.answer(.noError)
        case .service(let name, let namespace):
            guard let addresses = catalog.addresses(service: name, namespace: namespace) else { return query.answer(.nameError) }
            // The name exists: other types get an empty answer, not an error.
            return query.type == DNSQuery.typeA ? query.answer(.noError, addresses: addresses) : query.answer(.noError)
        }
    }

    private static func send(_ fd: Int32, _ bytes: [UInt8], to peer: sockaddr_in, logger: Logger) {
        var peer = peer
        _ = withUnsafePointer(to: &peer) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { sendto(fd, bytes, bytes.count, 0, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
    }

    /// The host's resolvers (from its /etc/resolv.conf), asked in turn, 2 s each.
    static func relay(_ request: [UInt8]) -> [UInt8]? {
        let text = (try? String(contentsOfFile: "/etc/resolv.conf", encoding: .utf8)) ?? ""
        let servers = text.split(separator: "\n").filter { $0.hasPrefix("nameserver") }.compactMap { $0.split(separator: " ").last.flatMap { IPv4.parse(String($0)) } }
        for server in servers {
            let fd = Glibc.socket(AF_INET, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
            guard fd >= 0 else { continue }
            defer { close(fd) }
            var timeout = timeval(tv_sec: 2, tv_usec: 0)
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
            var remote = sockaddr_in()
            remote.sin_family = sa_family_t(AF_INET)
            remote.sin_port = UInt16(53).bigEndian
            remote.sin_addr.s_addr = server.bigEndian
            let sent = withUnsafePointer(to: &remote) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { sendto(fd, request, request.count, 0, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
            guard sent == request.count else { continue }
            var buffer = [UInt8](repeating: 0, count: 4096)
            let received = recv(fd, &buffer, buffer.count, 0)
            if received >= 12 { return Array(buffer[0..<received]) }
        }
        return nil
    }
}
