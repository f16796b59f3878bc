@testable import BerthImages
import BerthCore
import BerthTestSupport
import Foundation
import Testing

/// Automatic image removal under disk pressure: least recently used first, never an image a pod
/// uses or one built on the node, down to the low threshold; nothing below the high one.
@Suite("image garbage collection", .blockingAllowed)
struct ImageGarbageCollectorTests {
    let root = FileManager.default.temporaryDirectory.appendingPathComponent("berth-imagegc-\(UUID().uuidString)").path

    /// A distinct image named `name`: busybox with `marker` appended, so its layer is its own.
    func importImage(_ name: String, marker: String, into store: ImageStore) throws -> LocalImage {
        let binary = root + "/busybox-\(marker)"
        var bytes = try Data(contentsOf: URL(fileURLWithPath: "/bin/busybox"))
        bytes.append(Data(marker.utf8))
        try bytes.write(to: URL(fileURLWithPath: binary))
        chmod(binary, 0o755)
        let builder = try ImageStore(root: root + "/build-\(marker)")
        let image = try BusyboxImage.ensure(in: builder, busybox: binary)
        try OCILayout.export(image, to: root + "/layout-\(marker)", from: builder)
        return try #require(try OCILayout.importImages(from: root + "/layout-\(marker)", name: name, into: store).first)
    }

    @Test("removes unused images oldest first until below the low threshold; keeps used and node-built ones")
    func pressure() throws {
        defer { try? FileManager.default.removeItem(atPath: root) }
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        let store = try ImageStore(root: root + "/node")
        _ = try BusyboxImage.ensure(in: store)
        let one = try importImage("example.com/app/one", marker: "1", into: store)
        let two = try importImage("example.com/app/two", marker: "2", into: store)
        let three = try importImage("example.com/app/three", marker: "3", into: store)
        let four = try importImage("example.com/app/four", marker: "4", into: store)
        // Everything so far is an hour old; a blob written just now (a pull under way, not yet
        // named) must survive the collection.
        for digest in store.content.all() {
            var times = [timeval(tv_sec: time(nil) - 3600, tv_usec: 0), timeval(tv_sec: time(nil) - 3600, tv_usec: 0)]
            utimes(store.content.path(for: digest), &times)
        }
        let inFlight = try store.content.write(Array("a layer of a pull under way".utf8))
        let collector = ImageGarbageCollector(store: store, highPercent: 85, lowPercent: 80)
        collector.touched(two.reference)
        collector.touched(four.reference)
        collector.touched(one.reference)

        // Below the high threshold: nothing goes.
        #expect(collector.collect(inUse: [], mountedLayers: [], usage: { 84 }).isEmpty)
        #expect(store.list().count == 5)

        // 90 % full with five images, each worth 6 points: three (never used) and two go, then
        // 78 % < 80 %.
        let removed = collector.collect(inUse: [one.reference], mountedLayers: []) { 60 + 6 * store.list().count }
        #expect(removed == [three.reference, two.reference])
        #expect(Set(store.list().map(\.reference)) == ["docker.io/berth/busybox:latest", one.reference, four.reference])
        for gone in [two, three] {
            #expect(!store.content.contains(gone.manifestDigest) && !store.content.contains(gone.manifest.layers[0].digest))
            #expect(!FileManager.default.fileExists(atPath: store.layers.path(for: gone.manifest.layers[0].digest)))
        }
        #expect(store.content.contains(four.manifest.layers[0].digest))
        #expect(store.content.contains(inFlight), "a fresh unnamed blob stays")

        // Still full and nothing but used or node-built images left besides four: four goes,
        // its unpacked layer stays while a container has it mounted.
        let mounted = Set(four.manifest.layers.map(\.digest))
        _ = try store.layers.lowerDirectories(for: four)
        #expect(collector.collect(inUse: [one.reference], mountedLayers: mounted, usage: { 95 }) == [four.reference])
        #expect(FileManager.default.fileExists(atPath: store.layers.path(for: four.manifest.layers[0].digest)))
        #expect(Set(store.list().map(\.reference)) == ["docker.io/berth/busybox:latest", one.reference])
    }

    @Test("two processes' stores on one root see each other's names and lose none")
    func sharedTable() throws {
        defer { try? FileManager.default.removeItem(atPath: root) }
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        let agent = try ImageStore(root: root + "/node")
        let cli = try ImageStore(root: root + "/node")
        let busybox = try BusyboxImage.ensure(in: agent)
        let one = try importImage("example.com/app/one", marker: "1", into: cli)
        #expect(Set(agent.list().map(\.reference)) == [busybox.reference, one.reference])
        try agent.tag(try ImageReference(parsing: "example.com/app/alias:1"), manifest: busybox.manifestDigest)
        #expect(Set(cli.list().map(\.reference)) == [busybox.reference, one.reference, "example.com/app/alias:1"])
        try cli.remove(try ImageReference(parsing: "example.com/app/alias:1"))
        #expect(try agent.image(try ImageReference(parsing: "example.com/app/alias:1")) == nil)
        #expect(try agent.image(try ImageReference(parsing: "example.com/app/one")) != nil)
        #expect(Set(try ImageStore(root: root + "/node").list().map(\.reference)) == [busybox.reference, one.reference])
    }

    @Test func diskUsageIsAPercentage() throws {
        let usage = try #require(ImageGarbageCollector.diskUsagePercent(path: "/"))
        #expect((0...100).contains(usage))
        #expect(ImageGarbageCollector.diskUsagePercent(path: "/no/such/path") == nil)
    }
}
