/// NaCl's `secretbox` (XSalsa20 and Poly1305), as Kubernetes' `secretbox` encryption provider
/// uses it through Go's `golang.org/x/crypto/nacl/secretbox`: a 32-byte key, a 24-byte nonce,
/// and a sealed box of the 16-byte tag followed by the ciphertext. swift-crypto has neither
/// primitive, so both are here, written from their specifications (Bernstein's "Salsa20
/// specification", "Extending the Salsa20 nonce", RFC 8439 §2.5 for Poly1305).
public enum SecretBox {
    public static let keySize = 32
    public static let nonceSize = 24
    public static let tagSize = 16

    public static func seal(_ message: [UInt8], nonce: [UInt8], key: [UInt8]) -> [UInt8] {
        precondition(key.count == keySize && nonce.count == nonceSize)
        var stream = XSalsa20(key: key, nonce: nonce)
        let polyKey = stream.next(32)
        var ciphertext = message
        stream.xor(&ciphertext)
        return Poly1305.tag(ciphertext, key: polyKey) + ciphertext
    }

    /// The message, or nil when the box was not sealed with this key and nonce.
    public static func open(_ box: [UInt8], nonce: [UInt8], key: [UInt8]) -> [UInt8]? {
        guard key.count == keySize, nonce.count == nonceSize, box.count >= tagSize else { return nil }
        var stream = XSalsa20(key: key, nonce: nonce)
        let polyKey = stream.next(32)
        let ciphertext = Array(box[tagSize...])
        let expected = Poly1305.tag(ciphertext, key: polyKey)
        // Constant time: every byte compared whatever differs.
        var difference: UInt8 = 0
        for index in 0..<tagSize { difference |= expected[index] ^ box[index] }
        guard difference == 0 else { return nil }
        var message = ciphertext
        stream.xor(&message)
        return message
    }
}

/// The XSalsa20 key stream: HSalsa20 turns the key and the nonce's first 16 bytes into a
/// subkey for Salsa20 with the nonce's last 8 bytes.
struct XSalsa20 {
    private var state: [UInt32]
    private var block: [UInt8] = []
    private var used = 64

    init(key: [UInt8], nonce: [UInt8]) {
        let subkey = Self.hsalsa20(key: key, input: Array(nonce[0..<16]))
        state = Self.initialState(key: subkey, input: Array(nonce[16..<24]) + [UInt8](repeating: 0, count: 8))
    }

    static let sigma: [UInt32] = [0x6170_7865, 0x3320_646e, 0x7962_2d32, 0x6b20_6574]

    static func word(_ bytes: [UInt8], _ offset: Int) -> UInt32 {
        UInt32(bytes[offset]) | UInt32(bytes[offset + 1]) << 8 | UInt32(bytes[offset + 2]) << 16 | UInt32(bytes[offset + 3]) << 24
    }

    /// The 16 words: constants on the diagonal, the key, then 16 bytes of nonce and counter.
    static func initialState(key: [UInt8], input: [UInt8]) -> [UInt32] {
        [sigma[0], word(key, 0), word(key, 4), word(key, 8), word(key, 12), sigma[1],
         word(input, 0), word(input, 4), word(input, 8), word(input, 12),
         sigma[2], word(key, 16), word(key, 20), word(key, 24), word(key, 28), sigma[3]]
    }

    static func rounds(_ x: inout [UInt32]) {
        func quarter(_ a: Int, _ b: Int, _ c: Int, _ d: Int) {
            x[b] ^= (x[a] &+ x[d]).rotatedLeft(7)
            x[c] ^= (x[b] &+ x[a]).rotatedLeft(9)
            x[d] ^= (x[c] &+ x[b]).rotatedLeft(13)
            x[a] ^= (x[d] &+ x[c]).rotatedLeft(18)
        }
        for _ in 0..<10 {
            quarter(0, 4, 8, 12); quarter(5, 9, 13, 1); quarter(10, 14, 2, 6); quarter(15, 3, 7, 11)
            quarter(0, 1, 2, 3); quarter(5, 6, 7, 4); quarter(10, 11, 8, 9); quarter(15, 12, 13, 14)
        }
    }

    static func hsalsa20(key: [UInt8], input: [UInt8]) -> [UInt8] {
        var x = initialState(key: key, input: input)
        rounds(&x)
        var out: [UInt8] = []
        for index in [0, 5, 10, 15, 6, 7, 8, 9] { out += withUnsafeBytes(of: x[index].littleEndian, Array.init) }
        return out
    }

    private mutating func refill() {
        var x = state
        Self.rounds(&x)
        block = []
        block.reserveCapacity(64)
        for index in 0..<16 { block += withUnsafeBytes(of: (x[index] &+ state[index]).littleEndian, Array.init) }
        // The 64-bit block counter in words 8 and 9.
        state[8] = state[8] &+ 1
        if state[8] == 0 { state[9] = state[9] &+ 1 }
        used = 0
    }

    mutating func next(_ count: Int) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(count)
        while out.count < count {
            if used == 64 { refill() }
            out.append(block[used])
            used += 1
        }
        return out
    }

    mutating func xor(_ bytes: inout [UInt8]) {
        for index in bytes.indices {
            if used == 64 { refill() }
            bytes[index] ^= block[used]
            used += 1
        }
    }
}

extension UInt32 {
    func rotatedLeft(_ count: UInt32) -> UInt32 { (self << count) | (self >> (32 - count)) }
}

