import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Sends one HTTP request for `GazeClient`. The client owns retries, deadlines and error translation; a transport
/// only moves bytes. Tests pass their own (as httpx's MockTransport is used in the Python tests).
public protocol HTTPTransport: Sendable {
    /// Send `request` and read its answer: for a 2xx answer the whole body, failing with
    /// `PrivateGazeError.remote(.response, ...)` beyond `maxBodyBytes`; for any other status at most the first
    /// `GazeClient.errorBodyBytes`, enough of an error page for the message. Redirects are not followed: a 3xx comes
    /// back as the answer, so a redirect cannot lead around the client's https check.
    func send(_ request: URLRequest, maxBodyBytes: Int) async throws -> HTTPAnswer
}

/// An HTTP answer as plain values, so that it crosses tasks safely.
public struct HTTPAnswer: Sendable {
    public let statusCode: Int
    /// Header fields by name as the server sent them.
    public let headers: [String: String]
    public let body: Data

    public init(statusCode: Int, headers: [String: String] = [:], body: Data) {
        self.statusCode = statusCode
        self.headers = headers
        self.body = body
    }

    /// A header's value; names are case-insensitive.
    public func header(_ name: String) -> String? {
        headers.first { $0.key.caseInsensitiveCompare(name) == .orderedSame }?.value
    }
}

#if canImport(Darwin)
/// The default transport: an ephemeral URLSession (no cookies, no cache, nothing written to disk), redirects
/// refused, bodies read as they stream so that their size is bounded.
///
/// Internal, `send` included: the SDK's own transport carries only the requests `GazeClient` built from an
/// `ObfuscatedFace`, and app code cannot hand it an arbitrary `URLRequest`. (A transport an app passes to
/// `GazeClient` is the app's own code; what it sends is up to the app.) The whole class is internal because a public
/// class would have to make `send` public too: it satisfies the public protocol's requirement.
final class URLSessionTransport: HTTPTransport, @unchecked Sendable {
    private let session: URLSession

    /// - Parameter timeoutS: URLSession's idle timeout; `GazeClient` also holds each attempt to it as a whole.
    init(timeoutS: Double) {
        let configuration = URLSessionConfiguration.ephemeral
        configuration.timeoutIntervalForRequest = timeoutS
        configuration.timeoutIntervalForResource = max(timeoutS, 1)
        configuration.waitsForConnectivity = false
        configuration.httpCookieStorage = nil
        configuration.urlCache = nil
        configuration.requestCachePolicy = .reloadIgnoringLocalCacheData
        session = URLSession(configuration: configuration, delegate: RedirectRefuser(), delegateQueue: nil)
    }

    deinit {
        session.invalidateAndCancel()
    }

    func send(_ request: URLRequest, maxBodyBytes: Int) async throws -> HTTPAnswer {
        let (bytes, response) = try await session.bytes(for: request)
        guard let http = response as? HTTPURLResponse else {
            bytes.task.cancel()
            throw PrivateGazeError.remote(.other, "the answer to \(request.url?.host ?? "?") is not HTTP", attempts: 1)
        }
        let success = (200..<300).contains(http.statusCode)
        let limit = success ? maxBodyBytes : GazeClient.errorBodyBytes
        var body = Data()
        for try await byte in bytes {
            guard body.count < limit else {
                bytes.task.cancel()
                if success {
                    throw PrivateGazeError.remote(
                        .response, "the answer from \(request.url?.host ?? "?") is over \(limit) bytes; a gaze is tiny",
                        attempts: 1
                    )
                }
                break
            }
            body.append(byte)
        }
        var headers: [String: String] = [:]
        for (name, value) in http.allHeaderFields {
            if let name = name as? String, let value = value as? String { headers[name] = value }
        }
        return HTTPAnswer(statusCode: http.statusCode, headers: headers, body: body)
    }
}

/// Answers every redirect with "do not follow": the 3xx response is then what the client receives.
private final class RedirectRefuser: NSObject, URLSessionTaskDelegate {
    func urlSession(
        _ session: URLSession,
        task: URLSessionTask,
        willPerformHTTPRedirection response: HTTPURLResponse,
        newRequest request: URLRequest,
        completionHandler: @escaping (URLRequest?) -> Void
    ) {
        completionHandler(nil)
    }
}
#endif
