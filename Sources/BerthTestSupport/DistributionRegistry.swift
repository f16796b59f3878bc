import Foundation

/// A CNCF Distribution registry (Debian's `docker-registry` 2.8) on a free loopback port with
/// its own storage directory, for pull tests and as the other side of replication; stopped by
/// PID and its directory removed by `stop`.
public final class DistributionRegistry: @unchecked Sendable {
    public let directory = FileManager.default.temporaryDirectory.appendingPathComponent("berth-distribution-\(UUID().uuidString)").path
    public let port = FreePort.next()
    private var process: Process?

    public var host: String { "127.0.0.1:\(port)" }

    public init(basicAuth: (user: String, password: String)? = nil) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        var config = "version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: \(directory)/data\n  delete:\n    enabled: true\nhttp:\n  addr: 127.0.0.1:\(port)\n"
        if let basicAuth {
            let hash = try runCommand("/usr/bin/htpasswd", ["-Bbn", basicAuth.user, basicAuth.password])
            try Data(hash.output.utf8).write(to: URL(fileURLWithPath: directory + "/htpasswd"))
            config += "auth:\n  htpasswd:\n    realm: berth-test\n    path: \(directory)/htpasswd\n"
        }
        try Data(config.utf8).write(to: URL(fileURLWithPath: directory + "/config.yml"))
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/docker-registry")
        process.arguments = ["serve", directory + "/config.yml"]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        self.process = process
        for _ in 0..<100 {
            if let result = try? runCommand("/usr/bin/curl", ["-s", "-o", "/dev/null", "-w", "%{http_code}", "http://\(host)/v2/"]),
               result.output == "200" || result.output == "401" { return }
            usleep(50_000)
        }
    }

    public func stop() {
        if let process, process.isRunning {
            process.terminate()
            process.waitUntilExit()
        }
        try? FileManager.default.removeItem(atPath: directory)
    }
}
