import Foundation

// Defaults and checks of the Gateway API kinds: what the upstream CRDs' schemas and CEL rules
// default and refuse, so a manifest accepted here is accepted by a Kubernetes cluster with the
// standard channel installed, and the reverse. Everything the data plane is given has passed
// here (a regex HAProxy could not compile, a header value with a line break) — a refused write
// is better than a configuration `haproxy -c` refuses later.

extension GatewayClass: APIResource {
    public static func validate(_ object: GatewayClass, old: GatewayClass?) -> FieldErrors {
        var errors = FieldErrors()
        guard let spec = object.spec else {
            errors.required("spec")
            return errors
        }
        if let problem = GatewayValidation.controllerNameProblem(spec.controllerName) {
            errors.invalid("spec.controllerName", spec.controllerName, problem)
        } else if let previous = old?.spec?.controllerName, previous != spec.controllerName {
            errors.invalid("spec.controllerName", spec.controllerName, "Value is immutable")
        }
        return errors
    }
}

extension Gateway: APIResource {
    public static func applyDefaults(_ object: inout Gateway) {
        guard var spec = object.spec else { return }
        for index in spec.listeners.indices where spec.listeners[index].allowedRoutes == nil {
            spec.listeners[index].allowedRoutes = AllowedRoutes(namespaces: RouteNamespaces(from: "Same", selector: nil), kinds: nil)
        }
        for index in spec.listeners.indices {
            if spec.listeners[index].allowedRoutes?.namespaces == nil { spec.listeners[index].allowedRoutes?.namespaces = RouteNamespaces(from: "Same", selector: nil) }
            if spec.listeners[index].allowedRoutes?.namespaces?.from == nil { spec.listeners[index].allowedRoutes?.namespaces?.from = "Same" }
            if spec.listeners[index].tls != nil, spec.listeners[index].tls?.mode == nil { spec.listeners[index].tls?.mode = "Terminate" }
        }
        object.spec = spec
    }

    public static func validate(_ object: Gateway, old: Gateway?) -> FieldErrors {
        var errors = FieldErrors()
        guard let spec = object.spec else {
            errors.required("spec")
            return errors
        }
        errors.check("spec.gatewayClassName", spec.gatewayClassName, NameValidation.dns1123SubdomainProblem(spec.gatewayClassName))
        if spec.listeners.isEmpty { errors.required("spec.listeners") }
        if spec.listeners.count > 64 { errors.tooMany("spec.listeners", spec.listeners.count, 64) }
        var names = Set<String>(), combinations = Set<String>()
        for (index, listener) in spec.listeners.enumerated() {
            let field = "spec.listeners[\(index)]"
            errors.check("\(field).name", listener.name, NameValidation.dns1123LabelProblem(listener.name))
            if !names.insert(listener.name).inserted { errors.duplicate("\(field).name", listener.name) }
            if !(1...65535).contains(listener.port) { errors.invalid("\(field).port", String(listener.port), "must be between 1 and 65535, inclusive") }
            if let hostname = listener.hostname, let problem = GatewayValidation.hostnameProblem(hostname) { errors.invalid("\(field).hostname", hostname, problem) }
            if listener.protocol.isEmpty { errors.required("\(field).protocol") }
            let key = "\(listener.port)|\(listener.protocol)|\(listener.hostname ?? "")"
            if !combinations.insert(key).inserted {
                errors.invalid(field, listener.name, "Combination of port, protocol and hostname must be unique for each listener")
            }
            switch listener.protocol {
            case "HTTPS", "TLS":
                if listener.tls == nil { errors.required("\(field).tls") }
            case "HTTP", "TCP", "UDP":
                if listener.tls != nil { errors.forbidden("\(field).tls", "tls must not be specified for protocols ['HTTP', 'TCP', 'UDP']") }
            default: break
            }
            if let tls = listener.tls {
                if let mode = tls.mode, !["Terminate", "Passthrough"].contains(mode) { errors.notSupported("\(field).tls.mode", mode, ["Passthrough", "Terminate"]) }
                if tls.mode == "Terminate", (tls.certificateRefs ?? []).isEmpty { errors.required("\(field).tls.certificateRefs") }
                for (number, reference) in (tls.certificateRefs ?? []).enumerated() {
                    errors.check("\(field).tls.certificateRefs[\(number)].name", reference.name, NameValidation.dns1123SubdomainProblem(reference.name))
                    if let kind = reference.kind, kind != "Secret" { errors.notSupported("\(field).tls.certificateRefs[\(number)].kind", kind, ["Secret"]) }
                }
            }
            if let namespaces = listener.allowedRoutes?.namespaces {
                let from = namespaces.from ?? "Same"
                if !["All", "Same", "Selector"].contains(from) { errors.notSupported("\(field).allowedRoutes.namespaces.from", from, ["All", "Same", "Selector"]) }
                if from == "Selector" {
                    if let selector = namespaces.selector {
                        MetaValidation.validateSelector(selector, path: "\(field).allowedRoutes.namespaces.selector", into: &errors)
                    } else {
                        errors.required("\(field).allowedRoutes.namespaces.selector")
                    }
                }
            }
        }
        for (index, address) in (spec.addresses ?? []).enumerated() where (address.type ?? "IPAddress") == "IPAddress" && !IPv4.isValid(address.value) {
            errors.invalid("spec.addresses[\(index)].value", address.value, "must be an IPv4 address")
        }
        return errors
    }
}

