import BerthTestSupport
import Foundation
import Testing

/// The README's Quickstart, run as written: every `sh` block of the section, in order, in one
/// bash with `set -euo pipefail`, against a real `berth up` (containers, networking, DNS).
/// Only the data directory differs (`/var/lib/berth` → the test's, `BERTH_DATA_DIR` for the
/// commands that take it by default), and `berth` and kubectl 1.33 come first on the PATH.
@Suite("README Quickstart", .serialized, .blockingAllowed)
struct ReadmeQuickstartTests {
    /// The `sh` blocks between `## Quickstart` and the next `## ` heading.
    static func quickstartBlocks(_ readme: String) -> [String] {
        guard let start = readme.range(of: "\n## Quickstart\n") else { return [] }
        let rest = readme[start.upperBound...]
        let section = rest.range(of: "\n## ").map { rest[..<$0.lowerBound] } ?? rest
        var blocks: [String] = []
        var current: [Substring]?
        for line in section.split(separator: "\n", omittingEmptySubsequences: false) {
            if current == nil, line == "```sh" {
                current = []
            } else if current != nil, line == "```" {
                blocks.append(current!.joined(separator: "\n"))
                current = nil
            } else if current != nil {
                current!.append(line)
            }
        }
        return blocks
    }

    @Test func quickstartRunsAsWritten() async throws {
        let readme = try String(contentsOfFile: BerthServerProcess.packageRoot.appendingPathComponent("README.md").path, encoding: .utf8)
        let blocks = Self.quickstartBlocks(readme)
        #expect(blocks.count >= 4, "the Quickstart's sh blocks: \(blocks.count)")
        let server = BerthServerProcess(role: "up", extraArguments: ["--node-name", "readme-node", "--bridge-name", "brreadme", "--pod-subnet", "100.96.46.0/24"])
        let tools = FileManager.default.temporaryDirectory.appendingPathComponent("berth-readme-bin-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: tools, withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: tools + "/berth", withDestinationPath: BerthServerProcess.binary)
        try FileManager.default.createSymbolicLink(atPath: tools + "/kubectl", withDestinationPath: kubectlPath)
        defer {
            let kubectl = { (arguments: [String]) in _ = try? runCommand(kubectlPath, ["--kubeconfig", server.kubeconfigPath] + arguments, timeout: 90) }
            kubectl(["delete", "deployments", "--all", "--all-namespaces", "--wait=true", "--timeout=60s"])
            kubectl(["delete", "pods", "--all", "--all-namespaces", "--grace-period=1", "--wait=true", "--timeout=60s"])
            server.stop()
            HostLeftovers.remove(dataDirectory: server.dataDirectory)
            server.cleanUp()
            HostLeftovers.removeBridge("brreadme")
            try? FileManager.default.removeItem(atPath: tools)
        }
        try await server.start()
        let script = (["set -euo pipefail", "set -x"] + blocks).joined(separator: "\n")
            .replacingOccurrences(of: "/var/lib/berth", with: server.dataDirectory)
        let environment = ["PATH=\(tools):/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "BERTH_DATA_DIR=\(server.dataDirectory)", "HOME=\(tools)"]
        let result = try runCommand("/usr/bin/env", environment + ["bash", "-c", script], timeout: 900)
        #expect(result.status == 0, "the Quickstart failed:\n\(result.error.suffix(4000))\n--- output ---\n\(result.output.suffix(3000))")
        // What the blocks claim, checked: the Service answered with a web pod's name, the
        // token command printed a join command.
        #expect(result.output.contains("web-"), "\(result.output.suffix(2000))")
        #expect(result.error.contains("berth agent --join https://127.0.0.1:"), "\(result.error.suffix(2000))")
    }
}
