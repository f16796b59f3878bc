import BerthRuntime
import Testing

/// The IPC part of the OCI spec: a pod's containers join its namespace and /dev/shm, `hostIPC`
/// joins the host's, a container without a pod gets its own.
@Suite("runtime spec: IPC")
struct SpecBuilderIPCTests {
    func container() -> ContainerConfiguration {
        ContainerConfiguration(id: "c1", rootfs: "/r", arguments: ["sh"], environment: [], workingDirectory: "/", hostname: "h", cgroupsPath: "/berth/pod-x/c1")
    }

    func ipcNamespaces(_ spec: RuntimeSpec) -> [RuntimeSpec.Namespace] { spec.linux.namespaces.filter { $0.type == "ipc" } }
    func shm(_ spec: RuntimeSpec) -> [RuntimeSpec.Mount] { (spec.mounts ?? []).filter { $0.destination == "/dev/shm" } }

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
}
