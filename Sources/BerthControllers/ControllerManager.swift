import BerthCore
import BerthNetwork
import Foundation
import Logging
import ServiceLifecycle

/// Settings of the controllers and the scheduler.
public struct ControllerConfiguration: Sendable {
    /// A node whose Lease is not renewed for this long becomes NotReady.
    public var nodeGrace: Duration = .seconds(10)
    /// Pods of a NotReady node are replaced elsewhere after this much longer.
    public var podEvictionTimeout: Duration = .seconds(10)
    /// Node pod subnets (/24 each) come out of this range (DESIGN §6).
    public var clusterCIDR = IPv4Network("100.96.0.0/11")!
    /// How often each HorizontalPodAutoscaler is evaluated (Kubernetes: 15 s).
    public var autoscalerSyncPeriod: Duration = .seconds(3)
    public var identity: String

    public init(identity: String) { self.identity = identity }
}

/// Runs the scheduler and the controllers over shared informers, while this server holds the
/// controller lease.
public struct ControllerManager: ServiceLifecycle.Service, Sendable {
    let api: ResourceAPI
    let configuration: ControllerConfiguration
    let logger: Logger

    public init(api: ResourceAPI, configuration: ControllerConfiguration, logger: Logger) {
        self.api = api
        self.configuration = configuration
        self.logger = logger
    }

    public func run() async throws {
        let election = LeaderElection(api: api, identity: configuration.identity, logger: logger)
        await cancelWhenGracefulShutdown {
            await election.run { await runControllers() }
        }
    }

