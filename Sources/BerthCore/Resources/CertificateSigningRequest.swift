import Foundation

/// `certificates.k8s.io/v1` CertificateSigningRequest (cluster-scoped, `csr`): a PEM request
/// for a certificate from a named signer. The server records who asked (`spec.username`,
/// `groups`, `uid`); an approver adds an `Approved` or `Denied` condition through the
/// `approval` subresource (`kubectl certificate approve|deny`); the
/// `kubernetes.io/kube-apiserver-client` signer (the cluster CA) then puts the certificate in
/// `status.certificate`. Deleting a CSR revokes the certificate it issued.
public struct CertificateSigningRequest: Codable, Sendable, Hashable {
    public var apiVersion: String? = "certificates.k8s.io/v1"
    public var kind: String? = "CertificateSigningRequest"
    public var metadata: ObjectMeta
    public var spec: CertificateSigningRequestSpec
    public var status: CertificateSigningRequestStatus?
}

public struct CertificateSigningRequestSpec: Codable, Sendable, Hashable {
    /// The PEM request, base64 in JSON (a byte field).
    public var request: String
    public var signerName: String
    public var expirationSeconds: Int32?
    public var usages: [String]?
    public var username: String?
    public var uid: String?
    public var groups: [String]?
    public var extra: [String: [String]]?
}

public struct CertificateSigningRequestStatus: Codable, Sendable, Hashable {
    public var conditions: [CertificateSigningRequestCondition]?
    /// The issued PEM certificate, base64 in JSON.
    public var certificate: String?

    public init(conditions: [CertificateSigningRequestCondition]? = nil, certificate: String? = nil) {
        self.conditions = conditions
        self.certificate = certificate
    }
}

public struct CertificateSigningRequestCondition: Codable, Sendable, Hashable {
    public var type: String
    public var status: String?
    public var reason: String?
    public var message: String?
    public var lastUpdateTime: String?
    public var lastTransitionTime: String?

    public init(type: String, status: String = "True", reason: String? = nil, message: String? = nil, time: String? = nil) {
        self.type = type
        self.status = status
        self.reason = reason
        self.message = message
        lastUpdateTime = time
        lastTransitionTime = time
    }
}

extension CertificateSigningRequest: APIResource {
    public static let clientSigner = "kubernetes.io/kube-apiserver-client"
    public static let conditionTypes = ["Approved", "Denied", "Failed"]
    public static let usageNames = ["signing", "digital signature", "content commitment", "key encipherment", "key agreement", "data encipherment",
                                    "cert sign", "crl sign", "encipher only", "decipher only", "any", "server auth", "client auth", "code signing",
                                    "email protection", "s/mime", "ipsec end system", "ipsec tunnel", "ipsec user", "timestamping", "ocsp signing",
                                    "microsoft sgc", "netscape sgc"]

    public static func applyDefaults(_ object: inout CertificateSigningRequest) {
        if object.spec.usages == nil { object.spec.usages = ["digital signature", "key encipherment"] }
    }

    public static func validate(_ object: CertificateSigningRequest, old: CertificateSigningRequest?) -> FieldErrors {
        var errors = FieldErrors()
        let spec = object.spec
        if spec.request.isEmpty { errors.required("spec.request") }
        let signerParts = spec.signerName.split(separator: "/", omittingEmptySubsequences: false)
        if spec.signerName.isEmpty {
            errors.required("spec.signerName")
        } else if signerParts.count != 2 || signerParts.contains(where: \.isEmpty) || signerParts[0].split(separator: ".").count < 2 {
            errors.invalid("spec.signerName", spec.signerName, "must be a fully qualified domain and path of the form 'example.com/signer-name'")
        }
        if let seconds = spec.expirationSeconds, seconds < 600 {
            errors.invalid("spec.expirationSeconds", String(seconds), "may not specify a duration less than 600 seconds (10 minutes)")
        }
        for (index, usage) in (spec.usages ?? []).enumerated() where !usageNames.contains(usage) {
            errors.notSupported("spec.usages[\(index)]", usage, usageNames)
        }
        if spec.signerName == clientSigner {
            let usages = spec.usages ?? []
            if !usages.contains("client auth") { errors.invalid("spec.usages", usages.joined(separator: ","), "the kubernetes.io/kube-apiserver-client signer requires \"client auth\"") }
            for (index, usage) in usages.enumerated() where !["client auth", "digital signature", "key encipherment"].contains(usage) {
                errors.invalid("spec.usages[\(index)]", usage, "not allowed for the kubernetes.io/kube-apiserver-client signer")
            }
        }
        let conditions = object.status?.conditions ?? []
        var seen: Set<String> = []
        for (index, condition) in conditions.enumerated() {
            if !conditionTypes.contains(condition.type) { errors.notSupported("status.conditions[\(index)].type", condition.type, conditionTypes) }
            if !seen.insert(condition.type).inserted { errors.duplicate("status.conditions[\(index)].type", condition.type) }
        }
        if seen.contains("Approved"), seen.contains("Denied") {
            errors.invalid("status.conditions", "Approved,Denied", "Approved and Denied conditions are mutually exclusive")
        }
        if let old {
            if old.spec != object.spec { errors.immutable("spec") }
            for condition in old.status?.conditions ?? [] where ["Approved", "Denied"].contains(condition.type) && !conditions.contains(where: { $0.type == condition.type }) {
                errors.forbidden("status.conditions", "updates may not remove a condition of type \"\(condition.type)\"")
            }
            if let issued = old.status?.certificate, !issued.isEmpty, object.status?.certificate != issued {
                errors.forbidden("status.certificate", "updates may not modify existing certificate content")
            }
        }
        return errors
    }
}

extension ResourceDescriptor {
    public static let certificateSigningRequest = ResourceDescriptor(
        CertificateSigningRequest.self, group: "certificates.k8s.io", plural: "certificatesigningrequests", namespaced: false, shortNames: ["csr"],
        subresources: ["status", "approval"],
        columns: [
            ageColumn,
            TableColumn("SignerName", "The name of the signer the request is for."),
            TableColumn("Requestor", "The user who made the request."),
            TableColumn("RequestedDuration", "The validity the request asked for."),
            TableColumn("Condition", "The request's approval and issuance."),
        ]
    ) { object, now in
        var conditions = (object.value(at: ["status", "conditions"])?.arrayValue ?? []).compactMap { $0["type"]?.stringValue }
        if conditions.isEmpty { conditions = ["Pending"] }
        if object.value(at: ["status", "certificate"])?.stringValue?.isEmpty == false { conditions.append("Issued") }
        let seconds = object.value(at: ["spec", "expirationSeconds"])?.intValue
        return [.string(TableCells.string(object, "metadata", "name") ?? ""), TableCells.age(object, now: now),
                .string(TableCells.string(object, "spec", "signerName") ?? ""), .string(TableCells.string(object, "spec", "username") ?? ""),
                .string(seconds.map { TableCells.humanDuration(TimeInterval($0)) } ?? "<none>"), .string(conditions.joined(separator: ","))]
    }
}
