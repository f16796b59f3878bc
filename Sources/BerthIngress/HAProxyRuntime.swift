/// What HAProxy's runtime API can change without a reload: the address, port, weight and
/// state of a server. Backends are rendered with spare server slots (`HAProxyConfig.slots`),
/// so an endpoint that comes or goes changes only server lines; when two configurations differ
/// only there, `commands` says how to bring a running HAProxy from one to the other, and the
/// agent sends them to the admin socket instead of reloading. Anything else (a route, a
/// backend, a slot count) is a structural change and is applied by a seamless reload. Pure.
public enum HAProxyRuntime {
    public struct Server: Equatable, Sendable {
        public var address: String
        public var port: Int
        public var weight: Int?
        public var disabled: Bool
    }

    /// Every server line of a configuration, by `backend/server`.
    public static func servers(_ config: String) -> [String: Server] {
        var found: [String: Server] = [:]
        var backend = ""
        for line in config.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("backend ") {
                backend = String(line.dropFirst(8))
                continue
            }
            guard line.hasPrefix("    server ") else { continue }
            let words = line.split(separator: " ")
            guard words.count >= 3, let colon = words[2].lastIndex(of: ":"), let port = Int(words[2][words[2].index(after: colon)...]) else { continue }
            let weight = words.firstIndex(of: "weight").flatMap { $0 + 1 < words.count ? Int(words[$0 + 1]) : nil }
            found["\(backend)/\(words[1])"] = Server(address: String(words[2][..<colon]), port: port, weight: weight, disabled: words.contains("disabled"))
        }
        return found
    }

    /// The configuration with each server line reduced to what only a reload can change.
    public static func skeleton(_ config: String) -> String {
        config.split(separator: "\n", omittingEmptySubsequences: false).map { line -> String in
            guard line.hasPrefix("    server ") else { return String(line) }
            var words = line.split(separator: " ").map(String.init)
            guard words.count >= 3 else { return String(line) }
            words.remove(at: 2)
            if let index = words.firstIndex(of: "weight"), index + 1 < words.count { words.removeSubrange(index...index + 1) }
            words.removeAll { $0 == "disabled" }
            return "    " + words.joined(separator: " ")
        }.joined(separator: "\n")
    }

    /// The runtime commands that turn a HAProxy running `old` into one running `new`; nil when
    /// the change is structural (a reload is needed). Empty when nothing changes.
    public static func commands(from old: String, to new: String) -> [String]? {
        guard skeleton(old) == skeleton(new) else { return nil }
        let (before, after) = (servers(old), servers(new))
        var commands: [String] = []
        for key in after.keys.sorted() {
            guard let wanted = after[key], let current = before[key] else { return nil }
            if wanted.disabled {
                if !current.disabled { commands.append("set server \(key) state maint") }
                continue
            }
            if wanted.address != current.address || wanted.port != current.port {
                commands.append("set server \(key) addr \(wanted.address) port \(wanted.port)")
            }
            if (wanted.weight ?? 1) != (current.weight ?? 1) { commands.append("set server \(key) weight \(wanted.weight ?? 1)") }
            if current.disabled { commands.append("set server \(key) state ready") }
        }
        return commands
    }
}
