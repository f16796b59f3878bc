import CMalloc
import ServiceLifecycle

/// Hands freed heap memory back to the kernel (`malloc_trim`): every few seconds, and right after
/// a request that built a large response — a LIST of 20,000 pods holds ~20 MB of stored values in
/// small chunks and frees them all at once, which would otherwise stay resident until the next
/// round. One per process: glibc's heap is process-wide.
public final class HeapTrimmer: ServiceLifecycle.Service, Sendable {
    public static let shared = HeapTrimmer()
    /// Responses at least this large ask for a trim once they are built.
    static let largeResponseBytes = 4 << 20

    private let requests: AsyncStream<Void>
    private let requestContinuation: AsyncStream<Void>.Continuation

    private init() {
        (requests, requestContinuation) = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
    }

    /// Asks for a trim shortly (requests while one is pending count once).
    public func trimSoon() { requestContinuation.yield() }

    public func run() async throws {
        await withDiscardingTaskGroup { group in
            group.addTask { [requestContinuation] in
                while !Task.isCancelled {
                    try? await Task.sleep(for: .seconds(5))
                    requestContinuation.yield()
                }
            }
            for await _ in requests.cancelOnGracefulShutdown() {
                // The request that asked frees its buffers when its handler returns.
                try? await Task.sleep(for: .milliseconds(20))
                _ = malloc_trim(0)
            }
            group.cancelAll()
        }
    }
}
