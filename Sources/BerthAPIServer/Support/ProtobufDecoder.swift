import BerthCore

/// Turns a Kubernetes protobuf body into the JSON object the handlers expect, following
/// `ProtobufSchema`. Reached only for `application/vnd.kubernetes.protobuf` bodies.
enum ProtobufDecoder {
    /// The object in an envelope (`k8s\0` + runtime.Unknown), with apiVersion and kind from its TypeMeta.
    static func decodeEnvelope(_ body: [UInt8]) throws(BerthError) -> JSONValue {
        guard body.count >= 4, body[0] == 0x6b, body[1] == 0x38, body[2] == 0x73, body[3] == 0 else { throw ProtobufReader.malformed }
        var reader = ProtobufReader(body[4...])
        var apiVersion = "", kind = ""
        var raw: ArraySlice<UInt8>?
        while let (number, field) = try reader.next() {
            switch (number, field) {
            case (1, .bytes(let typeMeta)):
                var meta = ProtobufReader(typeMeta)
                while let (metaNumber, metaField) = try meta.next() {
                    guard case .bytes(let text) = metaField else { continue }
                    if metaNumber == 1 { apiVersion = String(decoding: text, as: UTF8.self) }
                    if metaNumber == 2 { kind = String(decoding: text, as: UTF8.self) }
                }
            case (2, .bytes(let bytes)): raw = bytes
            default: continue
            }
        }
        guard let raw else { throw ProtobufReader.malformed }
        guard let root = ProtobufSchema.roots[kind] else {
            throw BerthError(.unsupportedMediaType, "protobuf bodies of kind \(kind.isEmpty ? "(none)" : kind) are not supported by this server; send application/json")
        }
        var object = try decode(raw, message: root)
        object["apiVersion"] = .string(apiVersion)
        object["kind"] = .string(kind)
        return object
    }

    static func decode(_ bytes: ArraySlice<UInt8>, message: String) throws(BerthError) -> JSONValue {
        guard let fields = ProtobufSchema.messages[message] else { throw ProtobufReader.malformed }
        var result: [String: JSONValue] = [:]
        if message == "Ignored" { return .object(result) }
        var reader = ProtobufReader(bytes)
        while let (number, raw) = try reader.next() {
            guard let field = fields[number] else {
                if isEmpty(raw) { continue }
                throw BerthError(.unsupportedMediaType, "protobuf field \(number) of \(message) is not supported by this server; send application/json (kubectl apply)")
            }
            if case .ignoredTime = field.type { continue }
            if case .map(let valueType) = field.type {
                guard case .bytes(let entry) = raw else { throw ProtobufReader.malformed }
                let (key, value) = try mapEntry(entry, valueType)
                var map = result[field.name]?.objectValue ?? [:]
                map[key] = value
                result[field.name] = .object(map)
                continue
            }
            let value = try scalar(raw, field.type)
            // Go's protobuf encoding writes non-pointer fields even when empty; its JSON leaves
            // them out (omitempty), and so must this, or "" would fail validation as a value.
            if !field.repeated, Self.isZero(value, field.type) { continue }
            if field.repeated {
                var list = result[field.name]?.arrayValue ?? []
                list.append(value)
                result[field.name] = .array(list)
            } else {
                result[field.name] = value
            }
        }
        return .object(result)
    }

    static func isZero(_ value: JSONValue, _ type: ProtobufSchema.FieldType) -> Bool {
        switch type {
        case .string: return value == .string("")
        case .intOrString: return value == .number("0")
        case .int32OrUnset: return value == .number("0")
        default: return false
        }
    }

    static func isEmpty(_ field: ProtobufReader.Field) -> Bool {
        switch field {
        case .varint(let value), .fixed(let value): return value == 0
        case .bytes(let bytes): return bytes.isEmpty
        }
    }

    static func scalar(_ raw: ProtobufReader.Field, _ type: ProtobufSchema.FieldType) throws(BerthError) -> JSONValue {
        switch (type, raw) {
        case (.string, .bytes(let bytes)): return .string(String(decoding: bytes, as: UTF8.self))
        case (.bytes, .bytes(let bytes)): return .string(Base64.encode(Array(bytes)))
        case (.bool, .varint(let value)): return .bool(value != 0)
        case (.int32, .varint(let value)), (.int32OrUnset, .varint(let value)): return .number(String(Int32(truncatingIfNeeded: Int64(bitPattern: value))))
        case (.int64, .varint(let value)): return .number(String(Int64(bitPattern: value)))
        case (.message(let name), .bytes(let bytes)): return try decode(bytes, message: name)
        case (.quantity, .bytes(let bytes)):
            var reader = ProtobufReader(bytes)
            while let (number, field) = try reader.next() {
                if number == 1, case .bytes(let text) = field { return .string(String(decoding: text, as: UTF8.self)) }
            }
            return .string("0")
        case (.intOrString, .bytes(let bytes)):
            var reader = ProtobufReader(bytes)
            var isString = false, number: Int64 = 0, text = ""
            while let (field, value) = try reader.next() {
                switch (field, value) {
                case (1, .varint(let kind)): isString = kind == 1
                case (2, .varint(let int)): number = Int64(Int32(truncatingIfNeeded: Int64(bitPattern: int)))
                case (3, .bytes(let string)): text = String(decoding: string, as: UTF8.self)
                default: continue
                }
            }
            return isString ? .string(text) : .number(String(number))
        default:
            throw ProtobufReader.malformed
        }
    }

    static func mapEntry(_ bytes: ArraySlice<UInt8>, _ valueType: ProtobufSchema.FieldType) throws(BerthError) -> (String, JSONValue) {
        var reader = ProtobufReader(bytes)
        var key = ""
        var value: JSONValue = valueType.isStringLike ? .string("") : .null
        while let (number, field) = try reader.next() {
            if number == 1, case .bytes(let text) = field { key = String(decoding: text, as: UTF8.self) }
            if number == 2 { value = try scalar(field, valueType) }
        }
        return (key, value)
    }
}

extension ProtobufSchema.FieldType {
    var isStringLike: Bool {
        switch self {
        case .string, .bytes: true
        default: false
        }
    }
}
