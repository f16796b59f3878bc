import Foundation

/// The default data directory of every command that has one: `$BERTH_DATA_DIR`, else
/// `/var/lib/berth`. One variable points `berth image`, `berth cleanup`, `berth backup` and the
/// rest at a cluster kept elsewhere, without a `--data-dir` on each.
enum DataDirectory {
    static var standard: String {
        if let directory = ProcessInfo.processInfo.environment["BERTH_DATA_DIR"], !directory.isEmpty { return directory }
        return "/var/lib/berth"
    }
}