extension HTTPRoute: APIResource {
    public static func applyDefaults(_ object: inout HTTPRoute) {
        guard var spec = object.spec else { return }
        for index in (spec.parentRefs ?? []).indices {
            if spec.parentRefs![index].group == nil { spec.parentRefs![index].group = GatewayValidation.group }
            if spec.parentRefs![index].kind == nil { spec.parentRefs![index].kind = "Gateway" }
        }
        var rules = spec.rules ?? [HTTPRouteRule()]
        for rule in rules.indices {
            if (rules[rule].matches ?? []).isEmpty { rules[rule].matches = [HTTPRouteMatch()] }
            for match in rules[rule].matches!.indices {
                if rules[rule].matches![match].path == nil { rules[rule].matches![match].path = HTTPPathMatch(type: "PathPrefix", value: "/") }
                if rules[rule].matches![match].path?.type == nil { rules[rule].matches![match].path?.type = "PathPrefix" }
                if rules[rule].matches![match].path?.value == nil { rules[rule].matches![match].path?.value = "/" }
                for header in (rules[rule].matches![match].headers ?? []).indices where rules[rule].matches![match].headers![header].type == nil {
                    rules[rule].matches![match].headers![header].type = "Exact"
                }
                for parameter in (rules[rule].matches![match].queryParams ?? []).indices where rules[rule].matches![match].queryParams![parameter].type == nil {
                    rules[rule].matches![match].queryParams![parameter].type = "Exact"
                }
            }
            for backend in (rules[rule].backendRefs ?? []).indices {
                if rules[rule].backendRefs![backend].weight == nil { rules[rule].backendRefs![backend].weight = 1 }
                if rules[rule].backendRefs![backend].group == nil { rules[rule].backendRefs![backend].group = "" }
                if rules[rule].backendRefs![backend].kind == nil { rules[rule].backendRefs![backend].kind = "Service" }
            }
        }
        spec.rules = rules
        object.spec = spec
    }

    public static func validate(_ object: HTTPRoute, old: HTTPRoute?) -> FieldErrors {
        var errors = FieldErrors()
        guard let spec = object.spec else {
            errors.required("spec")
            return errors
        }
        let parents = spec.parentRefs ?? []
        if parents.count > 32 { errors.tooMany("spec.parentRefs", parents.count, 32) }
        for (index, parent) in parents.enumerated() {
            errors.check("spec.parentRefs[\(index)].name", parent.name, NameValidation.dns1123SubdomainProblem(parent.name))
            if let section = parent.sectionName { errors.check("spec.parentRefs[\(index)].sectionName", section, NameValidation.dns1123LabelProblem(section)) }
            if let port = parent.port, !(1...65535).contains(port) { errors.invalid("spec.parentRefs[\(index)].port", String(port), "must be between 1 and 65535, inclusive") }
        }
        let hostnames = spec.hostnames ?? []
        if hostnames.count > 16 { errors.tooMany("spec.hostnames", hostnames.count, 16) }
        for (index, hostname) in hostnames.enumerated() {
            if let problem = GatewayValidation.hostnameProblem(hostname) { errors.invalid("spec.hostnames[\(index)]", hostname, problem) }
        }
        let rules = spec.rules ?? []
        if rules.count > 16 { errors.tooMany("spec.rules", rules.count, 16) }
        for (index, rule) in rules.enumerated() {
            GatewayValidation.validate(rule, field: "spec.rules[\(index)]", into: &errors)
        }
        return errors
    }
}

