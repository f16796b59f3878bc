import BerthCore
import BerthRuntime
import BerthTestSupport
import Testing

@Suite("helper programs", .blockingAllowed)
struct SubprocessTests {
    @Test("a blocking run returns the program's standard output; a failing one is an error naming it")
    func blockingOutput() throws {
        let output = try Subprocess.outputBlocking("/bin/sh", ["-c", "printf 'one\\ntwo\\n'; echo ignored >&2"])
        #expect(String(decoding: output, as: UTF8.self) == "one\ntwo\n")
        // Output larger than a pipe's buffer is read while the program runs, not after.
        let large = try Subprocess.outputBlocking("/bin/sh", ["-c", "head -c 300000 /dev/zero"])
        #expect(large.count == 300_000)
        do {
            _ = try Subprocess.outputBlocking("/bin/sh", ["-c", "exit 3"])
            Issue.record("a failing program returned output")
        } catch {
            #expect(error.message.contains("status 3"))
            #expect(error.message.contains("/bin/sh"))
        }
        #expect(throws: BerthError.self) { try Subprocess.outputBlocking("/nonexistent/program", []) }
    }
}
