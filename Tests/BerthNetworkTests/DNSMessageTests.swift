import BerthCore
@testable import BerthNetwork
import BerthTestSupport
import Testing

@Suite("cluster DNS messages", .blockingAllowed)
struct DNSMessageTests {
    /// A query as a resolver sends it: header, name labels, type, class.
    static func query(_ name: String, type: UInt16 = 1, id: UInt16 = 0xBEEF) -> [UInt8] {
        var bytes: [UInt8] = [UInt8(id >> 8), UInt8(id & 0xFF), 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]
        for label in name.split(separator: ".") {
            bytes.append(UInt8(label.utf8.count))
            bytes += Array(label.utf8)
        }
        bytes += [0, UInt8(type >> 8), UInt8(type & 0xFF), 0, 1]
        return bytes
    }

    @Test("a query parses; the answer echoes id and question and carries A records")
    func roundTrip() throws {
        let query = try #require(DNSQuery(Self.query("Web.Default.svc.cluster.local")))
        #expect(query.name == "web.default.svc.cluster.local" && query.type == 1 && query.id == 0xBEEF && query.recursionDesired)
        let answer = query.answer(.noError, addresses: [IPv4.parse("100.64.0.10")!, IPv4.parse("100.64.0.11")!])
        #expect(Array(answer[0..<2]) == [0xBE, 0xEF])
        #expect(answer[2] & 0x80 != 0 && answer[3] & 0x0F == 0)
        #expect(Array(answer[6..<8]) == [0, 2])
        #expect(Array(answer.suffix(4)) == [100, 64, 0, 11])
        let missing = query.answer(.nameError)
        #expect(missing[3] & 0x0F == 3 && Array(missing[6..<8]) == [0, 0])
    }

    @Test("garbage and truncated packets are not queries")
    func refusesGarbage() {
        #expect(DNSQuery([]) == nil)
        #expect(DNSQuery([1, 2, 3]) == nil)
        var truncated = Self.query("web.default.svc.cluster.local")
        truncated.removeLast(3)
        #expect(DNSQuery(truncated) == nil)
        var response = Self.query("web")
        response[2] |= 0x80
        #expect(DNSQuery(response) == nil)
        var badLabel = Self.query("web")
        badLabel[12] = 0xC0
        #expect(DNSQuery(badLabel) == nil)
    }

    @Test("names: services, pods, other cluster names and the outside world")
    func names() {
        #expect(ClusterName("web.default.svc.cluster.local") == .service(name: "web", namespace: "default"))
        #expect(ClusterName("100-96-0-2.default.pod.cluster.local") == .pod(address: IPv4.parse("100.96.0.2")!))
        #expect(ClusterName("web.default.cluster.local") == .unknown)
        #expect(ClusterName("web-0.web.default.svc.cluster.local") == .endpoint(hostname: "web-0", service: "web", namespace: "default"))
        #expect(ClusterName("300-1-1-1.default.pod.cluster.local") == .unknown)
        #expect(ClusterName("_http._tcp.web.default.svc.cluster.local") == .servicePort(port: "http", protocol: "tcp", name: "web", namespace: "default"))
        #expect(ClusterName("http.tcp.web.default.svc.cluster.local") == .unknown)
        #expect(ClusterName("5.1.96.100.in-addr.arpa") == .reverse(address: IPv4.parse("100.96.1.5")!))
        #expect(ClusterName("1.96.100.in-addr.arpa") == .external)
        #expect(ClusterName("300.1.96.100.in-addr.arpa") == .external)
        #expect(ClusterName("example.com") == .external)
        #expect(ClusterName("notcluster.local") == .external)
    }

    @Test("a PTR answer carries the name as labels")
    func ptr() throws {
        let query = try #require(DNSQuery(Self.query("10.0.64.100.in-addr.arpa", type: DNSQuery.typePTR)))
        let answer = query.answer(.noError, pointers: ["web.default.svc.cluster.local"])
        #expect(Array(answer[6..<8]) == [0, 1])
        let name: [UInt8] = [3] + Array("web".utf8) + [7] + Array("default".utf8) + [3] + Array("svc".utf8) + [7] + Array("cluster".utf8) + [5] + Array("local".utf8) + [0]
        #expect(Array(answer.suffix(name.count)) == name)
        let record = answer.count - name.count - 12
        #expect(Array(answer[record..<record + 6]) == [0xC0, 0x0C, 0, 12, 0, 1])
        #expect(Array(answer[(record + 10)..<(record + 12)]) == [0, UInt8(name.count)])
    }

    @Test("an SRV answer carries priority, weight, port and the target name as labels")
    func srv() throws {
        let query = try #require(DNSQuery(Self.query("_http._tcp.web.default.svc.cluster.local", type: DNSQuery.typeSRV)))
        let answer = query.answer(.noError, services: [SRVRecord(port: 80, target: "web.default.svc.cluster.local")])
        #expect(Array(answer[6..<8]) == [0, 1])
        let record = Array(answer[(12 + query.question.count)...])
        #expect(Array(record[0..<4]) == [0xC0, 0x0C, 0, 33])
        let length = Int(record[10]) << 8 | Int(record[11])
        let data = Array(record[12...])
        #expect(data.count == length)
        #expect(Array(data[0..<6]) == [0, 0, 0, 100, 0, 80])
        var labels: [String] = []
        var offset = 6
        while data[offset] != 0 {
            let size = Int(data[offset])
            labels.append(String(decoding: data[(offset + 1)...(offset + size)], as: UTF8.self))
            offset += size + 1
        }
        #expect(labels == ["web", "default", "svc", "cluster", "local"])
        #expect(offset == data.count - 1)
    }
}
