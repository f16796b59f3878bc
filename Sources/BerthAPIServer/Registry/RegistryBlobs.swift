import BerthCore
import BerthImages
import BerthRegistry
import Glibc
import HTTPTypes
import Hummingbird
import NIOCore

/// `GET`/`HEAD /v2/NAME/blobs/DIGEST`: a blob of the repository, whole or one byte range
/// (`Range: bytes=A-B`, `bytes=A-`, `bytes=-N`), streamed from its file.
extension APIServer {
    func getBlob(_ request: Request, _ repository: RepositoryName, _ digest: Digest, _ registry: ImageRegistry) async throws(BerthError) -> Response {
        guard try await registry.metadata.link(digest, in: repository) != nil, let size = registry.storage.content.size(of: digest) else {
            throw BerthError.oci(.blobUnknown, "blob \(digest) is not in \(repository)")
        }
        var fields = RegistryResponses.headers([.contentType: "application/octet-stream", .acceptRanges: "bytes",
                                                .eTag: "\"\(digest)\"", .cacheControl: "max-age=31536000"])
        fields[RegistryResponses.contentDigest] = digest.description
        var status = HTTPResponse.Status.ok
        var range = Int64(0)...max(size - 1, 0)
        if let header = request.headers[.range] {
            guard let asked = ByteRange.parse(header, size: size) else {
                fields[.contentRange] = "bytes */\(size)"
                throw BerthError.oci(.rangeInvalid, "range \(header.prefix(80)) does not fit a blob of \(size) bytes", status: .requestedRangeNotSatisfiable)
            }
            range = asked
            status = .partialContent
            fields[.contentRange] = "bytes \(asked.lowerBound)-\(asked.upperBound)/\(size)"
        }
        let length = size == 0 ? 0 : range.upperBound - range.lowerBound + 1
        fields[.contentLength] = String(length)
        if request.method == .head || length == 0 { return Response(status: status, headers: fields, body: ResponseBody()) }
        let path = registry.storage.content.path(for: digest)
        let start = range.lowerBound
        return Response(status: status, headers: fields, body: ResponseBody(contentLength: Int(length)) { writer in
            try await Self.stream(path: path, from: start, count: length, to: &writer)
            try await writer.finish(nil)
        })
    }

    /// Writes `count` bytes of a file from `offset`, a megabyte at a time.
    static func stream(path: String, from offset: Int64, count: Int64, to writer: inout any ResponseBodyWriter) async throws {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw BerthError.posix("open", path) }
        defer { close(fd) }
        var position = offset
        var remaining = count
        let allocator = ByteBufferAllocator()
        while remaining > 0 {
            let want = Int(min(remaining, 1 << 20))
            var buffer = allocator.buffer(capacity: want)
            let got = buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: want) { raw in
                max(pread(fd, raw.baseAddress!, want, off_t(position)), 0)
            }
            guard got > 0 else { throw BerthError(.internalError, "blob file \(path) ended early") }
            position += Int64(got)
            remaining -= Int64(got)
            try await writer.write(buffer)
        }
    }
}

/// One range of an HTTP `Range` header (a single range; several are not served).
enum ByteRange {
    static func parse(_ header: String, size: Int64) -> ClosedRange<Int64>? {
        guard header.hasPrefix("bytes="), size > 0 else { return nil }
        let spec = header.dropFirst(6).trimmingCharacters(in: .whitespaces)
        guard !spec.contains(","), let dash = spec.firstIndex(of: "-") else { return nil }
        let first = spec[..<dash], last = spec[spec.index(after: dash)...]
        if first.isEmpty {
            guard let suffix = Int64(last), suffix > 0 else { return nil }
            return max(size - suffix, 0)...(size - 1)
        }
        guard let start = Int64(first), start >= 0, start < size else { return nil }
        if last.isEmpty { return start...(size - 1) }
        guard let end = Int64(last), end >= start else { return nil }
        return start...min(end, size - 1)
    }
}
