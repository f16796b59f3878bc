import BerthCore
import BerthTestSupport
import Testing
@testable import BerthMetrics

/// The http_sd targets carry kubernetes_sd_configs' labels, so its relabelling works on them.
@Suite("Discovery targets", .blockingAllowed)
struct DiscoveryTargetsTests {
    func json(_ text: String) throws -> JSONValue { try JSONParser.parse(Array(text.utf8)) }

    @Test func nodesArePlacedAtTheirKubeletWithLabelsAndAddresses() throws {
        let node = try json(#"{"metadata":{"name":"n1","labels":{"kubernetes.io/os":"linux"}},"status":{"addresses":[{"type":"InternalIP","address":"100.72.0.5"}],"daemonEndpoints":{"kubeletEndpoint":{"Port":10250}}}}"#)
        let group = try #require(DiscoveryTargets.nodes([node]).first)
        #expect(group["targets"] == ["100.72.0.5:10250"])
        #expect(group["labels"]?["__meta_kubernetes_node_name"] == "n1")
        #expect(group["labels"]?["__meta_kubernetes_node_label_kubernetes_io_os"] == "linux")
        #expect(group["labels"]?["__meta_kubernetes_node_labelpresent_kubernetes_io_os"] == "true")
        #expect(group["labels"]?["__meta_kubernetes_node_address_InternalIP"] == "100.72.0.5")
    }

    @Test func podsGiveOneTargetPerPortAndTheirAnnotations() throws {
        let pod = try json(#"""
        {"metadata":{"name":"web","namespace":"shop","uid":"u1","annotations":{"prometheus.io/scrape":"true"},
          "ownerReferences":[{"kind":"ReplicaSet","name":"web-1","controller":true}]},
         "spec":{"nodeName":"n1","containers":[{"name":"app","image":"i","ports":[{"containerPort":8080,"name":"http"},{"containerPort":9090}]},{"name":"side","image":"j"}]},
         "status":{"podIP":"100.96.1.5","phase":"Running","conditions":[{"type":"Ready","status":"True"}]}}
        """#)
        let groups = DiscoveryTargets.pods([pod])
        #expect(groups.map { $0["targets"]?.arrayValue?.first?.stringValue ?? "" } == ["100.96.1.5:8080", "100.96.1.5:9090", "100.96.1.5"])
        let labels = try #require(groups.first?["labels"])
        #expect(labels["__meta_kubernetes_pod_annotation_prometheus_io_scrape"] == "true")
        #expect(labels["__meta_kubernetes_pod_container_port_name"] == "http")
        #expect(labels["__meta_kubernetes_pod_ready"] == "true")
        #expect(labels["__meta_kubernetes_pod_controller_kind"] == "ReplicaSet")
        // A pod without an address yet is no target.
        #expect(DiscoveryTargets.pods([try json(#"{"metadata":{"name":"p"},"spec":{"containers":[]},"status":{}}"#)]).isEmpty)
    }

    @Test func endpointsCarryTheirServicesLabels() throws {
        let service = try json(#"{"metadata":{"name":"kubernetes","namespace":"default","annotations":{"prometheus.io/scrape":"true"}},"spec":{"clusterIP":"100.64.0.1","ports":[{"name":"https","port":443}]}}"#)
        let endpoints = try json(#"{"metadata":{"name":"kubernetes","namespace":"default"},"subsets":[{"addresses":[{"ip":"127.0.0.1"}],"ports":[{"name":"https","port":6443}]}]}"#)
        let group = try #require(DiscoveryTargets.endpoints([endpoints], services: [service]).first)
        #expect(group["targets"] == ["127.0.0.1:6443"])
        #expect(group["labels"]?["__meta_kubernetes_endpoint_port_name"] == "https")
        #expect(group["labels"]?["__meta_kubernetes_service_name"] == "kubernetes")
        #expect(group["labels"]?["__meta_kubernetes_service_annotation_prometheus_io_scrape"] == "true")
        #expect(DiscoveryTargets.services([service]).first?["targets"] == ["kubernetes.default.svc:443"])
    }
}

@Suite("Prometheus query results", .blockingAllowed)
struct PrometheusQueryResultTests {
    @Test func vectorsScalarsAndRefusals() throws {
        let vector = try JSONParser.parse(Array(#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{"pod":"a"},"value":[1700000000.5,"12.5"]}]}}"#.utf8))
        #expect(try PrometheusQueryResult.parse(vector) == [PrometheusSample(labels: ["pod": "a"], value: 12.5, time: 1_700_000_000.5)])
        let scalar = try JSONParser.parse(Array(#"{"status":"success","data":{"resultType":"scalar","result":[1700000000,"NaN"]}}"#.utf8))
        #expect(try PrometheusQueryResult.parse(scalar).first?.value.isNaN == true)
        let matrix = try JSONParser.parse(Array(#"{"status":"success","data":{"resultType":"matrix","result":[]}}"#.utf8))
        #expect(throws: PrometheusQueryResult.Failure.self) { try PrometheusQueryResult.parse(matrix) }
        let refused = try JSONParser.parse(Array(#"{"status":"error","errorType":"bad_data","error":"parse error"}"#.utf8))
        #expect(throws: PrometheusQueryResult.Failure.refused("bad_data: parse error")) { try PrometheusQueryResult.parse(refused) }
    }
}
