import BerthCore
import Glibc

/// Whether the API address can be listened on, checked before anything starts: a taken port
/// is a clear error at once rather than a failure deep inside the server's start-up, after the
/// store is open and the controllers run.
enum ListenAddressCheck {
    /// `serving` names what would listen there, for an address the user did not choose.
    static func ensureFree(host: String, port: Int, serving: String? = nil) throws(BerthError) {
        let what = serving.map { " (\($0))" } ?? ""
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_flags = AI_PASSIVE
        var found: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, String(port), &hints, &found) == 0, let first = found else {
            throw BerthError(.badRequest, "cannot listen on \(host):\(port)\(what): the address does not resolve")
        }
        defer { freeaddrinfo(found) }
        let fd = socket(first.pointee.ai_family, first.pointee.ai_socktype, first.pointee.ai_protocol)
        guard fd >= 0 else { return }  // no socket to try with: the server reports what it meets
        defer { close(fd) }
        // The server's own socket allows reuse too, so a port in TIME_WAIT is not "taken".
        var one: Int32 = 1
        _ = setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        if bind(fd, first.pointee.ai_addr, first.pointee.ai_addrlen) != 0 {
            let reason = String(cString: strerror(errno))
            throw BerthError(.badRequest, "cannot listen on \(host):\(port)\(what): \(reason)")
        }
    }
}