/// Poly1305 one-time authenticator (RFC 8439 §2.5), in 26-bit limbs.
enum Poly1305 {
    static func tag(_ message: [UInt8], key: [UInt8]) -> [UInt8] {
        func le32(_ bytes: [UInt8], _ offset: Int) -> UInt32 { XSalsa20.word(bytes, offset) }
        let mask: UInt32 = 0x3ff_ffff
        let r0 = le32(key, 0) & 0x3ff_ffff, r1 = (le32(key, 3) >> 2) & 0x3ff_ff03, r2 = (le32(key, 6) >> 4) & 0x3ff_c0ff
        let r3 = (le32(key, 9) >> 6) & 0x3f0_3fff, r4 = (le32(key, 12) >> 8) & 0x00f_ffff
        let s1 = UInt64(r1 * 5), s2 = UInt64(r2 * 5), s3 = UInt64(r3 * 5), s4 = UInt64(r4 * 5)
        let (R0, R1, R2, R3, R4) = (UInt64(r0), UInt64(r1), UInt64(r2), UInt64(r3), UInt64(r4))
        var h0: UInt32 = 0, h1: UInt32 = 0, h2: UInt32 = 0, h3: UInt32 = 0, h4: UInt32 = 0
        var offset = 0
        while offset < message.count {
            var chunk = Array(message[offset..<min(offset + 16, message.count)])
            let full = chunk.count == 16
            if !full {
                chunk.append(1)
                chunk += [UInt8](repeating: 0, count: 16 - chunk.count)
            }
            let hibit: UInt32 = full ? 1 << 24 : 0
            h0 &+= le32(chunk, 0) & mask
            h1 &+= (le32(chunk, 3) >> 2) & mask
            h2 &+= (le32(chunk, 6) >> 4) & mask
            h3 &+= (le32(chunk, 9) >> 6) & mask
            h4 &+= (le32(chunk, 12) >> 8) | hibit
            let (H0, H1, H2, H3, H4) = (UInt64(h0), UInt64(h1), UInt64(h2), UInt64(h3), UInt64(h4))
            let d0 = H0 * R0 + H1 * s4 + H2 * s3 + H3 * s2 + H4 * s1
            var d1 = H0 * R1 + H1 * R0 + H2 * s4 + H3 * s3 + H4 * s2
            var d2 = H0 * R2 + H1 * R1 + H2 * R0 + H3 * s4 + H4 * s3
            var d3 = H0 * R3 + H1 * R2 + H2 * R1 + H3 * R0 + H4 * s4
            var d4 = H0 * R4 + H1 * R3 + H2 * R2 + H3 * R1 + H4 * R0
            var c = d0 >> 26; h0 = UInt32(d0 & 0x3ff_ffff)
            d1 += c; c = d1 >> 26; h1 = UInt32(d1 & 0x3ff_ffff)
            d2 += c; c = d2 >> 26; h2 = UInt32(d2 & 0x3ff_ffff)
            d3 += c; c = d3 >> 26; h3 = UInt32(d3 & 0x3ff_ffff)
            d4 += c; c = d4 >> 26; h4 = UInt32(d4 & 0x3ff_ffff)
            h0 &+= UInt32(c) &* 5
            let carry = h0 >> 26
            h0 &= mask
            h1 &+= carry
            offset += 16
        }
        var c = h1 >> 26; h1 &= mask
        h2 &+= c; c = h2 >> 26; h2 &= mask
        h3 &+= c; c = h3 >> 26; h3 &= mask
        h4 &+= c; c = h4 >> 26; h4 &= mask
        h0 &+= c &* 5; c = h0 >> 26; h0 &= mask
        h1 &+= c
        // h - p when h >= p (p = 2^130 - 5), chosen without branching on secret data.
        var g0 = h0 &+ 5; c = g0 >> 26; g0 &= mask
        var g1 = h1 &+ c; c = g1 >> 26; g1 &= mask
        var g2 = h2 &+ c; c = g2 >> 26; g2 &= mask
        var g3 = h3 &+ c; c = g3 >> 26; g3 &= mask
        var g4 = h4 &+ c &- (1 << 26)
        var select = (g4 >> 31) &- 1
        g0 &= select; g1 &= select; g2 &= select; g3 &= select; g4 &= select
        select = ~select
        h0 = (h0 & select) | g0; h1 = (h1 & select) | g1; h2 = (h2 & select) | g2; h3 = (h3 & select) | g3; h4 = (h4 & select) | g4
        let w0 = UInt64((h0 | (h1 << 26)) & 0xffff_ffff)
        let w1 = UInt64(((h1 >> 6) | (h2 << 20)) & 0xffff_ffff)
        let w2 = UInt64(((h2 >> 12) | (h3 << 14)) & 0xffff_ffff)
        let w3 = UInt64(((h3 >> 18) | (h4 << 8)) & 0xffff_ffff)
        var f = w0 + UInt64(le32(key, 16)); let o0 = UInt32(truncatingIfNeeded: f)
        f = w1 + UInt64(le32(key, 20)) + (f >> 32); let o1 = UInt32(truncatingIfNeeded: f)
        f = w2 + UInt64(le32(key, 24)) + (f >> 32); let o2 = UInt32(truncatingIfNeeded: f)
        f = w3 + UInt64(le32(key, 28)) + (f >> 32); let o3 = UInt32(truncatingIfNeeded: f)
        var out: [UInt8] = []
        for word in [o0, o1, o2, o3] { out += withUnsafeBytes(of: word.littleEndian, Array.init) }
        return out
    }
}
