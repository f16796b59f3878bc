import BerthCore
import BerthIngress
import BerthTestSupport
import Foundation
import Testing

@Suite("HAProxy runtime API changes", .blockingAllowed)
struct HAProxyRuntimeTests {
    static func config(_ servers: [IngressPlan.Server], cookie: Bool = false) -> String {
        var plan = IngressPlan()
        plan.routes = [.init(host: "a.test", path: "/", exact: false, backend: "shop_web_80", source: "shop/web")]
        var backend = IngressPlan.Backend(name: "shop_web_80", servers: servers)
        if cookie { backend.options.cookie = "BERTHROUTE" }
        plan.backends = [backend]
        return HAProxyConfig(adminSocket: "/a.sock", certificateList: "/c.list").render(plan, tls: false)
    }

    @Test("endpoints that come, go, move or change weight within the slots are runtime commands")
    func endpointChanges() throws {
        let one = Self.config([.init(ip: "100.96.0.3", port: 8080)])
        #expect(one.contains("server s0 100.96.0.3:8080\n") && one.contains("server s3 127.0.0.1:1 disabled\n"), "four slots, three spare")
        let two = Self.config([.init(ip: "100.96.0.3", port: 8080), .init(ip: "100.96.0.7", port: 8080)])
        #expect(HAProxyRuntime.commands(from: one, to: two) == ["set server shop_web_80/s1 addr 100.96.0.7 port 8080", "set server shop_web_80/s1 state ready"])
        #expect(HAProxyRuntime.commands(from: two, to: one) == ["set server shop_web_80/s1 state maint"])
        let moved = Self.config([.init(ip: "100.96.0.9", port: 9090, weight: 20)])
        #expect(HAProxyRuntime.commands(from: one, to: moved) == ["set server shop_web_80/s0 addr 100.96.0.9 port 9090", "set server shop_web_80/s0 weight 20"])
        #expect(HAProxyRuntime.commands(from: one, to: one) == [])
    }

    @Test("more endpoints than slots, or any other change, needs a reload")
    func structuralChanges() {
        let four = Self.config((1...4).map { .init(ip: "100.96.0.\($0)", port: 80) })
        let five = Self.config((1...5).map { .init(ip: "100.96.0.\($0)", port: 80) })
        #expect(five.contains("server s7 127.0.0.1:1 disabled"), "eight slots for five")
        #expect(HAProxyRuntime.commands(from: four, to: five) == nil)
        #expect(HAProxyRuntime.commands(from: four, to: Self.config((1...4).map { .init(ip: "100.96.0.\($0)", port: 80) }, cookie: true)) == nil)
    }

    @Test("a running HAProxy takes the commands: a spare slot serves after `state ready`", .enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/sbin/haproxy")))
    func liveHAProxy() async throws {
        let directory = NSTemporaryDirectory() + "berth-hart-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var plan = IngressPlan()
        plan.backends = [IngressPlan.Backend(name: "b", servers: [.init(ip: "127.0.0.1", port: 9)])]
        var config = HAProxyConfig(adminSocket: directory + "/admin.sock", certificateList: directory + "/c.list")
        let port = try runCommand("/usr/bin/python3", ["-c", "import socket; s=socket.socket(); s.bind(('127.0.0.1',0)); print(s.getsockname()[1])"])
        config.httpPort = Int(port.output.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 18791
        config.bindAddress = "127.0.0.1"
        let text = config.render(plan, tls: false)
        try text.write(toFile: directory + "/haproxy.cfg", atomically: true, encoding: .utf8)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/sbin/haproxy")
        process.arguments = ["-f", directory + "/haproxy.cfg"]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        defer {
            process.terminate()
            process.waitUntilExit()
        }
        let socket = directory + "/admin.sock"
        _ = try await waitFor("the admin socket", timeout: 10) { FileManager.default.fileExists(atPath: socket) ? true : nil }
        plan.backends[0].servers.append(.init(ip: "127.0.0.1", port: 10))
        let commands = try #require(HAProxyRuntime.commands(from: text, to: config.render(plan, tls: false)))
        let result = try runCommand("/usr/bin/python3", ["-c", """
            import socket, sys
            for command in sys.argv[2:]:
                s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.sendall((command + "\\n").encode())
                answer = b""
                while True:
                    chunk = s.recv(4096)
                    if not chunk: break
                    answer += chunk
                print(repr(answer.decode()))
            s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.sendall(b"show servers state b\\n")
            print(s.makefile().read())
            """, socket] + commands)
        #expect(result.status == 0, "\(result.error)")
        // `show servers state`: be_id be_name srv_id srv_name srv_addr srv_op_state (2: running) … srv_port.
        let s1 = result.output.split(separator: "\n").first { $0.contains(" s1 ") }.map { $0.split(separator: " ") } ?? []
        #expect(s1.count > 18 && s1[4] == "127.0.0.1" && s1[5] == "2" && s1[18] == "10", "\(result.output)")
        #expect(commands.allSatisfy { command in result.output.contains("changed from") || !command.contains(" addr ") })
    }
}
