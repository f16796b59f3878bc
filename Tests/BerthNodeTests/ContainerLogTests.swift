import BerthRuntime
import BerthTestSupport
import Foundation
import Testing

/// Reading CRI-format logs across size rotation, without a container: files written by hand.
@Suite("container log files", .blockingAllowed)
struct ContainerLogTests {
    static func record(_ text: String, partial: Bool = false) -> String {
        "2026-11-23T07:06:21.447932637+00:00 stdout \(partial ? "P" : "F") \(text)\n"
    }

    static func collect(_ path: String, _ options: LogOptions) async -> String {
        var text = ""
        for await chunk in ContainerLog.follow(path: path, options: options, finished: { true }) {
            text += String(decoding: chunk, as: UTF8.self)
        }
        return text
    }

    static func directory() throws -> String {
        let path = NSTemporaryDirectory() + "berth-log-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    @Test("tailLines reaches into the newest rotated files when the current one is short, empty or missing")
    func tailAcrossRotation() async throws {
        let directory = try Self.directory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/0.log"
        try (Self.record("a1") + Self.record("a2")).write(toFile: path + ".1000.000001", atomically: true, encoding: .utf8)
        try (Self.record("b1") + Self.record("b", partial: true) + Self.record("2")).write(toFile: path + ".2000.000001", atomically: true, encoding: .utf8)
        // Missing current file: the rotated ones, newest last.
        #expect(await Self.collect(path, LogOptions(tailLines: 3)) == "a2\nb1\nb2\n")
        try "".write(toFile: path, atomically: true, encoding: .utf8)
        #expect(await Self.collect(path, LogOptions(tailLines: 1)) == "b2\n")
        try (Self.record("c1")).write(toFile: path, atomically: true, encoding: .utf8)
        #expect(await Self.collect(path, LogOptions(tailLines: 2)) == "b2\nc1\n")
        #expect(await Self.collect(path, LogOptions(tailLines: 10)) == "a1\na2\nb1\nb2\nc1\n")
        // Without tailLines only the current file is read, as the kubelet does.
        #expect(await Self.collect(path, LogOptions()) == "c1\n")
    }
}
