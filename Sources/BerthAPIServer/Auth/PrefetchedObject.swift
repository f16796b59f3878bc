import BerthCore
import Hummingbird

/// The object the node authorizer read to decide a request (is this pod bound to the
/// caller?). The handler's first read of the same object takes it instead of reading and
/// parsing it again: an agent's status update read its pod twice. The read still falls
/// inside the request, and an update commits only against the revision it read, so a write
/// in between is a conflict and the retry reads afresh.
struct PrefetchedObject: Sendable {
    let key: String
    let object: JSONValue

    @TaskLocal static var current: PrefetchedObject?
}

extension APIServer {
    /// The object as the request's handler sees it first: the authorizer's copy when it read
    /// this very object, otherwise from the store.
    func readForRequest(_ descriptor: ResourceDescriptor, namespace: String?, name: String, firstAttempt: Bool) async throws(BerthError) -> JSONValue {
        if firstAttempt, let prefetched = PrefetchedObject.current, prefetched.key == storage.key(descriptor, namespace: namespace, name: name) {
            return prefetched.object
        }
        return try await storage.get(descriptor, namespace: namespace, name: name)
    }

    /// Runs the handler with the authorizer's copy in scope.
    func withPrefetched(_ prefetched: PrefetchedObject?, _ handler: () async throws(BerthError) -> Response) async throws(BerthError) -> Response {
        guard let prefetched else { return try await handler() }
        let result: Result<Response, BerthError> = await PrefetchedObject.$current.withValue(prefetched) {
            do throws(BerthError) { return .success(try await handler()) } catch { return .failure(error) }
        }
        return try result.get()
    }
}
