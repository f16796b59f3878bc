// swift-tools-version:6.0
import PackageDescription

let swiftSettings: [SwiftSetting] = [.swiftLanguageMode(.v6)]

let package = Package(
    name: "berth",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "berth", targets: ["berth"])
    ],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-certificates.git", from: "1.21.1"),
        .package(url: "https://github.com/apple/swift-crypto.git", "3.12.3"..<"5.0.0"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-asn1.git", from: "1.7.4"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-websocket.git", from: "2.8.1"),
    ],
    targets: [
        .systemLibrary(name: "CMalloc", path: "Sources/CMalloc"),
        .systemLibrary(name: "CSQLite", path: "Sources/CSQLite", providers: [.apt(["libsqlite3-dev"])]),
        .systemLibrary(name: "CZlib", path: "Sources/CZlib", providers: [.apt(["zlib1g-dev"])]),
        .systemLibrary(name: "CZstd", path: "Sources/CZstd", providers: [.apt(["libzstd-dev"])]),
        .target(name: "CBerthSys"),
        .target(name: "BerthCore", swiftSettings: swiftSettings),
        .target(
            name: "BerthImages",
            dependencies: [
                "BerthCore", "BerthRuntime", "CZlib", "CZstd", "CBerthSys",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "BerthAgent",
            dependencies: [
                "BerthCore", "BerthClient", "BerthImages", "BerthRuntime", "BerthNetwork", "BerthMetrics", "BerthIngress", "BerthStorage",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(name: "BerthScheduler", dependencies: ["BerthCore"], swiftSettings: swiftSettings),
        .target(name: "BerthMetrics", dependencies: ["BerthCore"], swiftSettings: swiftSettings),
        .target(name: "BerthIngress", dependencies: ["BerthCore"], swiftSettings: swiftSettings),
        .target(name: "BerthStorage", dependencies: ["BerthCore"], swiftSettings: swiftSettings),
        .target(
            name: "BerthNetwork",
            dependencies: ["BerthCore", "BerthRuntime", "CBerthSys", .product(name: "Logging", package: "swift-log")],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "BerthControllers",
            dependencies: [
                "BerthCore", "BerthClient", "BerthScheduler", "BerthNetwork", "BerthMetrics", "BerthStorage",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "BerthRuntime",
            dependencies: ["BerthCore", "CBerthSys", .product(name: "Logging", package: "swift-log")],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "BerthStore",
            dependencies: [
                "BerthCore", "CSQLite",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "BerthRegistry",
            dependencies: ["BerthCore", "BerthImages", "BerthStore"],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "BerthAPIServer",
            dependencies: [
                "BerthCore", "BerthStore", "BerthClient", "BerthRegistry", "BerthImages", "BerthMetrics", "CZlib", "CMalloc",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "HummingbirdWebSocket", package: "hummingbird-websocket"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "BerthClient",
            dependencies: [
                "BerthCore",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Yams", package: "Yams"),
                .product(name: "HummingbirdWSClient", package: "hummingbird-websocket"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "berth",
            dependencies: [
                "BerthCore", "BerthStore", "BerthAPIServer", "BerthClient", "BerthAgent", "BerthControllers", "BerthScheduler", "BerthNetwork", "BerthRuntime", "BerthImages", "BerthRegistry", "BerthMetrics", "BerthStorage", "CMalloc",
                .product(name: "HummingbirdWebSocket", package: "hummingbird-websocket"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Yams", package: "Yams"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "Hummingbird", package: "hummingbird"),
            ],
            swiftSettings: swiftSettings,
            linkerSettings: [.unsafeFlags(["-use-ld=lld", "-Xlinker", "-z", "-Xlinker", "pack-relative-relocs", "-Xlinker", "--no-export-dynamic"])]
        ),
        .executableTarget(
            name: "berth-bench",
            dependencies: [
                "BerthCore", "BerthClient", "BerthScheduler", "BerthMetrics", "CMalloc",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            path: "bench/Sources/berth-bench",
            swiftSettings: swiftSettings
        ),
        .target(name: "BerthTestSupport", dependencies: ["BerthCore", "BerthClient", "BerthRuntime"], swiftSettings: swiftSettings),
        .testTarget(name: "BerthCoreTests", dependencies: ["BerthCore", "BerthTestSupport"], swiftSettings: swiftSettings),
        .testTarget(name: "BerthClientTests", dependencies: ["BerthClient", "BerthCore", "BerthTestSupport"], swiftSettings: swiftSettings),
        .testTarget(name: "BerthNetworkTests", dependencies: ["BerthNetwork", "BerthCore", "BerthTestSupport"], swiftSettings: swiftSettings),
        .testTarget(name: "BerthMetricsTests", dependencies: ["BerthMetrics", "BerthCore", "BerthTestSupport"], swiftSettings: swiftSettings),
        .testTarget(name: "BerthStorageTests", dependencies: ["BerthStorage", "BerthCore", "BerthTestSupport"], swiftSettings: swiftSettings),
        .testTarget(name: "BerthIngressTests", dependencies: ["BerthIngress", "BerthCore", "BerthTestSupport"], swiftSettings: swiftSettings),
        .testTarget(name: "BerthSchedulerTests", dependencies: ["BerthScheduler", "BerthCore", "BerthTestSupport"], swiftSettings: swiftSettings),
        .testTarget(name: "BerthControllersTests", dependencies: ["BerthControllers", "BerthScheduler", "BerthCore", "BerthClient", "BerthTestSupport"], swiftSettings: swiftSettings),
        .testTarget(name: "BerthRegistryTests", dependencies: ["BerthRegistry", "BerthImages", "BerthStore", "BerthCore", "BerthTestSupport"], swiftSettings: swiftSettings),
        .testTarget(name: "BerthImagesTests", dependencies: ["BerthImages", "BerthCore", "BerthTestSupport", "CBerthSys"], swiftSettings: swiftSettings),
        .testTarget(name: "BerthStoreTests", dependencies: ["BerthStore", "BerthCore", "BerthTestSupport"], swiftSettings: swiftSettings),
        .testTarget(
            name: "BerthAPIServerTests",
            dependencies: [
                "BerthAPIServer", "BerthStore", "BerthCore", "BerthClient", "BerthTestSupport",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
            ],
            exclude: ["FuzzCorpus"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "BerthNodeTests",
            dependencies: ["BerthCore", "BerthClient", "BerthRuntime", "BerthAgent", "BerthTestSupport"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "BerthClusterTests",
            dependencies: ["BerthCore", "BerthClient", "BerthTestSupport", "BerthControllers", "BerthNetwork", "BerthRuntime",
                           .product(name: "Logging", package: "swift-log")],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "BerthEndToEndTests",
            dependencies: ["BerthCore", "BerthClient", "BerthTestSupport", "BerthImages"],
            exclude: ["Probes"],
            swiftSettings: swiftSettings
        ),
    ]
)