    func runControllers() async {
        let pods = Informer<Pod>(ResourceDescriptor.pod, api: api, logger: logger)
        let nodes = Informer<Node>(ResourceDescriptor.node, api: api, logger: logger)
        let leases = Informer<Lease>(ResourceDescriptor.lease, api: api, logger: logger)
        let replicaSets = Informer<ReplicaSet>(ResourceDescriptor.replicaSet, api: api, logger: logger)
        let deployments = Informer<Deployment>(ResourceDescriptor.deployment, api: api, logger: logger)
        let daemonSets = Informer<DaemonSet>(ResourceDescriptor.daemonSet, api: api, logger: logger)
        let jobs = Informer<Job>(ResourceDescriptor.job, api: api, logger: logger)
        let cronJobs = Informer<CronJob>(ResourceDescriptor.cronJob, api: api, logger: logger)
        let services = Informer<BerthCore.Service>(ResourceDescriptor.service, api: api, logger: logger)
        let endpoints = Informer<Endpoints>(ResourceDescriptor.endpoints, api: api, logger: logger)
        let endpointSlices = Informer<EndpointSlice>(ResourceDescriptor.endpointSlice, api: api, logger: logger)
        let pools = Informer<IPPool>(ResourceDescriptor.ipPool, api: api, logger: logger)
        let budgets = Informer<PodDisruptionBudget>(ResourceDescriptor.podDisruptionBudget, api: api, logger: logger)
        let namespaces = Informer<Namespace>(ResourceDescriptor.namespace, api: api, logger: logger)
        let serviceAccounts = Informer<ServiceAccount>(ResourceDescriptor.serviceAccount, api: api, logger: logger)
        let serviceAccountController = ServiceAccountController(namespaces: namespaces, accounts: serviceAccounts, api: api, logger: logger)
        let claims = Informer<PersistentVolumeClaim>(ResourceDescriptor.persistentVolumeClaim, api: api, logger: logger)
        let volumes = Informer<PersistentVolume>(ResourceDescriptor.persistentVolume, api: api, logger: logger)
        let storageClasses = Informer<StorageClass>(ResourceDescriptor.storageClass, api: api, logger: logger)
        let statefulSets = Informer<StatefulSet>(ResourceDescriptor.statefulSet, api: api, logger: logger)
        let scheduler = SchedulerService(pods: pods, nodes: nodes, namespaces: namespaces, budgets: budgets,
                                         volumes: SchedulerVolumes(claims: claims, volumes: volumes, classes: storageClasses), api: api, logger: logger)
        let replicaSetController = ReplicaSetController(replicaSets: replicaSets, pods: pods, api: api, logger: logger)
        let deploymentController = DeploymentController(deployments: deployments, replicaSets: replicaSets, api: api, logger: logger)
        let revisions = Informer<ControllerRevision>(ResourceDescriptor.controllerRevision, api: api, logger: logger)
        let daemonSetController = DaemonSetController(daemonSets: daemonSets, nodes: nodes, pods: pods, revisions: revisions, api: api, logger: logger)
        let collector = GarbageCollector(pods: pods, replicaSets: replicaSets, deployments: deployments, daemonSets: daemonSets, revisions: revisions,
                                         jobs: jobs, cronJobs: cronJobs, statefulSets: statefulSets, claims: claims, api: api, logger: logger)
        let snapshots = Informer<VolumeSnapshot>(ResourceDescriptor.volumeSnapshot, api: api, logger: logger)
        let snapshotContents = Informer<VolumeSnapshotContent>(ResourceDescriptor.volumeSnapshotContent, api: api, logger: logger)
        let snapshotClasses = Informer<VolumeSnapshotClass>(ResourceDescriptor.volumeSnapshotClass, api: api, logger: logger)
        let snapshotController = SnapshotController(snapshots: snapshots, contents: snapshotContents, classes: snapshotClasses, claims: claims, volumes: volumes,
                                                    api: api, logger: logger)
        let volumeController = PersistentVolumeController(claims: claims, volumes: volumes, classes: storageClasses, pods: pods, nodes: nodes,
                                                          snapshots: snapshots, contents: snapshotContents, api: api, logger: logger)
        let statefulSetController = StatefulSetController(statefulSets: statefulSets, pods: pods, claims: claims, revisions: revisions, api: api, logger: logger)
        let jobController = JobController(jobs: jobs, pods: pods, api: api, logger: logger)
        let cronJobController = CronJobController(cronJobs: cronJobs, jobs: jobs, api: api, logger: logger)
        let lifecycle = NodeLifecycleController(nodes: nodes, leases: leases, pods: pods, api: api,
                                                grace: configuration.nodeGrace, evictionTimeout: configuration.podEvictionTimeout, logger: logger)
        let endpointsController = EndpointsController(services: services, pods: pods, endpoints: endpoints, api: api, logger: logger)
        let sliceController = EndpointSliceController(services: services, endpoints: endpoints, slices: endpointSlices, api: api, logger: logger)
        let nodeIPAM = NodeIPAMController(nodes: nodes, pools: pools, api: api, clusterCIDR: configuration.clusterCIDR, logger: logger)
        let poolController = IPPoolController(pools: pools, pods: pods, api: api, logger: logger)
        let loadBalancerPools = Informer<LoadBalancerPool>(ResourceDescriptor.loadBalancerPool, api: api, logger: logger)
        let loadBalancerController = LoadBalancerController(pools: loadBalancerPools, services: services, namespaces: namespaces, api: api, logger: logger)
        let disruptionController = DisruptionBudgetController(budgets: budgets, pods: pods, replicaSets: replicaSets, deployments: deployments,
                                                              daemonSets: daemonSets, api: api, logger: logger)
        let quotas = Informer<ResourceQuota>(ResourceDescriptor.resourceQuota, api: api, logger: logger)
        let tenants = Informer<Tenant>(ResourceDescriptor.tenant, api: api, logger: logger)
        let quotaController = ResourceQuotaController(quotas: quotas, pods: pods, services: services, api: api, logger: logger)
        let tenantController = TenantController(tenants: tenants, namespaces: namespaces, pods: pods, api: api, logger: logger)
        let autoscalers = Informer<HorizontalPodAutoscaler>(ResourceDescriptor.horizontalPodAutoscaler, api: api, logger: logger)
        let autoscalerController = HorizontalPodAutoscalerController(autoscalers: autoscalers, pods: pods, api: api,
                                                                     syncPeriod: configuration.autoscalerSyncPeriod, logger: logger)
        let pressureTaints = NodePressureTaintController(nodes: nodes, api: api, logger: logger)
        let logger = self.logger
        await withDiscardingTaskGroup { group in
            group.addTask { await claims.run() }
            group.addTask { await volumes.run() }
            group.addTask { await storageClasses.run() }
            group.addTask { await statefulSets.run() }
            group.addTask { await snapshots.run() }
            group.addTask { await snapshotContents.run() }
            group.addTask { await snapshotClasses.run() }
            group.addTask {
                for informer in [snapshots.waitForSync, snapshotContents.waitForSync, snapshotClasses.waitForSync, claims.waitForSync, volumes.waitForSync]
                    as [@Sendable () async -> Void] {
                    await informer()
                }
                snapshotController.queue.add(SnapshotController.key)
                await snapshotController.runWorkers(logger: logger)
            }
            group.addTask {
                for informer in [claims.waitForSync, volumes.waitForSync, storageClasses.waitForSync, pods.waitForSync, nodes.waitForSync]
                    as [@Sendable () async -> Void] {
                    await informer()
                }
                volumeController.queue.add(PersistentVolumeController.key)
                await volumeController.runWorkers(logger: logger)
            }
            group.addTask {
                for informer in [statefulSets.waitForSync, pods.waitForSync, claims.waitForSync, revisions.waitForSync] as [@Sendable () async -> Void] {
                    await informer()
                }
                await statefulSetController.runWorkers(logger: logger)
            }
            group.addTask {
                await nodes.waitForSync()
                await pressureTaints.runWorkers(logger: logger)
            }
            group.addTask { await autoscalers.run() }
            group.addTask {
                await autoscalers.waitForSync()
                await pods.waitForSync()
                await autoscalerController.runWorkers(logger: logger)
            }
            group.addTask { await quotas.run() }
            group.addTask { await tenants.run() }
            group.addTask {
                await quotas.waitForSync()
                await withDiscardingTaskGroup { inner in
                    inner.addTask { await quotaController.resyncForever() }
                    inner.addTask { await quotaController.runWorkers(logger: logger) }
                }
            }
            group.addTask {
                await tenants.waitForSync()
                await namespaces.waitForSync()
                await withDiscardingTaskGroup { inner in
                    inner.addTask { await tenantController.resyncForever() }
                    inner.addTask { await tenantController.runWorkers(logger: logger) }
                }
            }
            group.addTask { await nodes.run() }
            group.addTask { await pods.run() }
            group.addTask { await leases.run() }
            group.addTask { await replicaSets.run() }
            group.addTask { await deployments.run() }
            group.addTask { await daemonSets.run() }
            group.addTask { await services.run() }
            group.addTask { await endpoints.run() }
            group.addTask { await endpointSlices.run() }
            group.addTask { await pools.run() }
            group.addTask { await loadBalancerPools.run() }
            group.addTask {
                for informer in [loadBalancerPools.waitForSync, services.waitForSync, namespaces.waitForSync] as [@Sendable () async -> Void] {
                    await informer()
                }
                loadBalancerController.queue.add(LoadBalancerController.key)
                await loadBalancerController.runWorkers(logger: logger)
            }
            group.addTask { await budgets.run() }
            group.addTask { await namespaces.run() }
            group.addTask { await serviceAccounts.run() }
            group.addTask {
                await namespaces.waitForSync()
                await serviceAccounts.waitForSync()
                await serviceAccountController.runWorkers(logger: logger)
            }
            group.addTask { await revisions.run() }
            group.addTask {
                for informer in [budgets.waitForSync, pods.waitForSync, replicaSets.waitForSync, deployments.waitForSync, daemonSets.waitForSync]
                    as [@Sendable () async -> Void] {
                    await informer()
                }
                await disruptionController.runWorkers(logger: logger)
            }
            group.addTask {
                await pools.waitForSync()
                await pods.waitForSync()
                await poolController.runWorkers(logger: logger)
            }
            group.addTask {
                // All three caches first: an empty endpoints cache would mean creating objects
                // that exist.
                await services.waitForSync()
                await endpoints.waitForSync()
                await pods.waitForSync()
                await endpointsController.runWorkers(logger: logger)
            }
            group.addTask {
                await services.waitForSync()
                await endpoints.waitForSync()
                await endpointSlices.waitForSync()
                await sliceController.runWorkers(logger: logger)
            }
            group.addTask {
                // Nodes first: a scheduler that starts with pods but no nodes reports every pod
                // unschedulable once for nothing.
                await nodes.waitForSync()
                await namespaces.waitForSync()
                await pods.waitForSync()
                await scheduler.run()
            }
            group.addTask {
                await nodes.waitForSync()
                await pools.waitForSync()
                await nodeIPAM.runWorkers(logger: logger)
            }
            group.addTask {
                // What exists first: started before the pod cache had synced, a restarted
                // controller saw every ReplicaSet without pods and created a second set.
                await pods.waitForSync()
                await replicaSets.waitForSync()
                await replicaSetController.runWorkers(logger: logger)
            }
            group.addTask { await jobs.run() }
            group.addTask { await cronJobs.run() }
            group.addTask {
                await jobs.waitForSync()
                await cronJobs.waitForSync()
                await cronJobController.runWorkers(logger: logger)
            }
            group.addTask {
                await pods.waitForSync()
                await jobs.waitForSync()
                await jobController.runWorkers(logger: logger)
            }
            group.addTask {
                // Likewise: a Deployment judged before its ReplicaSets were listed would get a
                // new one.
                await pods.waitForSync()
                await replicaSets.waitForSync()
                await deployments.waitForSync()
                await deploymentController.runWorkers(logger: logger)
            }
            group.addTask {
                await nodes.waitForSync()
                await pods.waitForSync()
                await revisions.waitForSync()
                await daemonSetController.runWorkers(logger: logger)
            }
            group.addTask {
                for informer in [pods.waitForSync, replicaSets.waitForSync, deployments.waitForSync, daemonSets.waitForSync, revisions.waitForSync,
                                 jobs.waitForSync, cronJobs.waitForSync, statefulSets.waitForSync, claims.waitForSync] as [@Sendable () async -> Void] {
                    await informer()
                }
                collector.scanAll()
                await collector.runWorkers(logger: logger)
            }
            group.addTask {
                await nodes.waitForSync()
                await leases.waitForSync()
                await lifecycle.run()
            }
        }
    }
}
