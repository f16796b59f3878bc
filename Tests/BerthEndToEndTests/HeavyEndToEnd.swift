import BerthTestSupport
import Testing

/// The end-to-end suites that start whole clusters with real containers beside a registry,
/// skopeo, podman, Prometheus or Alertmanager, one test at a time: together at the start of a
/// parallel run they starved the machine (other suites' simulated nodes missed their readiness
/// waits, registry pulls and TERM-to-KILL timings ran late).
@Suite("Heavy end to end", .serialized, .blockingAllowed)
enum HeavyEndToEnd {
    @Suite("Monitoring end to end", .blockingAllowed) enum Monitoring {}
    @Suite("Registry end to end", .blockingAllowed) enum Registry {}
}

typealias RegistryEndToEnd = HeavyEndToEnd.Registry
typealias MonitoringEndToEnd = HeavyEndToEnd.Monitoring
