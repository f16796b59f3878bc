/// A Gateway route's filters as HAProxy rules, and the quoting that keeps what users wrote
/// (header values, regular expressions) one word of HAProxy's configuration whatever it holds.
extension HAProxyConfig {
    /// The rules that carry out a route's filters, in the order Gateway API applies them:
    /// request headers, then a rewrite or a redirect; response headers on the way back.
    func filterRules(_ filters: IngressPlan.RouteFilters, path: String, chosen: String) -> String {
        var text = ""
        for name in filters.removeRequest { text += "    http-request del-header \(Self.quoted(name)) if \(chosen)\n" }
        for header in filters.setRequest { text += "    http-request set-header \(Self.quoted(header.name)) \(Self.logFormat(header.value)) if \(chosen)\n" }
        for header in filters.addRequest { text += "    http-request add-header \(Self.quoted(header.name)) \(Self.logFormat(header.value)) if \(chosen)\n" }
        if let host = filters.rewriteHost { text += "    http-request set-header host \(Self.quoted(host)) if \(chosen)\n" }
        let change = filters.redirect?.path ?? filters.rewritePath
        switch change {
        case .full(let replacement)? where filters.redirect == nil:
            text += "    http-request set-path \(Self.logFormat(replacement)) if \(chosen)\n"
        case .prefix(let replacement)?:
            // The matched prefix (element-wise) replaced; what followed it kept.
            let prefix = path.hasSuffix("/") ? String(path.dropLast()) : path
            let base = replacement.hasSuffix("/") ? String(replacement.dropLast()) : replacement
            text += "    http-request replace-path \(Self.quoted("^" + Self.regexEscaped(prefix) + "(/.*)?$")) \(Self.quoted(Self.percentEscaped(base) + "\\1")) if \(chosen)\n"
            if base.isEmpty { text += "    http-request set-path / if \(chosen) { path -m len 0 }\n" }
        default: break
        }
        if let redirect = filters.redirect {
            let scheme = redirect.scheme ?? "%[ssl_fc,iif(https,http)]"
            var host = redirect.hostname ?? (redirect.port == nil && redirect.scheme == nil ? "%[req.hdr(host)]" : "%[var(txn.host)]")
            if let port = redirect.port, !(port == 80 && redirect.scheme == "http") && !(port == 443 && redirect.scheme == "https") { host += ":\(port)" }
            var target = "%[path]"
            if case .full(let replacement)? = redirect.path { target = Self.percentEscaped(replacement) }
            let location = "\(scheme)://\(host)\(target)%[url,regsub(^[^?]*,)]"
            text += "    http-request redirect location \(Self.quoted(location)) code \(redirect.statusCode) if \(chosen)\n"
        }
        for name in filters.removeResponse { text += "    http-response del-header \(Self.quoted(name)) if \(chosen)\n" }
        for header in filters.setResponse { text += "    http-response set-header \(Self.quoted(header.name)) \(Self.logFormat(header.value)) if \(chosen)\n" }
        for header in filters.addResponse { text += "    http-response add-header \(Self.quoted(header.name)) \(Self.logFormat(header.value)) if \(chosen)\n" }
        return text
    }

    /// One word of HAProxy's configuration: as is when plain, else in single quotes (inside
    /// which HAProxy interprets nothing), a quote itself closed, escaped and reopened.
    static func quoted(_ text: String) -> String {
        let plain = !text.isEmpty && text.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "._-/:()@~=+,".contains($0)) }
        return plain ? text : "'" + text.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }

    /// A literal where HAProxy reads a log-format string (header values, redirect targets).
    static func logFormat(_ text: String) -> String { quoted(percentEscaped(text)) }

    static func percentEscaped(_ text: String) -> String { text.replacingOccurrences(of: "%", with: "%%") }
}

extension IngressPlan.RouteFilters {
    var isEmpty: Bool { self == IngressPlan.RouteFilters() }
}
