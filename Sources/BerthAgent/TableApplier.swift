import BerthRuntime
import Logging

/// Hands a rendered nftables table to `nft -f` (one atomic transaction) unless it is the one
/// already in force.
actor TableApplier {
    let logger: Logger
    let what: String
    private var applied = ""

    init(logger: Logger, what: String) {
        self.logger = logger
        self.what = what
    }

    @discardableResult
    func apply(_ text: String) async -> Bool {
        guard text != applied else { return true }
        do {
            let result = try await Subprocess.run("/usr/sbin/nft", ["-f", "-"], input: Array(text.utf8))
            guard result.succeeded else {
                logger.error("nftables refused the \(what) table", metadata: ["error": "\(result.errorText.prefix(500))"])
                return false
            }
            applied = text
            return true
        } catch {
            logger.error("could not run nft", metadata: ["error": "\(error.message)"])
            return false
        }
    }
}
