@testable import BerthImages
import BerthCore
import BerthTestSupport
import Testing

@Suite("image references", .blockingAllowed)
struct ImageReferenceTests {
    @Test("short names expand as Docker does", arguments: [
        ("nginx", "docker.io/library/nginx:latest"),
        ("nginx:1.25", "docker.io/library/nginx:1.25"),
        ("berth/busybox", "docker.io/berth/busybox:latest"),
        ("127.0.0.1:5000/app:v1", "127.0.0.1:5000/app:v1"),
        ("127.0.0.1:5000/team/app", "127.0.0.1:5000/team/app:latest"),
        ("localhost/app", "localhost/app:latest"),
        ("ghcr.io/o/r@sha256:" + String(repeating: "a", count: 64), "ghcr.io/o/r@sha256:" + String(repeating: "a", count: 64)),
    ])
    func expansion(input: String, expected: String) throws {
        #expect(try ImageReference(parsing: input).description == expected)
    }

    @Test("registry host and repository are split correctly")
    func parts() throws {
        let reference = try ImageReference(parsing: "127.0.0.1:5000/team/app:v2")
        #expect(reference.registry == "127.0.0.1:5000")
        #expect(reference.repository == "team/app")
        #expect(reference.tag == "v2")
        #expect(reference.reference == "v2")
    }

    @Test("invalid references are refused", arguments: ["", "UPPER/case", "app:", "app@sha256:xyz", "a//b", "app:-bad"])
    func invalid(input: String) {
        #expect(throws: BerthError.self) { try ImageReference(parsing: input) }
    }

    @Test("digests are checked for algorithm and length")
    func digests() throws {
        #expect(throws: BerthError.self) { try Digest(parsing: "md5:abc") }
        #expect(throws: BerthError.self) { try Digest(parsing: "sha256:ABC") }
        let digest = Digest.sha256(of: Array("hello".utf8))
        #expect(digest.description == "sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824")
    }
}
