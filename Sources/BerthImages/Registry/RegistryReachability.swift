import AsyncHTTPClient
import Foundation
import NIOCore
import NIOPosix

/// Why a registry could not be reached, as a sentence with what to check — rather than the
/// nested error values the HTTP stack throws ("connection reset (error set): Connection
/// refused) (errno: 111)").
enum RegistryReachability {
    static func describe(_ error: any Error, registry: String) -> String {
        if let connection = error as? NIOConnectionError {
            if connection.connectionErrors.isEmpty, let dns = connection.dnsAError ?? connection.dnsAAAAError {
                return describe(dns, registry: registry)
            }
            if let first = connection.connectionErrors.first { return describe(first.error, registry: registry) }
        }
        if let unknown = error as? SocketAddressError.UnknownHost {
            return "the registry host \(unknown.host) does not resolve (\(unknown.errorDescription)); check the image name and this node's DNS"
        }
        if let io = error as? IOError {
            switch io.errnoCode {
            case ECONNREFUSED: return "connection to \(registry) refused: nothing listens there (is the registry running, and the port right?)"
            case ETIMEDOUT: return "connecting to \(registry) timed out"
            case EHOSTUNREACH, ENETUNREACH: return "no route to \(registry) from this node"
            case ECONNRESET: return "\(registry) reset the connection"
            default: return "cannot connect to \(registry): \(String(cString: strerror(io.errnoCode)))"
            }
        }
        if let client = error as? HTTPClientError {
            switch client {
            case .connectTimeout: return "connecting to \(registry) timed out"
            case .readTimeout: return "\(registry) stopped answering (read timed out)"
            case .remoteConnectionClosed: return "\(registry) closed the connection"
            default: return "cannot reach \(registry): \(client)"
            }
        }
        return "cannot reach \(registry): \(error)"
    }
}
