import BerthCore

extension Array where Element == UInt8 {
    /// `withUnsafeBytes` for bodies with typed throws (the standard one rethrows `any Error`).
    public func withBytes<R>(_ body: (UnsafeRawBufferPointer) throws(BerthError) -> R) throws(BerthError) -> R {
        try withUnsafeBytes { raw in Result { () throws(BerthError) in try body(raw) } }.get()
    }

    public mutating func withMutableBytes<R>(_ body: (UnsafeMutableRawBufferPointer) throws(BerthError) -> R) throws(BerthError) -> R {
        try withUnsafeMutableBytes { raw in Result { () throws(BerthError) in try body(raw) } }.get()
    }
}
