import BerthRuntime
import BerthTestSupport
import Testing

/// The IPC part of the OCI spec: a pod's containers join its namespace and /dev/shm, `hostIPC`
/// joins the host's, a container without a pod gets its own.
@Suite("runtime spec: IPC", .blockingAllowed)
struct SpecBuilderIPCTests {
    func container() -> ContainerConfiguration {
        ContainerConfiguration(id: "c1", rootfs: "/r", arguments: ["sh"], environment: [], workingDirectory: "/", hostname: "h", cgroupsPath: "/berth/pod-x/c1")
    }

    func ipcNamespaces(_ spec: RuntimeSpec) -> [RuntimeSpec.Namespace] { spec.linux.namespaces.filter { $0.type == "ipc" } }
    func shm(_ spec: RuntimeSpec) -> [RuntimeSpec.Mount] { spec.mounts.filter { $0.destination == "/dev/shm" } }

    @Test("pod namespace and tmpfs, host's, or the container's own")
    func modes() {
        var shared = container()
        shared.ipcNamespace = "/pods/u/ipc"
        shared.sharedMemory = "/pods/u/shm"
        let pod = SpecBuilder.spec(for: shared)
        #expect(ipcNamespaces(pod).map(\.path) == ["/pods/u/ipc"])
        #expect(shm(pod).map(\.source) == ["/pods/u/shm"] && shm(pod).first?.type == "bind")

        var host = shared
        host.hostIPC = true
        let hostSpec = SpecBuilder.spec(for: host)
        #expect(ipcNamespaces(hostSpec).isEmpty)
        #expect(shm(hostSpec).map(\.source) == ["/dev/shm"])

        let own = SpecBuilder.spec(for: container())
        #expect(ipcNamespaces(own).count == 1 && ipcNamespaces(own).first?.path == nil)
        #expect(shm(own).first?.type == "tmpfs")
    }

    @Test("clone may not make namespaces and clone3 is ENOSYS, unless the container has CAP_SYS_ADMIN")
    func cloneFilter() throws {
        let rules = try #require(SpecBuilder.spec(for: container()).linux.seccomp).syscalls
        let clone = rules.filter { $0.names == ["clone"] }
        #expect(clone.compactMap { $0.args?.first?.value }.sorted() == DefaultSecurity.namespaceCloneFlags.sorted())
        #expect(clone.allSatisfy { $0.args?.first?.op == "SCMP_CMP_MASKED_EQ" && $0.args?.first?.valueTwo == $0.args?.first?.value })
        #expect(rules.contains { $0.names == ["clone3"] && $0.errnoRet == 38 })
        var admin = container()
        admin.addCapabilities = ["SYS_ADMIN"]
        let adminRules = try #require(SpecBuilder.spec(for: admin).linux.seccomp).syscalls
        #expect(!adminRules.contains { $0.names == ["clone"] || $0.names == ["clone3"] })
    }
}
