import BerthCore
import CMalloc

/// The per-object CPU cost of the API server's write path, without a server: parse the
/// request bytes, admit (typed decode, defaults, re-encode, validation), write the stored
/// bytes, and decode a stored Pod as an informer does. Median of several rounds, in
/// microseconds per object. Usage: `berth-bench codec [--pods N]`.
struct CodecBench {
    let iterations: Int

    func run() throws -> [String: JSONValue] {
        let bytes = JSONWriter.bytes(benchPod(1, sent: 1))
        let parsed = try JSONParser.parse(bytes)
        let admitted = try ResourceDescriptor.pod.admit(parsed, old: nil).object
        var results: [String: JSONValue] = ["bench": "codec", "object_bytes": .number(String(bytes.count))]
        func measure(_ name: String, _ body: () throws -> Void) rethrows {
            var rounds: [Double] = []
            for _ in 0..<5 {
                let start = monotonicNanoseconds()
                for _ in 0..<iterations { try body() }
                rounds.append(Double(monotonicNanoseconds() - start) / Double(iterations) / 1000)
            }
            results[name + "_us"] = .number(String(format: "%.2f", percentile(rounds.sorted(), 0.5)))
        }
        var sink = 0
        try measure("parse") { sink &+= fields(try JSONParser.parse(bytes)) }
        try measure("decode") { sink &+= try parsed.decode(Pod.self).metadata.labels?.count ?? 0 }
        let pod = try parsed.decode(Pod.self)
        try measure("encode") { sink &+= fields(try JSONValue(encoding: pod)) }
        try measure("admit_create") { sink &+= fields(try ResourceDescriptor.pod.admit(parsed, old: nil).object) }
        try measure("admit_update") { sink &+= fields(try ResourceDescriptor.pod.admit(admitted, old: admitted).object) }
        measure("write") { sink &+= JSONWriter.bytes(admitted).count }
        // What a cached object costs: the heap growth of holding `iterations` decoded pods (as
        // an informer's cache does) and of holding their parsed JSON trees.
        let before = mallinfo2().uordblks
        let typed = try (0..<iterations).map { _ in try parsed.decode(Pod.self) }
        let afterTyped = mallinfo2().uordblks
        let trees = try (0..<iterations).map { _ in try JSONParser.parse(bytes) }
        let afterTrees = mallinfo2().uordblks
        results["typed_pod_bytes"] = .number(String((afterTyped - before) / iterations))
        results["json_tree_bytes"] = .number(String((afterTrees - afterTyped) / iterations))
        results["pod_inline_bytes"] = .number(String(MemoryLayout<Pod>.size))
        sink &+= typed.count + trees.count
        results["iterations"] = .number(String(iterations + sink % 1))
        return results
    }
}

/// Something to consume each result, so the optimizer cannot drop the work.
private func fields(_ value: JSONValue) -> Int {
    if case .object(let members) = value { return members.count }
    return 0
}
