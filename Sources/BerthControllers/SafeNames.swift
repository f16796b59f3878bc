/// The hash and alphabet of the names controllers make up (a ReplicaSet's `pod-template-hash`,
/// an EndpointSlice's suffix): FNV-1a, spelled with Kubernetes' safe alphabet (no vowels, so a
/// name never forms a word, and never looks like a number).
enum SafeNames {
    static let alphabet = Array("bcdfghjklmnpqrstvwxz2456789")

    static func fnv1a(_ bytes: some Sequence<UInt8>, continuing hash: UInt32 = 2_166_136_261) -> UInt32 {
        var hash = hash
        for byte in bytes {
            hash ^= UInt32(byte)
            hash = hash &* 16_777_619
        }
        return hash
    }
}
