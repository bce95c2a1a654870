import Foundation

/// Where a gaze API's JSON answer keeps the gaze, in which units and signs (`privategaze.adapters.ResponseSpec`).
///
/// Give either `pitchPath` and `yawPath`, or `vectorPath`. Paths are dotted keys with list indices allowed
/// ("results.0.gaze.pitch", negative indices count from the end). The default reads the reference service's
/// `{"gaze": {"pitch": rad, "yaw": rad}}` (`pgz-serve`, training/service/app.py).
public struct ResponseSpec: Equatable, Sendable {
    public enum Units: String, Sendable {
        case rad
        case deg
    }

    /// |pitch| and |yaw| beyond pi are no direction in any convention: the API sent degrees as radians, or garbage.
    public static let maxAbsAngleRad = Double.pi

    public let pitchPath: String?
    public let yawPath: String?
    /// Path to a 3-vector gaze direction (any non-zero length) in the camera frame; replaces the angle paths.
    public let vectorPath: String?
    /// Per-axis signs (each +1 or -1) mapping the API's vector axes onto this SDK's.
    public let vectorSigns: [Double]
    /// Units of the angle paths; a vector has none, so it stays `.rad`.
    public let units: Units
    /// Negate pitch, for APIs whose "up" is negative.
    public let flipPitch: Bool
    /// Negate yaw, for APIs whose positive yaw points to image-right.
    public let flipYaw: Bool

    /// The reference service's answer: `gaze.pitch` and `gaze.yaw` in radians.
    public static let referenceService = ResponseSpec(
        checkedPitchPath: "gaze.pitch", yawPath: "gaze.yaw", vectorPath: nil, vectorSigns: [1, 1, 1], units: .rad,
        flipPitch: false, flipYaw: false
    )

    /// - Throws: `PrivateGazeError.config` for both kinds of path, a malformed path, units on a vector, or signs
    ///   other than three values of +1 or -1.
    public init(
        pitchPath: String? = nil,
        yawPath: String? = nil,
        vectorPath: String? = nil,
        vectorSigns: [Double] = [1, 1, 1],
        units: Units = .rad,
        flipPitch: Bool = false,
        flipYaw: Bool = false
    ) throws {
        var pitch = pitchPath, yaw = yawPath
        if let vectorPath {
            try Self.checkPath(vectorPath, "vectorPath")
            guard pitchPath == nil, yawPath == nil else {
                throw PrivateGazeError.config("ResponseSpec takes either vectorPath or pitchPath and yawPath, not both")
            }
            guard units == .rad else {
                throw PrivateGazeError.config("ResponseSpec.units applies to angles, not to a vector; leave it .rad")
            }
        } else {
            if pitch == nil, yaw == nil {  // the reference service's answer
                pitch = "gaze.pitch"
                yaw = "gaze.yaw"
            }
            try Self.checkPath(pitch, "pitchPath")
            try Self.checkPath(yaw, "yawPath")
        }
        guard vectorSigns.count == 3, vectorSigns.allSatisfy({ $0 == 1 || $0 == -1 }) else {
            throw PrivateGazeError.config("ResponseSpec.vectorSigns must be three values each +1 or -1, got \(vectorSigns)")
        }
        self.init(
            checkedPitchPath: pitch, yawPath: yaw, vectorPath: vectorPath, vectorSigns: vectorSigns, units: units,
            flipPitch: flipPitch, flipYaw: flipYaw
        )
    }

    private init(
        checkedPitchPath pitchPath: String?, yawPath: String?, vectorPath: String?, vectorSigns: [Double],
        units: Units, flipPitch: Bool, flipYaw: Bool
    ) {
        self.pitchPath = pitchPath
        self.yawPath = yawPath
        self.vectorPath = vectorPath
        self.vectorSigns = vectorSigns
        self.units = units
        self.flipPitch = flipPitch
        self.flipYaw = flipYaw
    }

    /// The gaze in this SDK's convention from a JSON answer.
    ///
    /// - Throws: `PrivateGazeError.remote(.response, ...)` when the body is not JSON, a path is missing, or the
    ///   gaze is not a valid direction.
    public func parse(_ body: Data) throws -> GazeAngles {
        let answer: JSONValue
        do {
            answer = try JSONDecoder().decode(JSONValue.self, from: body)
        } catch {
            throw Self.responseError("the gaze API's answer is not JSON: \(Self.snippet(body))")
        }
        if let vectorPath {
            return try gaze(vector: Self.lookup(answer, vectorPath))
        }
        let pitch = try Self.lookup(answer, pitchPath ?? "gaze.pitch")
        let yaw = try Self.lookup(answer, yawPath ?? "gaze.yaw")
        return try gaze(pitch: pitch, yaw: yaw)
    }

