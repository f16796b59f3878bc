/// Coding keys and paths shared by `JSONValueDecoder` and `JSONValueEncoder`.

struct AnyCodingKey: CodingKey {
    private let name: String?
    let intValue: Int?
    /// Array indices spell themselves only when a path is printed (every element gets a key).
    var stringValue: String { name ?? String(intValue ?? 0) }
    init(stringValue: String) {
        self.name = stringValue
        self.intValue = nil
    }
    init(intValue: Int) {
        self.name = nil
        self.intValue = intValue
    }
}

/// A coding path as a chain from the innermost key outwards. Appending is one small
/// allocation instead of copying the whole array of existentials, and scalar fields never
/// append at all: the full `[CodingKey]` is spelled only when an error or a custom
/// `init(from:)` asks for it.
final class PathNode {
    let parent: PathNode?
    let key: any CodingKey
    init(parent: PathNode?, key: any CodingKey) {
        self.parent = parent
        self.key = key
    }
}

struct LazyCodingPath {
    var node: PathNode?

    static var root: LazyCodingPath { LazyCodingPath(node: nil) }

    func appending(_ key: any CodingKey) -> LazyCodingPath { LazyCodingPath(node: PathNode(parent: node, key: key)) }

    var keys: [any CodingKey] {
        var keys: [any CodingKey] = []
        var current = node
        while let link = current {
            keys.append(link.key)
            current = link.parent
        }
        return keys.reversed()
    }
}
