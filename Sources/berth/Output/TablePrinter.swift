import BerthCore
import Foundation

/// Prints `meta.k8s.io/v1` Tables the way kubectl does: upper-case headers, columns padded
/// to the widest cell plus three spaces, wide columns only with `-o wide`.
struct TablePrinter {
    var wide: Bool
    var withNamespace: Bool
    var showHeaders = true

    func columns(_ table: JSONValue) -> [(index: Int, name: String)] {
        let definitions = table["columnDefinitions"]?.arrayValue ?? []
        return definitions.enumerated().compactMap { index, column in
            let priority = column["priority"]?.intValue ?? 0
            guard wide || priority == 0 else { return nil }
            return (index, (column["name"]?.stringValue ?? "").uppercased())
        }
    }

    func lines(_ table: JSONValue, columns: [(index: Int, name: String)]) -> [[String]] {
        var lines: [[String]] = []
        if showHeaders { lines.append((withNamespace ? ["NAMESPACE"] : []) + columns.map(\.name)) }
        for row in table["rows"]?.arrayValue ?? [] {
            let cells = row["cells"]?.arrayValue ?? []
            var line: [String] = []
            if withNamespace { line.append(row.value(at: ["object", "metadata", "namespace"])?.stringValue ?? "") }
            for column in columns {
                line.append(column.index < cells.count ? Self.text(cells[column.index]) : "")
            }
            lines.append(line)
        }
        return lines
    }

    static func text(_ cell: JSONValue) -> String {
        switch cell {
        case .string(let text): text
        case .number(let text): text
        case .bool(let flag): flag ? "true" : "false"
        case .null: "<none>"
        default: JSONWriter.string(cell)
        }
    }

    func render(_ lines: [[String]], widths: [Int]? = nil) -> String {
        let widths = widths ?? Self.widths(lines)
        return lines.map { line in
            line.enumerated().map { index, cell in
                index == line.count - 1 ? cell : cell.padding(toLength: widths[index] + 3, withPad: " ", startingAt: 0)
            }.joined()
        }.joined(separator: "\n")
    }

    static func widths(_ lines: [[String]]) -> [Int] {
        var widths: [Int] = []
        for line in lines {
            for (index, cell) in line.enumerated() {
                if index >= widths.count { widths.append(0) }
                widths[index] = max(widths[index], cell.count)
            }
        }
        return widths
    }
}

/// Prints plain rows under upper-case headers in kubectl's column style.
func printTable(_ headers: [String], _ rows: [[String]]) {
    print(TablePrinter(wide: false, withNamespace: false).render([headers] + rows))
}
