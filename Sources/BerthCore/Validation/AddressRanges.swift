/// The address lists of IPPool and LoadBalancerPool (`spec.addresses`), checked the same way:
/// every entry parses, no two overlap, the pool stays within its size.
enum AddressRanges {
    /// Validates `entries` at `spec.addresses`; `parse` reads one entry, `format` says what
    /// entries may look like.
    static func validate(_ entries: [String], parse: (String) -> ClosedRange<UInt32>?, maximumSize: Int, into errors: inout FieldErrors,
                         format: String) {
        if entries.isEmpty { errors.required("spec.addresses") }
        var parsed: [(index: Int, range: ClosedRange<UInt32>)] = []
        for (index, entry) in entries.enumerated() {
            guard let range = parse(entry) else {
                errors.invalid("spec.addresses[\(index)]", entry, "must be \(format)")
                continue
            }
            if let earlier = parsed.first(where: { $0.range.overlaps(range) }) {
                errors.invalid("spec.addresses[\(index)]", entry, "overlaps spec.addresses[\(earlier.index)]")
            }
            parsed.append((index, range))
        }
        let total = parsed.reduce(0) { $0 + Int($1.range.upperBound - $1.range.lowerBound) + 1 }
        if total > maximumSize {
            errors.invalid("spec.addresses", String(total), "a pool may hold at most \(maximumSize) addresses")
        }
    }
}
