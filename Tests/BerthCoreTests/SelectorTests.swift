import BerthCore
import BerthTestSupport
import Testing

@Suite("label and field selectors", .blockingAllowed)
struct SelectorTests {
    @Test func parsesEveryOperator() throws {
        let selector = try LabelSelector(parsing: "app=web, tier!=db,env in (prod, dev),zone notin (a),canary,!legacy,rank>3")
        #expect(selector.requirements.count == 7)
        #expect(selector.matches(["app": "web", "tier": "fe", "env": "prod", "zone": "b", "canary": "", "rank": "5"]))
        #expect(!selector.matches(["app": "web", "tier": "fe", "env": "prod", "zone": "b", "canary": "", "rank": "2"]))
        #expect(!selector.matches(["app": "web", "tier": "db", "env": "prod", "canary": "", "rank": "5"]))
        #expect(!selector.matches(["app": "web", "env": "test", "canary": "", "rank": "5"]))
        #expect(!selector.matches(["app": "web", "env": "prod", "canary": "", "legacy": "x", "rank": "5"]))
    }

    @Test func emptySelectsEverything() throws {
        #expect(try LabelSelector(parsing: "").matches([:]))
        #expect(try LabelSelector(parsing: "  ").isEmpty)
    }

    @Test(arguments: ["a in (b", "a=b=c", "in in", "=b", "a=b c", "bad key=v", "a=bad value!"])
    func rejectsMalformed(_ text: String) {
        #expect(throws: BerthError.self) { try LabelSelector(parsing: text) }
    }

    @Test func convertsSpecSelectors() throws {
        let spec = LabelSelectorSpec(matchLabels: ["app": "web"], matchExpressions: [.init(key: "env", operator: "In", values: ["a", "b"])])
        let selector = try LabelSelector(spec)
        #expect(selector.description == "app=web,env in (a,b)")
        #expect(selector.matches(["app": "web", "env": "b"]))
        #expect(throws: BerthError.self) { try LabelSelector(LabelSelectorSpec(matchExpressions: [.init(key: "x", operator: "Near", values: [])])) }
    }

    @Test func fieldSelectorsMatchPaths() throws {
        let pod: JSONValue = ["metadata": ["name": "p", "namespace": "default"], "spec": ["nodeName": "n1"], "status": ["phase": "Running"]]
        #expect(try FieldSelector(parsing: "spec.nodeName=n1,status.phase!=Failed").matches(pod))
        #expect(try !FieldSelector(parsing: "metadata.name==q").matches(pod))
        #expect(try FieldSelector(parsing: "spec.nodeName=").matches(["spec": [:]]))
        #expect(throws: BerthError.self) { try FieldSelector(parsing: "justaword") }
        #expect(throws: BerthError.self) { try FieldSelector(parsing: "spec.x=1").validate(supported: ["metadata.name"], kind: "Pod") }
    }
}
