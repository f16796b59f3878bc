import BerthCore
import BerthStorage

/// The claims, volumes and classes the scheduler reads to place pods that use claims
/// (`VolumePlacement` decides).
public struct SchedulerVolumes: Sendable {
    let claims: Informer<PersistentVolumeClaim>
    let volumes: Informer<PersistentVolume>
    let classes: Informer<StorageClass>

    public init(claims: Informer<PersistentVolumeClaim>, volumes: Informer<PersistentVolume>, classes: Informer<StorageClass>) {
        self.claims = claims
        self.volumes = volumes
        self.classes = classes
    }

    func placement(_ pod: Pod, pods: Informer<Pod>) -> VolumePlacement.Outcome {
        guard pod.spec?.volumes?.contains(where: { $0.persistentVolumeClaim != nil }) == true else { return .unchanged }
        return VolumePlacement.place(
            pod,
            claims: { namespace, name in claims.get(Informer<PersistentVolumeClaim>.key(namespace: namespace, name: name)) },
            volume: { name in volumes.get(Informer<PersistentVolume>.key(namespace: nil, name: name)) },
            storageClass: { name in classes.get(Informer<StorageClass>.key(namespace: nil, name: name)) },
            users: { namespace, name in
                var found: [Pod] = []
                pods.forEach { other in
                    guard other.metadata.namespace == namespace, !PodState.isTerminal(other),
                          other.spec?.volumes?.contains(where: { $0.persistentVolumeClaim?.claimName == name }) == true else { return }
                    found.append(other)
                }
                return found
            })
    }
}
