import BerthClient
import BerthCore
import BerthStorage
import Foundation
import Logging

/// The node's half of `berth.dev/local`: watches the volumes pinned to this node and grows the
/// filesystem of one whose capacity went up (claim expansion), and removes the data of one
/// being deleted (reclaim Delete) before taking off its cleanup finalizer, so the volume object
/// goes only once its data has.
struct LocalVolumeReclaimer: Sendable {
    let client: APIClient
    let api: AgentAPI
    let node: String
    let logger: Logger

    func run() async {
        await ListWatch(client: client, path: "/api/v1/persistentvolumes", logger: logger).run { items in
            for item in items { await handle(item) }
        } onEvent: { type, object in
            if type != "DELETED" { await handle(object) }
        }
    }

    private func handle(_ object: JSONValue) async {
        guard let volume = try? object.decode(PersistentVolume.self), LocalVolumeImages.isOurs(volume),
              VolumeBindingPlanner.pinnedNode(volume) == node else { return }
        let name = volume.metadata.name ?? ""
        if volume.metadata.deletionTimestamp != nil {
            // The controller drops pv-protection once the volume is unbound; ours goes last.
            guard volume.metadata.finalizers == [StorageNames.provisionerCleanup] else { return }
            do throws(BerthError) {
                try LocalVolumeImages.remove(volume)
                _ = try await api.mergePatch("/api/v1/persistentvolumes/\(name)", ["metadata": ["finalizers": .null, "resourceVersion": .string(volume.metadata.resourceVersion ?? "")]])
                logger.info("local volume removed (reclaim Delete)", metadata: ["volume": "\(name)"])
            } catch {
                logger.warning("local volume removal failed; retried on the next change", metadata: ["volume": "\(name)", "error": "\(error.message)"])
            }
            return
        }
        do throws(BerthError) {
            try await LocalVolumeImages.grow(volume)
        } catch {
            logger.warning("growing a local volume failed", metadata: ["volume": "\(name)", "error": "\(error.message)"])
        }
    }
}
