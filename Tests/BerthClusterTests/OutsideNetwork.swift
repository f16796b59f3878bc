import BerthCore
import BerthTestSupport
import Foundation

/// A machine outside the cluster on the cluster's underlay: a network namespace on the
/// fixture's underlay bridge at 100.72.K.200 with no route beyond it, serving HTTP on port 8000
/// (busybox httpd) whose `/cgi-bin/ip` answers with the caller's address. Removed by `tearDown`,
/// its server stopped by PID.
final class OutsideNetwork: @unchecked Sendable {
    let namespace: String
    let address: String
    let directory: String
    private var server: Process?

    init(cluster: ClusterFixture) throws {
        namespace = "berth-out-\(cluster.index)"
        address = "\(cluster.underlayPrefix).200"
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("berth-outside-\(UUID().uuidString)").path
        let veth = "vo\(cluster.index)"
        _ = try? runCommand("/usr/sbin/ip", ["netns", "delete", namespace])
        try cluster.sh("""
            ip netns add \(namespace) && ip link add \(veth) type veth peer name eth0 netns \(namespace) && \
            ip link set \(veth) master \(cluster.bridge) up && \
            ip -n \(namespace) addr add \(address)/24 dev eth0 && ip -n \(namespace) link set eth0 up && ip -n \(namespace) link set lo up
            """)
        try FileManager.default.createDirectory(atPath: directory + "/cgi-bin", withIntermediateDirectories: true)
        try "outside\n".write(toFile: directory + "/index.html", atomically: true, encoding: .utf8)
        let script = directory + "/cgi-bin/ip"
        try "#!/bin/sh\necho 'Content-Type: text/plain'\necho\necho \"$REMOTE_ADDR\"\n".write(toFile: script, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: script)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/sbin/ip")
        process.arguments = ["netns", "exec", namespace, "/bin/busybox", "httpd", "-f", "-p", "\(address):8000", "-h", directory]
        try process.run()
        server = process
    }

    /// curl from the outside machine; the body, or nil when the request failed.
    func curl(_ url: String, timeout: Int = 3) throws -> String? {
        let result = try runCommand("/usr/sbin/ip", ["netns", "exec", namespace, "/usr/bin/curl", "-s", "-f", "-m", String(timeout), url], timeout: TimeInterval(timeout + 5))
        return result.status == 0 ? result.output.trimmingCharacters(in: .whitespacesAndNewlines) : nil
    }

    func route(_ destination: String, via gateway: String) throws {
        _ = try runCommand("/usr/sbin/ip", ["-n", namespace, "route", "replace", destination, "via", gateway])
    }

    func tearDown() {
        if let server, server.isRunning {
            // SIGKILL: children of the test process inherit its blocked SIGTERM.
            kill(server.processIdentifier, SIGKILL)
            server.waitUntilExit()
        }
        _ = try? runCommand("/usr/sbin/ip", ["netns", "delete", namespace])
        try? FileManager.default.removeItem(atPath: directory)
    }
}
