import BerthCore
import CZstd

/// zstd decompression over another source (`…tar+zstd` layers). Concatenated frames and
/// skippable frames are read as one stream, as `zstd -d` does; a stream that ends inside a frame
/// is an error, not a short layer.
final class ZstdByteSource: ByteSource {
    private let input: ByteSource
    private let stream: OpaquePointer
    private var inputBuffer: UnsafeMutableRawBufferPointer
    private var pending = ZSTD_inBuffer(src: nil, size: 0, pos: 0)
    private var inputEnded = false
    /// Whether the last call ended exactly on a frame boundary (zstd returned 0).
    private var atFrameEnd = true

    init(_ input: ByteSource) throws(BerthError) {
        guard let stream = ZSTD_createDStream() else {
            throw BerthError(.internalError, "failed to start zstd decompression")
        }
        self.input = input
        self.stream = stream
        inputBuffer = .allocate(byteCount: ZSTD_DStreamInSize(), alignment: 16)
        // Refuse frames that ask for a window above 128 MiB (zstd's own default limit is the
        // same): a hostile layer must not make the agent allocate gigabytes.
        ZSTD_DCtx_setParameter(stream, ZSTD_d_windowLogMax, 27)
    }

    deinit {
        ZSTD_freeDStream(stream)
        inputBuffer.deallocate()
    }

    func read(into buffer: UnsafeMutableRawBufferPointer) throws(BerthError) -> Int {
        guard buffer.count > 0 else { return 0 }
        var output = ZSTD_outBuffer(dst: buffer.baseAddress, size: buffer.count, pos: 0)
        while output.pos < output.size {
            if pending.pos == pending.size && !inputEnded {
                let count = try input.read(into: inputBuffer)
                // At the end of the input the decoder may still hold output; it drains below.
                if count == 0 { inputEnded = true } else {
                    pending = ZSTD_inBuffer(src: inputBuffer.baseAddress, size: count, pos: 0)
                }
            }
            let before = output.pos, consumedBefore = pending.pos
            let result = ZSTD_decompressStream(stream, &output, &pending)
            if ZSTD_isError(result) != 0 {
                let reason = String(cString: ZSTD_getErrorName(result))
                throw BerthError(.badRequest, "failed to decompress layer: corrupt zstd data (\(reason))")
            }
            let progressed = output.pos != before || pending.pos != consumedBefore
            // A call that moved nothing (an empty input after the last frame) says nothing about
            // frame boundaries: zstd answers it with the size of a next frame header.
            if progressed { atFrameEnd = result == 0 }
            // With no input left and nothing produced, the decoder has nothing more to give.
            if inputEnded && pending.pos == pending.size && !progressed { break }
        }
        if output.pos == 0 && inputEnded && !atFrameEnd {
            throw BerthError(.badRequest, "failed to decompress layer: truncated zstd stream")
        }
        return output.pos
    }
}