    /// The gaze from the API's angles (`gaze_from_values(pitch=, yaw=)`).
    func gaze(pitch: JSONValue, yaw: JSONValue) throws -> GazeAngles {
        var angles = [try Self.number(pitch, "pitch"), try Self.number(yaw, "yaw")]
        if units == .deg { angles = angles.map { $0 * Double.pi / 180 } }
        return try flippedAndChecked(angles[0], angles[1])
    }

    /// The gaze from the API's direction vector (`gaze_from_values(vector=)`).
    func gaze(vector: JSONValue) throws -> GazeAngles {
        guard case let .array(items) = vector, items.count == 3 else {
            throw Self.responseError("the gaze vector must be a list of 3 numbers, got \(vector.summary)")
        }
        let values = try items.map { try Self.number($0, "gaze vector") }
        let signed = Vector3(values[0] * vectorSigns[0], values[1] * vectorSigns[1], values[2] * vectorSigns[2])
        let angles: GazeAngles
        do {
            angles = try GazeAngles(vector: signed)
        } catch {
            throw Self.responseError("the gaze vector \(values) has no direction")
        }
        return try flippedAndChecked(angles.pitch, angles.yaw)
    }

    private func flippedAndChecked(_ pitch: Double, _ yaw: Double) throws -> GazeAngles {
        let gaze = GazeAngles(pitch: flipPitch ? -pitch : pitch, yaw: flipYaw ? -yaw : yaw)
        guard abs(gaze.pitch) <= Self.maxAbsAngleRad, abs(gaze.yaw) <= Self.maxAbsAngleRad else {
            throw Self.responseError(
                "the gaze (pitch, yaw) = (\(gaze.pitch), \(gaze.yaw)) rad is beyond +-pi; check ResponseSpec.units "
                    + "(now \(units.rawValue))"
            )
        }
        return gaze
    }

    /// The value at a dotted path of parsed JSON (`response.lookup`).
    static func lookup(_ answer: JSONValue, _ path: String) throws -> JSONValue {
        var value = answer
        let parts = path.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        for (depth, part) in parts.enumerated() {
            let place = depth == 0 ? "the top level" : parts[..<depth].joined(separator: ".")
            switch value {
            case let .object(fields) where fields[part] != nil:
                value = fields[part] ?? .null
            case let .array(items):
                guard !part.hasPrefix("+"), let index = Int(part), -items.count <= index, index < items.count else {
                    throw responseError("the gaze API's answer has no '\(path)': no '\(part)' in the list at \(place)")
                }
                value = items[index < 0 ? items.count + index : index]
            default:
                throw responseError(
                    "the gaze API's answer has no '\(path)': no '\(part)' at \(place) (found \(value.summary)); "
                        + "check the ResponseSpec paths"
                )
            }
        }
        return value
    }

    /// A finite JSON number; booleans, strings and nested values are not numbers.
    private static func number(_ value: JSONValue, _ name: String) throws -> Double {
        guard case let .number(number) = value else {
            throw responseError("the gaze \(name) must be a number, got \(value.summary)")
        }
        guard number.isFinite else { throw responseError("the gaze \(name) must be finite, got \(number)") }
        return number
    }

    private static func checkPath(_ path: String?, _ name: String) throws {
        guard let path, !path.isEmpty, !path.split(separator: ".", omittingEmptySubsequences: false).contains("") else {
            throw PrivateGazeError.config(
                "ResponseSpec.\(name) must be a dotted path such as 'gaze.pitch' or 'results.0.gaze', got "
                    + "\(path.map { "'\($0)'" } ?? "nil")"
            )
        }
    }

    static func responseError(_ message: String) -> PrivateGazeError {
        .remote(.response, message, attempts: 1)
    }

    static func snippet(_ body: Data, limit: Int = 120) -> String {
        let text = String(decoding: body.prefix(limit), as: UTF8.self)
        return "'\(text)\(body.count > limit ? "..." : "")'"
    }
}
