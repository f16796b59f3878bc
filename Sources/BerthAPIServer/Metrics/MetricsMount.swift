import BerthCore
import BerthMetrics
import Foundation
import Hummingbird
import NIOCore

/// `GET /metrics`: the process's metrics (requests, store, watches, work queues, scheduler,
/// registry, leader), the process itself, and object state under kube-state-metrics' names —
/// in Prometheus' text format, or OpenMetrics when the scraper asks. Authorized as a
/// non-resource URL (`system:monitoring`, or any role with `nonResourceURLs: ["/metrics"]`).
extension APIServer {
    static let metricsPath = "/metrics"

    static var metricsMount: Mount {
        Mount(name: "metrics", matches: Mount.prefix(metricsPath)) { server, request, _, _ throws(BerthError) in
            guard request.method == .get || request.method == .head else { throw BerthError(.methodNotAllowed, "only GET is served at /metrics") }
            let format = ExpositionFormat.negotiate(accept: request.headers[.accept])
            let bytes = try await server.renderMetrics(format: format)
            var response = Response(status: .ok, headers: [.contentType: format.contentType], body: ResponseBody(byteBuffer: ByteBuffer(bytes: bytes)))
            response.headers[.cacheControl] = "no-cache, private"
            return response
        }
    }

    func renderMetrics(format: ExpositionFormat) async throws(BerthError) -> [UInt8] {
        let state = try await KubeStateMetrics.load(storage)
        var writer = ExpositionWriter(format: format, reserving: 4096 + state.pods.count * 1800)
        let (readOnly, mutating) = inflight.current
        writer.family("apiserver_current_inflight_requests", .gauge, help: "Maximal number of currently used inflight request limit of this apiserver per request kind in last second.")
        writer.sample("apiserver_current_inflight_requests", ["request_kind": "mutating"], Double(mutating))
        writer.sample("apiserver_current_inflight_requests", ["request_kind": "readOnly"], Double(readOnly))
        writer.family("apiserver_storage_objects", .gauge, help: "Number of stored objects at the time of last check split by kind.")
        for (resource, count) in [("deployments.apps", state.deployments.count), ("horizontalpodautoscalers.autoscaling", state.autoscalers.count),
                                  ("namespaces", state.namespaces.count), ("nodes", state.nodes.count), ("pods", state.pods.count),
                                  ("replicasets.apps", state.replicaSets.count), ("resourcequotas", state.quotas.count)] {
            writer.sample("apiserver_storage_objects", ["resource": resource], Double(count))
        }
        if !configuration.storeFiles.isEmpty {
            var size: UInt64 = 0
            for file in configuration.storeFiles { size += ((try? FileManager.default.attributesOfItem(atPath: file))?[.size] as? UInt64) ?? 0 }
            writer.family("apiserver_storage_size_bytes", .gauge, help: "Size of the storage database file physically allocated in bytes.")
            writer.sample("apiserver_storage_size_bytes", ["storage_cluster_id": "sqlite"], Double(size))
        }
        if !configuration.certificateExpirations.isEmpty {
            writer.family("berth_certificate_expiration_timestamp_seconds", .gauge, help: "When each of the server's certificates expires, in seconds since the epoch.")
            for (name, date) in configuration.certificateExpirations.sorted(by: { $0.key < $1.key }) {
                writer.sample("berth_certificate_expiration_timestamp_seconds", ["certificate": name], date.timeIntervalSince1970.rounded())
            }
        }
        ProcessMetrics.render(into: &writer)
        MetricsRegistry.process.render(into: &writer)
        state.render(into: &writer)
        writer.finish()
        return writer.bytes
    }
}
