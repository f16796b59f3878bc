import BerthCore
import BerthNetwork
import BerthRuntime
import Foundation

extension PodNetwork {
    /// Underlay mode: `eth0` from the CNI `macvlan` plugin on the uplink, with an address of the
    /// physical network (the node's range, or the pod's IPPool address), the physical gateway
    /// as default route when there is one; then the egress guard in the pod's namespace
    /// (`UnderlayPlan.guardTable`). Idempotent like `attach`: a pod that has its address keeps it.
    /// Pod bandwidth limits are not applied in this mode (the plugin shapes a host-side veth,
    /// which macvlan has not).
    func attachUnderlay(podUID: String, fixedAddress: UInt32?, setup: Underlay, mtu: Int) async throws(BerthError) -> String {
        let path = Self.namespacePath(podUID: podUID)
        let name = Self.namespaceName(podUID: podUID)
        var kept = fixedAddress
        if kept == nil, let existing = try await address(of: path).flatMap(IPv4.parse), claim(existing, for: podUID) {
            kept = existing
        }
        let chosen: UInt32
        if let kept {
            chosen = kept
        } else if let allocated = allocate(for: podUID) {
            chosen = allocated
        } else {
            throw BerthError(.unavailable, "no free pod address in \(subnet?.description ?? "the node's range")")
        }
        let text = IPv4Network.format(chosen)
        if try await address(of: path) != text {
            do {
                _ = try await invoke("loopback", command: "ADD", podUID: podUID, namespace: path, interface: "lo",
                                           config: ["cniVersion": "1.0.0", "name": "berth-lo", "type": "loopback"])
                _ = try await invoke("macvlan", command: "ADD", podUID: podUID, namespace: path, interface: "eth0",
                                           config: UnderlayPlan.cniConfig(uplink: setup.interface, mtu: mtu, address: chosen, network: setup.network, gateway: setup.gateway))
            } catch {
                if fixedAddress == nil { release(owner: podUID) }
                throw error
            }
        }
        let shown = try await Subprocess.run("/usr/sbin/ip", ["-n", name, "-j", "link", "show", "eth0"])
        guard let mac = (try? JSONParser.parse(shown.standardOutput))?.arrayValue?.first?["address"]?.stringValue else {
            throw BerthError(.internalError, "the pod's eth0 has no MAC: \(shown.errorText)")
        }
        let guarded = try await Subprocess.run("/usr/sbin/ip", ["netns", "exec", name, "/usr/sbin/nft", "-f", "-"],
                                               input: Array(UnderlayPlan.guardTable(interface: "eth0", mac: mac, address: text).utf8))
        guard guarded.succeeded else { throw BerthError(.internalError, "could not guard the pod's eth0 against forged addresses: \(guarded.errorText)") }
        // Cluster IPs: routed to the node (the pod's own namespace DNATs them first, with the
        // service table `podTables` installs; the route only lets the connection start).
        let serviceRoute = try await Subprocess.run("/usr/sbin/ip", ["-n", name, "route", "replace", configuration.serviceCIDR.description,
                                                                      "via", configuration.nodeAddress, "dev", "eth0", "onlink"])
        if !serviceRoute.succeeded { logger.warning("no route to cluster IPs in the pod", metadata: ["pod": "\(podUID)", "error": "\(serviceRoute.errorText)"]) }
        await podTables.install(name)
        return text
    }
}
