import Foundation

/// A JSON value that keeps booleans and numbers apart (JSONSerialization hands both over as NSNumber), so that a
/// gaze of `true` is refused as Python refuses it, and extra request fields round-trip exactly.
public enum JSONValue: Codable, Equatable, Sendable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    public init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Double.self) {
            self = .number(value)
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if let value = try? container.decode([JSONValue].self) {
            self = .array(value)
        } else {
            self = .object(try container.decode([String: JSONValue].self))
        }
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .null: try container.encodeNil()
        case let .bool(value): try container.encode(value)
        case let .number(value): try container.encode(value)
        case let .string(value): try container.encode(value)
        case let .array(value): try container.encode(value)
        case let .object(value): try container.encode(value)
        }
    }

    /// A short description for error messages.
    var summary: String {
        switch self {
        case .null: return "null"
        case let .bool(value): return String(value)
        case let .number(value): return String(value)
        case let .string(value): return "\"\(value.prefix(40))\""
        case let .array(value): return "a list of \(value.count)"
        case let .object(value): return "an object with keys \(value.keys.sorted().prefix(10))"
        }
    }

    /// This object with `value` at the dotted `path`, intermediate objects created as needed.
    ///
    /// - Throws: `PrivateGazeError.config` when a step of the path is not an object.
    func setting(_ value: JSONValue, at path: [String]) throws -> JSONValue {
        guard let key = path.first else { return value }
        guard case var .object(fields) = self else {
            throw PrivateGazeError.config("cannot put a field inside \(summary): it is not a JSON object")
        }
        fields[key] = try (fields[key] ?? .object([:])).setting(value, at: Array(path.dropFirst()))
        return .object(fields)
    }
}
