import BerthRuntime
import BerthTestSupport
import Foundation
import Testing

/// The cgroup readers on both layouts. This host has cgroup v1 controllers, so the v2 paths
/// (what users on current distributions run) are exercised on a directory laid out like the
/// unified hierarchy, with the files the kernel writes there.
@Suite("cgroup v1 and v2 layouts", .blockingAllowed)
struct CgroupLayoutTests {
    let root = NSTemporaryDirectory() + "berth-cgroup-\(UUID().uuidString)"
    let container = "/berth/pod-u1/c1"

    func write(_ path: String, _ text: String) throws {
        try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try text.write(toFile: path, atomically: true, encoding: .utf8)
    }

    @Test("v2: cpu.stat usage_usec, memory.current less inactive_file, pids.current")
    func unified() throws {
        defer { try? FileManager.default.removeItem(atPath: root) }
        let base = root + container
        try write(base + "/cpu.stat", "usage_usec 1500\nuser_usec 1000\nsystem_usec 500\nnr_periods 0\n")
        try write(base + "/memory.current", "10485760\n")
        try write(base + "/memory.stat", "anon 8388608\nfile 2097152\nactive_file 1048576\ninactive_file 1048576\n")
        try write(base + "/pids.current", "3\n")
        let usage = try #require(CgroupStats.usage(cgroupsPath: container, root: root, version: 2))
        #expect(usage == ContainerUsage(cpuNanoseconds: 1_500_000, memoryWorkingSetBytes: 9_437_184, memoryUsageBytes: 10_485_760, pids: 3))
        // The v1 files are not there: read as v1, the same tree has no usage.
        #expect(CgroupStats.usage(cgroupsPath: container, root: root, version: 1) == nil)
    }

    @Test("v1: cpuacct.usage, memory.usage_in_bytes less total_inactive_file, pids per controller")
    func perController() throws {
        defer { try? FileManager.default.removeItem(atPath: root) }
        try write(root + "/cpuacct" + container + "/cpuacct.usage", "2000000\n")
        try write(root + "/memory" + container + "/memory.usage_in_bytes", "4096\n")
        try write(root + "/memory" + container + "/memory.stat", "cache 0\ntotal_inactive_file 1024\n")
        try write(root + "/pids" + container + "/pids.current", "1\n")
        let usage = try #require(CgroupStats.usage(cgroupsPath: container, root: root, version: 1))
        #expect(usage == ContainerUsage(cpuNanoseconds: 2_000_000, memoryWorkingSetBytes: 3072, memoryUsageBytes: 4096, pids: 1))
    }

    @Test("a pod's cgroups go on either layout; a cgroup that is not empty stays")
    func podCgroupRemoval() throws {
        defer { try? FileManager.default.removeItem(atPath: root) }
        // Plain directories stand in for cgroups: rmdir of a directory with a file in it
        // fails as rmdir of a cgroup with a process in it does.
        try FileManager.default.createDirectory(atPath: root + "/berth/pod-u1/c1", withIntermediateDirectories: true)
        #expect(PodCgroups.remove(podUID: "u1", root: root, version: 2))
        #expect(!FileManager.default.fileExists(atPath: root + "/berth/pod-u1"))

        for controller in ["cpu", "memory", "pids"] {
            try FileManager.default.createDirectory(atPath: root + "/\(controller)/berth/pod-u2/c1", withIntermediateDirectories: true)
        }
        try write(root + "/memory/berth/pod-u2/c1/busy", "")
        #expect(!PodCgroups.remove(podUID: "u2", root: root, version: 1), "the busy one is reported")
        #expect(!FileManager.default.fileExists(atPath: root + "/cpu/berth/pod-u2"))
        #expect(FileManager.default.fileExists(atPath: root + "/memory/berth/pod-u2"))
    }
}
