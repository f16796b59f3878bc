import BerthCore
import BerthTestSupport
import Testing

/// What objects count against quotas, scopes, and the verdicts (pure).
@Suite("Quota policy", .blockingAllowed)
struct QuotaPolicyTests {
    static func q(_ text: String) -> Quantity { try! Quantity(parsing: text) }

    @Test("a pod counts the larger of its containers' sum and its largest init container, plus overhead; a finished pod counts nothing")
    func podUsage() {
        let pod: JSONValue = ["metadata": ["name": "p"], "spec": [
            "containers": [["name": "a", "resources": ["requests": ["cpu": "100m"], "limits": ["cpu": "200m", "memory": "64Mi"]]],
                           ["name": "b", "resources": ["limits": ["cpu": "300m"]]]],
            "initContainers": [["name": "i", "resources": ["requests": ["cpu": "1"]]]],
            "overhead": ["cpu": "10m"],
        ]]
        let usage = QuotaPolicy.usage(.pod, pod)
        #expect(usage["pods"] == Self.q("1") && usage["count/pods"] == Self.q("1"))
        #expect(usage["requests.cpu"] == Self.q("1010m"), "init container's 1 beats 100m+300m")
        #expect(usage["cpu"] == usage["requests.cpu"])
        #expect(usage["limits.cpu"] == Self.q("510m"))
        #expect(usage["requests.memory"] == Self.q("64Mi"), "a missing request counts as the limit")
        var finished = pod
        finished.set("Succeeded", at: ["status", "phase"])
        #expect(QuotaPolicy.usage(.pod, finished).isEmpty)
    }

    @Test("services count node ports and load balancers; other kinds count as count/RESOURCE.GROUP")
    func otherKinds() {
        let service: JSONValue = ["spec": ["type": "LoadBalancer", "ports": [["port": 80], ["port": 443]]]]
        let usage = QuotaPolicy.usage(.service, service)
        #expect(usage["services"] == Self.q("1") && usage["services.nodeports"] == Self.q("2") && usage["services.loadbalancers"] == Self.q("1"))
        #expect(QuotaPolicy.usage(.deployment, [:]) == ["count/deployments.apps": Self.q("1")])
        #expect(QuotaPolicy.usage(.configMap, [:]) == ["count/configmaps": Self.q("1"), "configmaps": Self.q("1")])
    }

    @Test("scopes: BestEffort, NotTerminating, PriorityClass In; scoped quotas govern pods only")
    func scopes() {
        let bestEffort: JSONValue = ["spec": ["containers": [["name": "c"]]]]
        let guaranteed: JSONValue = ["spec": ["containers": [["name": "c", "resources": ["limits": ["cpu": "1"]]]], "priorityClassName": "high"]]
        let onlyBestEffort = ResourceQuotaSpec(hard: ["pods": Self.q("1")], scopes: ["BestEffort"])
        #expect(QuotaPolicy.matchesScopes(onlyBestEffort, .pod, bestEffort))
        #expect(!QuotaPolicy.matchesScopes(onlyBestEffort, .pod, guaranteed))
        #expect(!QuotaPolicy.matchesScopes(onlyBestEffort, .configMap, [:]))
        var high = ResourceQuotaSpec(hard: ["pods": Self.q("1")])
        let selector: JSONValue = ["matchExpressions": [["scopeName": "PriorityClass", "operator": "In", "values": ["high"]]]]
        high.scopeSelector = try! selector.decode(ScopeSelector.self)
        #expect(QuotaPolicy.matchesScopes(high, .pod, guaranteed))
        #expect(!QuotaPolicy.matchesScopes(high, .pod, bestEffort))
        #expect(QuotaPolicy.matchesScopes(ResourceQuotaSpec(hard: [:], scopes: ["NotTerminating"]), .pod, bestEffort))
    }

    @Test("verdicts: fits with the charge, exceeded in Kubernetes' words, untouched, and only increases charged on update")
    func verdicts() {
        let hard = ["requests.cpu": Self.q("1"), "pods": Self.q("2")]
        let pod: JSONValue = ["spec": ["containers": [["name": "c", "resources": ["requests": ["cpu": "600m"]]]]]]
        let usage = QuotaPolicy.usage(.pod, pod)
        #expect(QuotaPolicy.check(hard: hard, used: ["requests.cpu": Self.q("0"), "pods": Self.q("0")], new: usage, old: nil, descriptor: .pod, object: pod)
                == .fits(used: ["requests.cpu": Self.q("600m"), "pods": Self.q("1")]))
        #expect(QuotaPolicy.check(hard: hard, used: ["requests.cpu": Self.q("600m"), "pods": Self.q("1")], new: usage, old: nil, descriptor: .pod, object: pod)
                == .exceeded("requested: requests.cpu=600m, used: requests.cpu=600m, limited: requests.cpu=1"))
        #expect(QuotaPolicy.check(hard: ["count/secrets": Self.q("1")], used: [:], new: usage, old: nil, descriptor: .pod, object: pod) == .untouched)
        #expect(QuotaPolicy.check(hard: hard, used: ["requests.cpu": Self.q("1"), "pods": Self.q("2")], new: usage, old: usage, descriptor: .pod, object: pod) == .untouched)
        let limitsQuota = ["limits.memory": Self.q("1Gi")]
        #expect(QuotaPolicy.check(hard: limitsQuota, used: [:], new: usage, old: nil, descriptor: .pod, object: pod) == .unspecified("must specify limits.memory for: c"))
    }
}
