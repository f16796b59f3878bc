import AsyncHTTPClient
import BerthCore
import BerthMetrics
import Foundation
import NIOCore

/// Asks a Prometheus for an instant query's value now. A Prometheus that cannot be reached
/// or that refuses the query is a 503 with the reason: the autoscaler then reports
/// `ScalingActive=False` and scales on nothing stale.
enum PrometheusQuery {
    static func run(_ query: String, at base: String) async throws(BerthError) -> [PrometheusSample] {
        var components = URLComponents(string: base.hasSuffix("/") ? String(base.dropLast()) : base)
        components?.path += "/api/v1/query"
        components?.queryItems = [URLQueryItem(name: "query", value: query)]
        guard let url = components?.url?.absoluteString else { throw BerthError(.badRequest, "invalid Prometheus URL \(base)") }
        let body: ByteBuffer
        do {
            let response = try await HTTPClient.shared.execute(HTTPClientRequest(url: url), timeout: .seconds(5))
            body = try await response.body.collect(upTo: 16 << 20)
        } catch {
            throw BerthError(.unavailable, "Prometheus at \(base) cannot be reached: \(error)")
        }
        do {
            let json = try JSONParser.parse(Array(body.readableBytesView))
            return try PrometheusQueryResult.parse(json)
        } catch let failure as PrometheusQueryResult.Failure {
            throw BerthError(.unavailable, "Prometheus at \(base): \(failure)")
        } catch {
            throw BerthError(.unavailable, "Prometheus at \(base) answered something other than a query result")
        }
    }
}
