import BerthTestSupport
import Testing
@testable import BerthMetrics

@Suite("Exposition", .blockingAllowed)
struct ExpositionTests {
    func text(_ format: ExpositionFormat = .text, _ body: (inout ExpositionWriter) -> Void) -> String {
        var writer = ExpositionWriter(format: format)
        body(&writer)
        writer.finish()
        return String(decoding: writer.bytes, as: UTF8.self)
    }

    @Test func labelValuesAndHelpAreEscapedSoNoLineBreaks() {
        let output = text { writer in
            writer.family("kube_pod_labels", .gauge, help: "Labels\\ of a pod\nsecond line")
            writer.sample("kube_pod_labels", ["pod": "we\"ird\\pod\nname"], 1)
        }
        #expect(output == """
            # HELP kube_pod_labels Labels\\\\ of a pod\\nsecond line
            # TYPE kube_pod_labels gauge
            kube_pod_labels{pod="we\\"ird\\\\pod\\nname"} 1

            """)
        #expect(output.split(separator: "\n").count == 3)
    }

    @Test func valuesKeepTheirPrecisionAndSpecials() {
        let output = text { writer in
            writer.sample("a", [:], 0.25)
            writer.sample("b", [:], 1e20)
            writer.sample("c", [:], .nan)
            writer.sample("d", [:], -.infinity)
            writer.sample("e", [:], 42)
        }
        #expect(output == "a 0.25\nb 1e+20\nc NaN\nd -Inf\ne 42\n")
    }

    @Test func openMetricsNamesCounterFamiliesWithoutTotalAndEnds() {
        let output = text(.openMetrics) { writer in
            writer.family("apiserver_request_total", .counter, help: "Requests.")
            writer.sample("apiserver_request_total", ["code": "200"], 3)
            writer.family("thing", .untyped, help: "x")
        }
        #expect(output.contains("# TYPE apiserver_request counter\n"))
        #expect(output.contains("apiserver_request_total{code=\"200\"} 3\n"))
        #expect(output.contains("# TYPE thing unknown\n"))
        #expect(output.hasSuffix("# EOF\n"))
    }

    @Test func formatFollowsAccept() {
        #expect(ExpositionFormat.negotiate(accept: nil) == .text)
        #expect(ExpositionFormat.negotiate(accept: "text/plain;version=0.0.4;q=0.5,*/*;q=0.1") == .text)
        #expect(ExpositionFormat.negotiate(accept: "application/openmetrics-text;version=1.0.0;q=0.75,text/plain;version=0.0.4;q=0.5") == .openMetrics)
    }

    @Test func userNamesAreSanitized() {
        #expect(MetricName.sanitized("http-requests.total") == "http_requests_total")
        #expect(MetricName.sanitized("9lives") == "_9lives")
        #expect(MetricName.sanitized("") == "_")
        #expect(MetricName.labelKey("app.kubernetes.io/name") == "label_app_kubernetes_io_name")
        #expect(MetricName.isValid("job:requests:rate5m"))
        #expect(!MetricName.isValid("a b"))
    }

    @Test func registryRendersCountersGaugesAndHistograms() {
        let registry = MetricsRegistry()
        let requests = registry.counter("requests_total", help: "Requests.", labels: ["verb", "code"])
        requests.add(1, "GET", "200")
        requests.add(2, "GET", "200")
        requests.add(1, "POST", "201")
        #expect(registry.counter("requests_total", help: "again", labels: ["verb", "code"]).value("GET", "200") == 3)
        registry.gauge("inflight", help: "In flight.").set(2)
        let latency = registry.histogram("latency_seconds", help: "Latency.", buckets: [0.1, 1])
        latency.observe(0.05)
        latency.observe(0.5)
        latency.observe(5)
        var writer = ExpositionWriter(format: .text)
        registry.render(into: &writer)
        let output = String(decoding: writer.bytes, as: UTF8.self)
        #expect(output.contains("requests_total{verb=\"GET\",code=\"200\"} 3\n"))
        #expect(output.contains("requests_total{verb=\"POST\",code=\"201\"} 1\n"))
        #expect(output.contains("inflight 2\n"))
        #expect(output.contains("latency_seconds_bucket{le=\"0.1\"} 1\n"))
        #expect(output.contains("latency_seconds_bucket{le=\"1.0\"} 2\n"))
        #expect(output.contains("latency_seconds_bucket{le=\"+Inf\"} 3\n"))
        #expect(output.contains("latency_seconds_count 3\n"))
        #expect(output.contains("latency_seconds_sum 5.55\n"))
        #expect(output.components(separatedBy: "# TYPE requests_total counter").count == 2)
    }
}
