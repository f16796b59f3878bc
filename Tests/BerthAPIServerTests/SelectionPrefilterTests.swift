@testable import BerthAPIServer
import BerthCore
import BerthStore
import BerthTestSupport
import Testing

/// The byte prefilter of selective lists and watches must never drop an object the selectors
/// match (it only skips parsing), and should drop the ones it can.
@Suite("selector prefilter on stored bytes", .blockingAllowed)
struct SelectionPrefilterTests {
    static let labelSets: [[String: String]] = [
        [:], ["app": "web"], ["app": "web", "tier": "db"], ["example.com/app": "we.b"], ["app": ""], ["app": "wéb ünïcode"],
        ["version": "10"], ["version": "3"], ["berth.dev/ippool": "fixed"], ["a.b/c_d": "x-y"],
    ]
    static let nodes: [String?] = [nil, "", "node-1", "node-10", "nöde"]

    static func pod(_ index: Int, labels: [String: String], node: String?, phase: String) -> JSONValue {
        var object: JSONValue = ["apiVersion": "v1", "kind": "Pod", "metadata": ["name": .string("p\(index)"), "namespace": "default"],
                                 "spec": ["containers": [["name": "c", "image": "i"]]], "status": ["phase": .string(phase)]]
        if !labels.isEmpty { object.set(.object(labels.mapValues { .string($0) }), at: ["metadata", "labels"]) }
        if let node { object.set(.string(node), at: ["spec", "nodeName"]) }
        return object
    }

    static let selectors: [(String, String)] = [
        ("app=web", ""), ("app", ""), ("!app", ""), ("app!=web", ""), ("app in (web,x)", ""), ("app notin (web)", ""),
        ("example.com/app=we.b", ""), ("app=", ""), ("version>5", ""), ("version<5", ""),
        ("berth.dev/ippool", ""), ("a.b/c_d=x-y", ""),
        ("", "spec.nodeName=node-1"), ("", "spec.nodeName=nöde"), ("", "spec.nodeName="), ("", "spec.nodeName!=node-1"),
        ("", "metadata.name=p3"), ("", "status.phase=Running"), ("app=web", "spec.nodeName=node-1,status.phase!=Failed"),
    ]

    @Test("every object the selectors match passes the prefilter; others are mostly dropped")
    func soundness() throws {
        var dropped = 0, nonMatching = 0, index = 0
        for (labelText, fieldText) in Self.selectors {
            let query = QueryParameters("labelSelector=\(percentEncode(labelText))&fieldSelector=\(percentEncode(fieldText))")
            let selection = try ListSelection(query, descriptor: .pod)
            for labels in Self.labelSets {
                for node in Self.nodes {
                    for phase in ["Running", "Pending"] {
                        index += 1
                        let object = Self.pod(index % 7, labels: labels, node: node, phase: phase)
                        let stored = ObjectCodec.encode(object)
                        if selection.matches(object) {
                            #expect(selection.mayMatch(stored), "\(labelText) \(fieldText) dropped a match: \(String(decoding: stored, as: UTF8.self))")
                        } else {
                            nonMatching += 1
                            if !selection.mayMatch(stored) { dropped += 1 }
                        }
                    }
                }
            }
        }
        #expect(dropped * 2 > nonMatching, "dropped \(dropped) of \(nonMatching) non-matching objects")
    }

    @Test func substringSearch() {
        let text = Array("abcabdabe\"nodeName\":\"n1\"".utf8)
        #expect(ByteSearch.contains(text, Array("abe".utf8)))
        #expect(ByteSearch.contains(text, Array("\"nodeName\":\"n1\"".utf8)))
        #expect(!ByteSearch.contains(text, Array("\"nodeName\":\"n2\"".utf8)))
        #expect(!ByteSearch.contains(Array("ab".utf8), Array("abc".utf8)))
        #expect(ByteSearch.contains(text, []))
    }

    func percentEncode(_ text: String) -> String {
        text.addingPercentEncodingForQuery()
    }
}

extension String {
    func addingPercentEncodingForQuery() -> String {
        var out = ""
        for byte in utf8 {
            let scalar = Unicode.Scalar(byte)
            if (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A) || "-._~".unicodeScalars.contains(scalar) {
                out.unicodeScalars.append(scalar)
            } else {
                out += "%" + String(byte, radix: 16, uppercase: true).leftPadded(to: 2)
            }
        }
        return out
    }

    func leftPadded(to width: Int) -> String { String(repeating: "0", count: max(0, width - count)) + self }
}