public enum GatewayValidation {
    public static let group = "gateway.networking.k8s.io"
    public static let methods = ["CONNECT", "DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT", "TRACE"]

    /// `example.com/path`: a domain, a slash, a path (the CRD's pattern).
    static func controllerNameProblem(_ name: String) -> String? {
        let parts = name.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[1].isEmpty, name.utf8.count <= 253,
              NameValidation.dns1123SubdomainProblem(String(parts[0])) == nil,
              parts[1].allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "/-._~%!$&'()*+,;=:".contains($0)) })
        else { return "must be a domain-prefixed path, such as example.com/gateway-controller" }
        return nil
    }

    /// A DNS name with an optional leading `*.` label; never an IP address.
    public static func hostnameProblem(_ hostname: String) -> String? {
        Ingress.hostProblem(hostname)
    }

    static func validate(_ rule: HTTPRouteRule, field: String, into errors: inout FieldErrors) {
        let matches = rule.matches ?? []
        if matches.count > 64 { errors.tooMany("\(field).matches", matches.count, 64) }
        for (index, match) in matches.enumerated() {
            let matchField = "\(field).matches[\(index)]"
            if let path = match.path {
                let type = path.type ?? "PathPrefix", value = path.value ?? "/"
                if !HTTPPathMatch.types.contains(type) {
                    errors.notSupported("\(matchField).path.type", type, HTTPPathMatch.types)
                } else if type == "RegularExpression" {
                    if let problem = regexProblem(value) { errors.invalid("\(matchField).path.value", value, problem) }
                } else if !value.hasPrefix("/") {
                    errors.invalid("\(matchField).path.value", value, "value must be an absolute path and start with '/' when type one of ['Exact', 'PathPrefix']")
                } else if value.contains("//") || value.contains("/./") || value.contains("/../") || value.contains("%2f") || value.contains("%2F") || value.contains("#") {
                    errors.invalid("\(matchField).path.value", value, "must not contain '//', '/./', '/../', '%2f' or '#'")
                } else if value.utf8.contains(where: { $0 < 0x21 || $0 == 0x7F }) {
                    errors.invalid("\(matchField).path.value", value, "must not contain spaces or control characters")
                }
            }
            for (kind, values) in [("headers", match.headers ?? []), ("queryParams", match.queryParams ?? [])] {
                if values.count > 16 { errors.tooMany("\(matchField).\(kind)", values.count, 16) }
                var seen = Set<String>()
                for (number, item) in values.enumerated() {
                    let itemField = "\(matchField).\(kind)[\(number)]"
                    let type = item.type ?? "Exact"
                    if !HTTPValueMatch.types.contains(type) { errors.notSupported("\(itemField).type", type, HTTPValueMatch.types) }
                    if let problem = tokenProblem(item.name) { errors.invalid("\(itemField).name", item.name, problem) }
                    if !seen.insert(kind == "headers" ? item.name.lowercased() : item.name).inserted { errors.duplicate("\(itemField).name", item.name) }
                    if type == "RegularExpression", let problem = regexProblem(item.value) {
                        errors.invalid("\(itemField).value", item.value, problem)
                    } else if let problem = valueProblem(item.value) {
                        errors.invalid("\(itemField).value", item.value, problem)
                    }
                }
            }
            if let method = match.method, !methods.contains(method) { errors.notSupported("\(matchField).method", method, methods) }
        }
        let filters = rule.filters ?? []
        validate(filters, field: "\(field).filters", matches: matches, into: &errors)
        let types = Set(filters.map(\.type))
        if types.contains("RequestRedirect") && types.contains("URLRewrite") {
            errors.invalid("\(field).filters", "", "May specify either httpRouteFilterRequestRedirect or httpRouteFilterRequestRewrite, but not both")
        }
        let backends = rule.backendRefs ?? []
        if types.contains("RequestRedirect") && !backends.isEmpty {
            errors.invalid("\(field).backendRefs", "", "RequestRedirect filter must not be used together with backendRefs")
        }
        if backends.count > 16 { errors.tooMany("\(field).backendRefs", backends.count, 16) }
        for (index, backend) in backends.enumerated() {
            let backendField = "\(field).backendRefs[\(index)]"
            errors.check("\(backendField).name", backend.name, NameValidation.dns1123LabelProblem(backend.name))
            if let namespace = backend.namespace { errors.check("\(backendField).namespace", namespace, NameValidation.dns1123LabelProblem(namespace)) }
            if (backend.kind ?? "Service") == "Service" && (backend.group ?? "").isEmpty && backend.port == nil {
                errors.required("\(backendField).port")
            }
            if let port = backend.port, !(1...65535).contains(port) { errors.invalid("\(backendField).port", String(port), "must be between 1 and 65535, inclusive") }
            if let weight = backend.weight, !(0...1_000_000).contains(weight) { errors.invalid("\(backendField).weight", String(weight), "must be between 0 and 1000000, inclusive") }
            validate(backend.filters ?? [], field: "\(backendField).filters", matches: matches, into: &errors)
        }
        for (name, value) in [("request", rule.timeouts?.request), ("backendRequest", rule.timeouts?.backendRequest)] {
            if let value, durationMilliseconds(value) == nil {
                errors.invalid("\(field).timeouts.\(name)", value, "must be a duration such as 10s, 1m30s or 500ms (units h, m, s, ms)")
            }
        }
    }

    static func validate(_ filters: [HTTPRouteFilter], field: String, matches: [HTTPRouteMatch], into errors: inout FieldErrors) {
        if filters.count > 16 { errors.tooMany(field, filters.count, 16) }
        var seen = Set<String>()
        for (index, filter) in filters.enumerated() {
            let filterField = "\(field)[\(index)]"
            guard HTTPRouteFilter.types.contains(filter.type) else {
                errors.notSupported("\(filterField).type", filter.type, HTTPRouteFilter.types)
                continue
            }
            if filter.type != "RequestMirror" && filter.type != "ExtensionRef" && !seen.insert(filter.type).inserted {
                errors.duplicate("\(filterField).type", filter.type)
            }
            let given: [(String, Bool)] = [
                ("RequestHeaderModifier", filter.requestHeaderModifier != nil), ("ResponseHeaderModifier", filter.responseHeaderModifier != nil),
                ("RequestRedirect", filter.requestRedirect != nil), ("URLRewrite", filter.urlRewrite != nil),
                ("RequestMirror", filter.requestMirror != nil), ("ExtensionRef", filter.extensionRef != nil),
            ]
            for (type, present) in given where present != (type == filter.type) {
                let key = type.prefix(1).lowercased() + type.dropFirst()
                let spelled = type == "URLRewrite" ? "urlRewrite" : key
                if present {
                    errors.forbidden("\(filterField).\(spelled)", "must be nil if the \(filterField).type is not \(type)")
                } else {
                    errors.required("\(filterField).\(spelled)")
                }
            }
            for (name, modifier) in [("requestHeaderModifier", filter.requestHeaderModifier), ("responseHeaderModifier", filter.responseHeaderModifier)] {
                guard let modifier else { continue }
                for (list, headers) in [("set", modifier.set ?? []), ("add", modifier.add ?? [])] {
                    for (number, header) in headers.enumerated() {
                        if let problem = tokenProblem(header.name) { errors.invalid("\(filterField).\(name).\(list)[\(number)].name", header.name, problem) }
                        if let problem = valueProblem(header.value) { errors.invalid("\(filterField).\(name).\(list)[\(number)].value", header.value, problem) }
                    }
                }
                for (number, header) in (modifier.remove ?? []).enumerated() {
                    if let problem = tokenProblem(header) { errors.invalid("\(filterField).\(name).remove[\(number)]", header, problem) }
                }
            }
            if let redirect = filter.requestRedirect {
                if let scheme = redirect.scheme, !["http", "https"].contains(scheme) { errors.notSupported("\(filterField).requestRedirect.scheme", scheme, ["http", "https"]) }
                if let hostname = redirect.hostname, let problem = NameValidation.dns1123SubdomainProblem(hostname) {
                    errors.invalid("\(filterField).requestRedirect.hostname", hostname, problem)
                }
                if let port = redirect.port, !(1...65535).contains(port) { errors.invalid("\(filterField).requestRedirect.port", String(port), "must be between 1 and 65535, inclusive") }
                if let code = redirect.statusCode, ![301, 302, 303, 307, 308].contains(code) {
                    errors.notSupported("\(filterField).requestRedirect.statusCode", String(code), ["301", "302", "303", "307", "308"])
                }
                if let path = redirect.path { validate(path, field: "\(filterField).requestRedirect.path", matches: matches, into: &errors) }
            }
            if let rewrite = filter.urlRewrite {
                if let hostname = rewrite.hostname, let problem = NameValidation.dns1123SubdomainProblem(hostname) {
                    errors.invalid("\(filterField).urlRewrite.hostname", hostname, problem)
                }
                if let path = rewrite.path { validate(path, field: "\(filterField).urlRewrite.path", matches: matches, into: &errors) }
            }
        }
    }

    static func validate(_ path: HTTPPathModifier, field: String, matches: [HTTPRouteMatch], into errors: inout FieldErrors) {
        switch path.type {
        case "ReplaceFullPath":
            guard let value = path.replaceFullPath else { return errors.required("\(field).replaceFullPath") }
            if path.replacePrefixMatch != nil { errors.forbidden("\(field).replacePrefixMatch", "must be nil if the type is ReplaceFullPath") }
            if !value.hasPrefix("/") || value.utf8.contains(where: { $0 < 0x21 || $0 == 0x7F }) { errors.invalid("\(field).replaceFullPath", value, "must be an absolute path without spaces") }
        case "ReplacePrefixMatch":
            guard let value = path.replacePrefixMatch else { return errors.required("\(field).replacePrefixMatch") }
            if path.replaceFullPath != nil { errors.forbidden("\(field).replaceFullPath", "must be nil if the type is ReplacePrefixMatch") }
            if !value.hasPrefix("/") || value.utf8.contains(where: { $0 < 0x21 || $0 == 0x7F }) { errors.invalid("\(field).replacePrefixMatch", value, "must be an absolute path without spaces") }
            if matches.count != 1 || (matches[0].path?.type ?? "PathPrefix") != "PathPrefix" {
                errors.invalid(field, "ReplacePrefixMatch", "When using URLRewrite or RequestRedirect with path.replacePrefixMatch, exactly one PathPrefix match must be specified")
            }
        default:
            errors.notSupported("\(field).type", path.type, ["ReplaceFullPath", "ReplacePrefixMatch"])
        }
    }

    /// An HTTP token (RFC 9110): header and query parameter names.
    static func tokenProblem(_ name: String) -> String? {
        if name.isEmpty || name.utf8.count > 256 { return "must be 1 to 256 characters" }
        let allowed = "!#$%&'*+-.^_`|~"
        return name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || allowed.contains($0)) }) ? nil : "must be an HTTP token (letters, digits and !#$%&'*+-.^_`|~)"
    }

    /// A header value: printable, no line breaks (which would split the request).
    static func valueProblem(_ value: String) -> String? {
        if value.utf8.count > 4096 { return "must be no more than 4096 characters" }
        return value.utf8.contains(where: { ($0 < 0x20 && $0 != 0x09) || $0 == 0x7F }) ? "must not contain control characters or line breaks" : nil
    }

    /// A regular expression the data plane can compile (PCRE in HAProxy; checked here with
    /// Swift's own regex parser, whose PCRE-style syntax agrees on everything but exotic
    /// constructs — not `NSRegularExpression`, which would load ICU into the server, §3).
    static func regexProblem(_ pattern: String) -> String? {
        if pattern.isEmpty || pattern.utf8.count > 1024 { return "must be 1 to 1024 characters" }
        if pattern.utf8.contains(where: { $0 < 0x20 || $0 == 0x7F }) { return "must not contain control characters" }
        do { _ = try Regex(pattern) } catch { return "is not a valid regular expression" }
        return nil
    }

    /// `1h2m3s4ms` (at most four parts, each up to five digits) in milliseconds.
    public static func durationMilliseconds(_ text: String) -> Int? {
        var total = 0, digits = "", parts = 0
        var characters = Array(text)[...]
        guard !characters.isEmpty else { return nil }
        while let character = characters.first {
            if character.isASCII && character.isNumber {
                digits.append(character)
                characters = characters.dropFirst()
                continue
            }
            guard !digits.isEmpty, digits.count <= 5, let number = Int(digits) else { return nil }
            let unit: Int
            if characters.starts(with: ["m", "s"]) {
                unit = 1
                characters = characters.dropFirst(2)
            } else {
                switch character {
                case "h": unit = 3_600_000
                case "m": unit = 60_000
                case "s": unit = 1000
                default: return nil
                }
                characters = characters.dropFirst()
            }
            total += number * unit
            digits = ""
            parts += 1
        }
        return digits.isEmpty && parts <= 4 ? total : nil
    }
}
