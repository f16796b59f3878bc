import Hummingbird
import NIOCore

/// The request context: Hummingbird's basic one plus the connection, to read the TLS peer
/// certificate from.
public struct APIRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    public let channel: (any Channel)?

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        channel = source.channel
    }
}
