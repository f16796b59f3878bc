@testable import BerthImages
import BerthCore
import BerthTestSupport
import Foundation
import Testing

@Suite("content and image stores", .blockingAllowed)
struct ImageStoreTests {
    let root = FileManager.default.temporaryDirectory.appendingPathComponent("berth-images-\(UUID().uuidString)").path

    @Test("a blob is stored under its digest; a wrong digest is refused and leaves nothing")
    func verifiedWrites() throws {
        defer { try? FileManager.default.removeItem(atPath: root) }
        let store = try ContentStore(root: root)
        let digest = try store.write(Array("data".utf8))
        #expect(store.contains(digest))
        #expect(try store.read(digest) == Array("data".utf8))
        let wrong = Digest.sha256(of: Array("other".utf8))
        #expect(throws: BerthError.self) { try store.write(Array("tampered".utf8), expected: wrong) }
        #expect(!store.contains(wrong))
        #expect(try FileManager.default.contentsOfDirectory(atPath: root + "/ingest").isEmpty)
    }

    @Test("a blob changed on disk is detected on read")
    func tamperedOnDisk() throws {
        defer { try? FileManager.default.removeItem(atPath: root) }
        let store = try ContentStore(root: root)
        let digest = try store.write(Array("{}".utf8))
        try Data("{\"x\":1}".utf8).write(to: URL(fileURLWithPath: store.path(for: digest)))
        #expect(throws: BerthError.self) { try store.read(digest) }
    }

    @Test("busybox image builds, unpacks, exports to an OCI layout and imports back; rm and gc remove it")
    func busyboxRoundTrip() throws {
        defer { try? FileManager.default.removeItem(atPath: root) }
        let store = try ImageStore(root: root + "/a")
        let image = try BusyboxImage.ensure(in: store)
        #expect(image.reference == "docker.io/berth/busybox:latest")
        let lower = try store.layers.lowerDirectories(for: image)
        #expect(FileManager.default.isExecutableFile(atPath: lower[0] + "/bin/busybox"))
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: lower[0] + "/bin/sh") == "busybox")
        try OCILayout.export(image, to: root + "/layout", from: store)
        let other = try ImageStore(root: root + "/b")
        let imported = try OCILayout.importImages(from: root + "/layout", name: "berth/busybox", into: other)
        #expect(imported.map(\.manifestDigest) == [image.manifestDigest])
        try other.remove(try ImageReference(parsing: "berth/busybox:latest"))
        let removed = other.collectGarbage()
        #expect(removed.count == 3)
        #expect(other.list().isEmpty)
    }
}
