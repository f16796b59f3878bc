import BerthCore
import BerthImages

/// What a replication run copies: pure over the two sides' tag → digest maps.
public enum ReplicationPlan {
    /// `*` matches any run of characters (`/` included), `?` one character.
    public static func matches(_ pattern: String, _ text: String) -> Bool {
        let p = Array(pattern.utf8), t = Array(text.utf8)
        var pi = 0, ti = 0, star = -1, mark = 0
        while ti < t.count {
            if pi < p.count, p[pi] == UInt8(ascii: "?") || p[pi] == t[ti] {
                pi += 1; ti += 1
            } else if pi < p.count, p[pi] == UInt8(ascii: "*") {
                star = pi; mark = ti; pi += 1
            } else if star >= 0 {
                pi = star + 1; mark += 1; ti = mark
            } else {
                return false
            }
        }
        while pi < p.count, p[pi] == UInt8(ascii: "*") { pi += 1 }
        return pi == p.count
    }

    /// Whether any pattern matches (no patterns: everything does).
    public static func selected(_ text: String, by patterns: [String]?) -> Bool {
        guard let patterns, !patterns.isEmpty else { return true }
        return patterns.contains { matches($0, text) }
    }

    /// The tags to copy: selected on the source and missing or different on the target.
    public static func tagsToCopy(source: [String: Digest], target: [String: Digest], tagPatterns: [String]?) -> [String] {
        source.keys.filter { selected($0, by: tagPatterns) && target[$0] != source[$0] }.sorted()
    }
}
