// swift-tools-version:5.5
// libmlops_edge for Swift (iOS, macOS, Linux): a system-library target over the C header and a
// thin Swift layer mirroring the Kotlin API. Link against the installed library (pkg-config
// `mlops_edge`, see scripts/install.sh) or, on iOS, the staticlib built for aarch64-apple-ios.
import PackageDescription

let package = Package(
    name: "MlopsEdge",
    products: [.library(name: "MlopsEdge", targets: ["MlopsEdge"])],
    targets: [
        .systemLibrary(name: "CMlopsEdge", path: "Sources/CMlopsEdge", pkgConfig: "mlops_edge"),
        .target(name: "MlopsEdge", dependencies: ["CMlopsEdge"], path: "Sources/MlopsEdge"),
    ]
)
