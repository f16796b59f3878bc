import BerthCore

/// Node scores, each on 0...100 before weighting, like kube-scheduler's default plugins.
/// Raw scores that only mean something relative to other nodes (affinity weights, replica
/// counts, PreferNoSchedule taints) are normalised over the feasible nodes afterwards.
struct NodeScores {
    var leastAllocated: Double
    var balanced: Double
    var imageLocality: Double
    var nodeAffinityRaw: Double
    var podAffinityRaw: Double
    var ownerPodsOnNode: Int
    var ownerPodsInZone: Int
    var intolerablePreferNoSchedule: Int
    /// Matching pods in the node's domains over soft topology spread constraints (fewer is better).
    var topologySpreadRaw = 0.0
}

enum ScoreWeights {
    static let leastAllocated = 1.0
    static let balanced = 1.0
    static let imageLocality = 1.0
    static let nodeAffinity = 2.0
    static let podAffinity = 2.0
    static let spreading = 2.0
    static let taintToleration = 3.0
    static let topologySpread = 2.0
}

enum SchedulingScores {
    static func raw(_ request: SchedulingRequest, _ node: NodeInfo, index: Int, _ affinity: AffinityContext,
                    ownerCounts: [Int: Int]?, zoneCounts: [String: Int]?) -> NodeScores {
        let requests = request.summary.requests
        let cpuFraction = fraction(node.requested.milliCPU + requests.milliCPU, node.allocatable.milliCPU)
        let memoryFraction = fraction(node.requested.memory + requests.memory, node.allocatable.memory)
        var nodeAffinity = 0.0
        for preferred in request.preferredNodeTerms where preferred.preference.matches(labels: node.labels, name: node.name) {
            nodeAffinity += Double(preferred.weight)
        }
        var podAffinity = 0.0
        if !affinity.preferredCounts.isEmpty {
            let terms = request.preferredAffinity.map { ($0.weight, $0.term.topologyKey, 1.0) }
                + request.preferredAntiAffinity.map { ($0.weight, $0.term.topologyKey, -1.0) }
            for (index, (weight, key, sign)) in terms.enumerated() {
                guard let value = node.labels[key], let count = affinity.preferredCounts[index][value] else { continue }
                podAffinity += sign * Double(weight * count)
            }
        }
        var images = 0.0
        if !node.images.isEmpty, !request.images.isEmpty {
            let present = request.images.filter { node.images.contains($0) || node.images.contains(ImageNames.normalized($0)) }.count
            images = 100 * Double(present) / Double(request.images.count)
        }
        let zone = node.labels[TopologyKeys.zone]
        return NodeScores(
            leastAllocated: ((1 - cpuFraction) + (1 - memoryFraction)) * 50,
            balanced: (1 - abs(cpuFraction - memoryFraction) / 2) * 100,
            imageLocality: images,
            nodeAffinityRaw: nodeAffinity,
            podAffinityRaw: podAffinity,
            ownerPodsOnNode: ownerCounts?[index] ?? 0,
            ownerPodsInZone: zone.flatMap { zoneCounts?[$0] } ?? 0,
            intolerablePreferNoSchedule: node.taints.filter { taint in
                taint.effect == "PreferNoSchedule" && !request.tolerations.contains { $0.tolerates(taint) }
            }.count)
    }

    /// Share of a resource in use once the pod is added, clamped to 0...1; a node that reports
    /// none of a resource counts as full of it.
    static func fraction(_ used: Int64, _ allocatable: Int64) -> Double {
        guard allocatable > 0 else { return 1 }
        return min(1, max(0, Double(used) / Double(allocatable)))
    }

    /// Weighted totals for the feasible nodes, after normalising the relative scores.
    static func totals(_ scores: [NodeScores], zonesInUse: Bool) -> [Double] {
        // One pass for the extremes (key-path maps cost more than the scoring itself here).
        var maxNodeAffinity = 0.0, maxPodAffinity = -Double.infinity, minPodAffinity = Double.infinity
        var maxOwnerOnNode = 0, maxOwnerInZone = 0, maxTaints = 0
        var maxSpread = 0.0, minSpread = Double.infinity
        for score in scores {
            maxSpread = max(maxSpread, score.topologySpreadRaw)
            minSpread = min(minSpread, score.topologySpreadRaw)
            maxNodeAffinity = max(maxNodeAffinity, score.nodeAffinityRaw)
            maxPodAffinity = max(maxPodAffinity, score.podAffinityRaw)
            minPodAffinity = min(minPodAffinity, score.podAffinityRaw)
            maxOwnerOnNode = max(maxOwnerOnNode, score.ownerPodsOnNode)
            maxOwnerInZone = max(maxOwnerInZone, score.ownerPodsInZone)
            maxTaints = max(maxTaints, score.intolerablePreferNoSchedule)
        }
        return scores.map { score in
            var total = score.leastAllocated * ScoreWeights.leastAllocated
                + score.balanced * ScoreWeights.balanced
                + score.imageLocality * ScoreWeights.imageLocality
            if maxNodeAffinity > 0 { total += 100 * score.nodeAffinityRaw / maxNodeAffinity * ScoreWeights.nodeAffinity }
            if maxSpread > minSpread {
                total += 100 * (maxSpread - score.topologySpreadRaw) / (maxSpread - minSpread) * ScoreWeights.topologySpread
            }
            if maxPodAffinity > minPodAffinity {
                total += 100 * (score.podAffinityRaw - minPodAffinity) / (maxPodAffinity - minPodAffinity) * ScoreWeights.podAffinity
            }
            var spread = maxOwnerOnNode > 0 ? 100 * Double(maxOwnerOnNode - score.ownerPodsOnNode) / Double(maxOwnerOnNode) : 100
            if zonesInUse {
                let zoneSpread = maxOwnerInZone > 0 ? 100 * Double(maxOwnerInZone - score.ownerPodsInZone) / Double(maxOwnerInZone) : 100
                spread = spread / 3 + zoneSpread * 2 / 3
            }
            total += spread * ScoreWeights.spreading
            if maxTaints > 0 {
                total += 100 * Double(maxTaints - score.intolerablePreferNoSchedule) / Double(maxTaints) * ScoreWeights.taintToleration
            } else {
                total += 100 * ScoreWeights.taintToleration
            }
            return total
        }
    }
}

enum ImageNames {
    /// `nginx` → `docker.io/library/nginx:latest`, the form nodes report.
    static func normalized(_ name: String) -> String {
        var result = name
        let firstComponent = name.split(separator: "/").first.map(String.init) ?? name
        let hasRegistry = name.contains("/") && (firstComponent.contains(".") || firstComponent.contains(":") || firstComponent == "localhost")
        if !hasRegistry { result = name.contains("/") ? "docker.io/" + name : "docker.io/library/" + name }
        let lastComponent = result.split(separator: "/").last ?? ""
        if !lastComponent.contains(":") && !lastComponent.contains("@") { result += ":latest" }
        return result
    }
}
