import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// How `GazeClient` talks to one gaze API (the HTTP adapters of `privategaze.adapters`): the request for one
/// obfuscated face and the gaze in a successful answer. Retries, timeouts and transport security belong to the
/// client. The request can only be built from an `ObfuscatedFace`.
public protocol GazeAPI: Sendable {
    /// Where requests go; the client refuses plain http to a non-loopback host unless told otherwise.
    var endpoint: URL { get }
    /// The request for one face.
    func makeRequest(for face: ObfuscatedFace) throws -> URLRequest
    /// The gaze in a successful (2xx) answer's body.
    func parseResponse(_ body: Data) throws -> GazeAngles
}

/// A JSON gaze API that takes the face base64-encoded inside the request body (`HttpJsonConfig`).
///
/// The defaults speak the reference service's dialect, `POST {"image": "<base64 PNG>"}` answered by
/// `{"gaze": {"pitch": <rad>, "yaw": <rad>}}` (`pgz-serve`'s `/v1/gaze`). Other APIs are described, not coded: a
/// nested image field, extra fields, a data URL, headers or a bearer token, and a `ResponseSpec`. Images are PNG:
/// JPEG would need ImageIO and lose detail the remote estimator reads.
public struct HTTPJSONConfig: Sendable {
    public enum Method: String, Sendable {
        case post = "POST"
        case put = "PUT"
    }

    public enum ImageFormat: String, Sendable {
        /// The bare base64 text.
        case base64
        /// `data:image/png;base64,...`.
        case dataURL = "data-url"
    }

    public let url: URL
    public let method: Method
    /// Dotted path of the image in the request JSON ("inputs.face.data" nests objects).
    public let imageField: String
    public let imageFormat: ImageFormat
    /// Other JSON fields sent with every request (a model name, options); must not hold `imageField`.
    public let extraFields: [String: JSONValue]
    /// Extra request headers, e.g. an API key header.
    public let headers: [String: String]
    /// Sent as `Authorization: Bearer <token>`.
    public let bearerToken: String?
    public let response: ResponseSpec

    /// - Throws: `PrivateGazeError.config` for a URL that is not absolute http(s) with a host, a malformed image
    ///   field or one that `extraFields` already holds, headers or a token that are not ASCII without line breaks,
    ///   or a bearer token together with an Authorization header.
    public init(
        url: URL,
        method: Method = .post,
        imageField: String = "image",
        imageFormat: ImageFormat = .base64,
        extraFields: [String: JSONValue] = [:],
        headers: [String: String] = [:],
        bearerToken: String? = nil,
        response: ResponseSpec = .referenceService
    ) throws {
        guard let scheme = url.scheme?.lowercased(), ["http", "https"].contains(scheme),
              let host = url.host, !host.isEmpty
        else {
            throw PrivateGazeError.config(
                "HTTPJSONConfig.url must be an absolute http(s) URL such as 'https://gaze.example.com/v1/gaze', got "
                    + "'\(url.absoluteString)'"
            )
        }
        let path = imageField.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        guard !imageField.isEmpty, !path.contains("") else {
            throw PrivateGazeError.config(
                "HTTPJSONConfig.imageField must be a dotted path such as 'image' or 'input.face', got '\(imageField)'"
            )
        }
        var node: JSONValue? = .object(extraFields)
        for part in path {
            guard case let .object(fields)? = node else {
                throw PrivateGazeError.config(
                    "HTTPJSONConfig.extraFields has a non-object where imageField '\(imageField)' goes"
                )
            }
            node = fields[part]
        }
        guard node == nil else {
            throw PrivateGazeError.config("HTTPJSONConfig.extraFields already has '\(imageField)', where the image goes")
        }
        if let bearerToken {
            guard !bearerToken.isEmpty else {
                throw PrivateGazeError.config("HTTPJSONConfig.bearerToken must be a non-empty string or nil")
            }
            guard !headers.keys.contains(where: { $0.lowercased() == "authorization" }) else {
                throw PrivateGazeError.config("HTTPJSONConfig has both bearerToken and an Authorization header; give one")
            }
        }
        let texts = Array(headers.keys) + Array(headers.values) + (bearerToken.map { [$0] } ?? [])
        guard texts.allSatisfy({ text in text.unicodeScalars.allSatisfy { $0.isASCII && $0 != "\r" && $0 != "\n" } })
        else {
            throw PrivateGazeError.config("HTTPJSONConfig: header names, values and tokens must be ASCII without line breaks")
        }
        self.url = url
        self.method = method
        self.imageField = imageField
        self.imageFormat = imageFormat
        self.extraFields = extraFields
        self.headers = headers
        self.bearerToken = bearerToken
        self.response = response
    }
}

/// The JSON adapter: `HttpJsonAdapter` of the Python SDK.
public struct HTTPJSONAPI: GazeAPI {
    public let config: HTTPJSONConfig

    public init(config: HTTPJSONConfig) {
        self.config = config
    }

    public var endpoint: URL { config.url }

    public func makeRequest(for face: ObfuscatedFace) throws -> URLRequest {
        var payload = face.pngData().base64EncodedString()
        if config.imageFormat == .dataURL { payload = "data:image/png;base64," + payload }
        let path = config.imageField.split(separator: ".").map(String.init)
        let body = try JSONValue.object(config.extraFields).setting(.string(payload), at: path)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        var request = URLRequest(url: config.url)
        request.httpMethod = config.method.rawValue
        request.httpBody = try encoder.encode(body)
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        request.setValue("application/json", forHTTPHeaderField: "Accept")
        for (name, value) in config.headers {
            request.setValue(value, forHTTPHeaderField: name)
        }
        if let token = config.bearerToken { request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization") }
        return request
    }

    public func parseResponse(_ body: Data) throws -> GazeAngles {
        try config.response.parse(body)
    }
}
