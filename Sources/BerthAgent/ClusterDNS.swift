import BerthCore
import BerthNetwork
import Foundation
import Glibc
import Logging
import Synchronization

/// The cluster resolver for this node's pods, on the pod bridge's address port 53 (the pods'
/// `resolv.conf` names it): `SERVICE.NAMESPACE.svc.cluster.local` from the service catalog,
/// `A-B-C-D.NAMESPACE.pod.cluster.local`, NXDOMAIN for other cluster names, and anything else
/// relayed to the host's own resolvers; SRV records for named service ports
/// (`_http._tcp.web.default.svc.cluster.local`); PTR records for Service cluster IPs and the
/// addresses of pods behind Services. UDP on one blocking thread (answers come from
/// memory), TCP (RFC 1035 length-prefixed, as resolvers use for large answers) on another.
final class ClusterDNS: Sendable {
    let catalog: ServiceCatalog
    let logger: Logger
    private let socket = Mutex<Int32>(-1)
    private let listener = Mutex<Int32>(-1)

    init(catalog: ServiceCatalog, logger: Logger) {
        self.catalog = catalog
        self.logger = logger
    }

    /// Binds `address`:53 (IP_FREEBIND: the bridge gets its address with the first pod) and
    /// serves until `stop`.
    func start(address: UInt32, port: UInt16 = 53) throws(BerthError) {
        let fd = try Self.bound(address: address, port: port, type: Int32(SOCK_DGRAM.rawValue))
        socket.withLock { $0 = fd }
        let thread = Thread { [self] in serve(fd) }
        thread.name = "berth-dns"
        thread.start()
        do throws(BerthError) {
            let tcp = try Self.bound(address: address, port: port, type: Int32(SOCK_STREAM.rawValue))
            guard listen(tcp, 64) == 0 else {
                close(tcp)
                throw BerthError(.internalError, "failed to listen on TCP port \(port): \(String(cString: strerror(errno)))")
            }
            listener.withLock { $0 = tcp }
            let acceptor = Thread { [self] in serveTCP(tcp) }
            acceptor.name = "berth-dns-tcp"
            acceptor.start()
        } catch {
            logger.warning("cluster DNS serves UDP only", metadata: ["error": "\(error.message)"])
        }
        logger.info("cluster DNS listening", metadata: ["address": "\(IPv4Network.format(address)):\(port)"])
    }

    /// A socket of `type` bound to address:port, with IP_FREEBIND.
    static func bound(address: UInt32, port: UInt16, type: Int32) throws(BerthError) -> Int32 {
        let fd = Glibc.socket(AF_INET, type | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw BerthError(.internalError, "failed to create a DNS socket: \(String(cString: strerror(errno)))") }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        setsockopt(fd, Int32(IPPROTO_IP), 15 /* IP_FREEBIND */, &one, socklen_t(MemoryLayout<Int32>.size))
        var local = sockaddr_in()
        local.sin_family = sa_family_t(AF_INET)
        local.sin_port = port.bigEndian
        local.sin_addr.s_addr = address.bigEndian
        let result = withUnsafePointer(to: &local) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        guard result == 0 else {
            let reason = String(cString: strerror(errno))
            close(fd)
            throw BerthError(.internalError, "failed to bind the cluster DNS to \(IPv4Network.format(address)):\(port): \(reason)")
        }
        return fd
    }

    private func serveTCP(_ listening: Int32) {
        while true {
            let connection = accept(listening, nil, nil)
            if connection < 0 {
                if errno == EINTR || errno == ECONNABORTED { continue }
                return  // closed by stop()
            }
            _ = fcntl(connection, F_SETFD, FD_CLOEXEC)
            BlockingThreads.shared.run { [self] in
                defer { close(connection) }
                var timeout = timeval(tv_sec: 5, tv_usec: 0)
                setsockopt(connection, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
                // One connection may carry several queries, each prefixed by its length.
                while let length = Self.read(connection, 2).map({ Int($0[0]) << 8 | Int($0[1]) }), length >= 12,
                      let request = Self.read(connection, length) {
                    guard let query = DNSQuery(request) else { return }
                    let reply = answer(query) ?? Self.relay(request) ?? query.answer(.serverFailure)
                    let framed = [UInt8(reply.count >> 8), UInt8(reply.count & 0xFF)] + reply
                    guard Self.writeAll(connection, framed) else { return }
                }
            }
        }
    }

    static func read(_ fd: Int32, _ count: Int) -> [UInt8]? {
        var buffer = [UInt8](repeating: 0, count: count)
        var filled = 0
        while filled < count {
            let got = buffer.withUnsafeMutableBytes { Glibc.recv(fd, $0.baseAddress! + filled, count - filled, 0) }
            if got < 0 && errno == EINTR { continue }
            guard got > 0 else { return nil }
            filled += got
        }
        return buffer
    }

    static func writeAll(_ fd: Int32, _ bytes: [UInt8]) -> Bool {
        var sent = 0
        while sent < bytes.count {
            let wrote = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress! + sent, bytes.count - sent, Int32(MSG_NOSIGNAL)) }
            if wrote < 0 && errno == EINTR { continue }
            guard wrote > 0 else { return false }
            sent += wrote
        }
        return true
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
        let tcp = listener.withLock { value -> Int32 in
            defer { value = -1 }
            return value
        }
        if tcp >= 0 {
            shutdown(tcp, Int32(SHUT_RDWR))
            close(tcp)
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
                BlockingThreads.shared.run {
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
        case .reverse(let address):
            // Addresses Berth does not know (the host's, the internet's) go to the host's resolvers.
            guard let names = catalog.names(of: address) else { return nil }
            return query.type == DNSQuery.typePTR ? query.answer(.noError, pointers: names) : query.answer(.noError)
        case .unknown:
            return query.answer(.nameError)
        case .pod(let address):
            return query.type == DNSQuery.typeA ? query.answer(.noError, addresses: [address]) : query.answer(.noError)
        case .endpoint(let hostname, let service, let namespace):
            guard let address = catalog.address(hostname: hostname, service: service, namespace: namespace) else { return query.answer(.nameError) }
            return query.type == DNSQuery.typeA ? query.answer(.noError, addresses: [address]) : query.answer(.noError)
        case .servicePort(let portName, let proto, let name, let namespace):
            guard let port = catalog.port(service: name, namespace: namespace, portName: portName, protocol: proto) else { return query.answer(.nameError) }
            let record = SRVRecord(port: port, target: "\(name).\(namespace).svc.\(ClusterName.domain)")
            return query.type == DNSQuery.typeSRV ? query.answer(.noError, services: [record]) : query.answer(.noError)
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
