import Foundation
import Glibc

/// Test fixtures shared by the test targets.
public enum FreePort {
    /// A TCP port on 127.0.0.1 that nothing listens on right now (the kernel picks it).
    public static func next() -> Int {
        let (fd, port) = bound()
        close(fd)
        return port
    }

    /// A socket listening on a port of 127.0.0.1 the kernel picks, for tests that need a port
    /// to be taken; the caller closes it.
    public static func listener() -> (fd: Int32, port: Int) {
        let (fd, port) = bound()
        listen(fd, 1)
        return (fd, port)
    }

    private static func bound() -> (Int32, Int) {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { _ = bind(fd, $0, length) }
        }
        withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { _ = getsockname(fd, $0, &length) }
        }
        return (fd, Int(UInt16(bigEndian: address.sin_port)))
    }
}
