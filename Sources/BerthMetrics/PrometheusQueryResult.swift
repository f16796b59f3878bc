import BerthCore

/// The answer of Prometheus' `/api/v1/query`: a vector (one sample per series) or a scalar.
public struct PrometheusSample: Sendable, Equatable {
    public var labels: [String: String]
    public var value: Double
    /// Seconds since the epoch.
    public var time: Double
}

public enum PrometheusQueryResult {
    public enum Failure: Error, Equatable {
        /// Prometheus answered with an error (`errorType`, `error`).
        case refused(String)
        case malformed(String)
    }

    public static func parse(_ body: JSONValue) throws(Failure) -> [PrometheusSample] {
        guard body["status"]?.stringValue == "success" else {
            throw .refused("\(body["errorType"]?.stringValue ?? "error"): \(body["error"]?.stringValue ?? "Prometheus refused the query")")
        }
        guard let data = body["data"], let type = data["resultType"]?.stringValue else { throw .malformed("no data.resultType") }
        func sample(_ pair: JSONValue?, labels: [String: String]) throws(Failure) -> PrometheusSample {
            guard let items = pair?.arrayValue, items.count == 2, let value = number(items[1]), let time = number(items[0]) else {
                throw .malformed("a sample is not [time, \"value\"]")
            }
            return PrometheusSample(labels: labels, value: value, time: time)
        }
        switch type {
        case "vector":
            var samples: [PrometheusSample] = []
            for entry in data["result"]?.arrayValue ?? [] {
                let labels = (entry["metric"]?.objectValue ?? [:]).compactMapValues(\.stringValue)
                samples.append(try sample(entry["value"], labels: labels))
            }
            return samples
        case "scalar":
            return [try sample(data["result"], labels: [:])]
        default:
            throw .malformed("the query gives a \(type); a metric needs an instant vector or a scalar (no range selector at the top)")
        }
    }

    static func number(_ value: JSONValue) -> Double? {
        switch value {
        case .number(let text): return Double(text)
        case .string(let text):
            switch text {
            case "NaN": return .nan
            case "+Inf": return .infinity
            case "-Inf": return -.infinity
            default: return Double(text)
            }
        default: return nil
        }
    }
}
