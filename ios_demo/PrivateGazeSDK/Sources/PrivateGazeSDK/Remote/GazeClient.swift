import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
#if canImport(Darwin)
import Darwin
#elseif canImport(Glibc)
import Glibc
#endif

/// Sends an `ObfuscatedFace` to a gaze API and returns the gaze (`AsyncGazeClient` of the Python SDK).
///
/// Egress: `estimate` takes nothing but an `ObfuscatedFace`, which only a `Preserver` can make, so a raw frame cannot
/// be sent. Endpoints must be https; plain http only to a loopback host (127.0.0.0/8, ::1, localhost) unless
/// `ClientConfig.allowInsecureHTTP`, meant for a laptop running `pgz-serve` on a trusted LAN. Redirects are not
/// followed, and a request an adapter builds for another host than its checked endpoint is refused unsent.
///
/// Retries (`RetryPolicy`): connection failures, timeouts and the statuses in `retryStatuses` are retried with
/// exponential backoff; a 429's Retry-After replaces the backoff, and one above `maxRetryAfterS` ends the call at once.
/// Each attempt is held to `timeoutS` by a hard deadline, so one `estimate` returns or throws within
/// `ClientConfig.maxDurationS` plus the PNG encoding. Every failure is a `PrivateGazeError`, remote ones with their
/// attempt count; cancelling the calling task cancels the request and throws `CancellationError`.
public actor GazeClient {
    /// How much of an error page is read: enough for the message.
    public static let errorBodyBytes = 1024

    public let api: any GazeAPI
    public let config: ClientConfig
    private let transport: any HTTPTransport
    private let pause: @Sendable (Double) async throws -> Void
    private let random: @Sendable () -> Double
    /// The endpoint for messages: scheme, host, port and path, never the query (it may hold a key).
    private let place: String

    /// - Parameters:
    ///   - transport: How requests travel; a `URLSessionTransport` when nil.
    ///   - sleep: Waits between attempts; injectable so that tests need not wait.
    ///   - random: Uniform in [0, 1), for the backoff's jitter.
    /// - Throws: `PrivateGazeError.config` for plain http to a non-loopback host (unless allowed) or an endpoint
    ///   without a host.
    public init(
        api: any GazeAPI,
        config: ClientConfig = .standard,
        transport: (any HTTPTransport)? = nil,
        sleep: @escaping @Sendable (Double) async throws -> Void = { try await Task.sleep(nanoseconds: nanoseconds($0)) },
        random: @escaping @Sendable () -> Double = { Double.random(in: 0..<1) }
    ) throws {
        let endpoint = api.endpoint
        guard let scheme = endpoint.scheme?.lowercased(), let host = endpoint.host, !host.isEmpty else {
            throw PrivateGazeError.config("the gaze API's endpoint '\(endpoint.absoluteString)' has no scheme or host")
        }
        let place = "\(scheme)://\(host)\(endpoint.port.map { ":\($0)" } ?? "")\(endpoint.path)"
        let allowed = scheme == "https" || (scheme == "http" && (config.allowInsecureHTTP || Self.isLoopback(host)))
        guard allowed else {
            throw PrivateGazeError.config(
                "refusing to send to \(place): use https (plain http is allowed to loopback hosts only, or with "
                    + "ClientConfig(allowInsecureHTTP: true) on a trusted network such as a laptop running pgz-serve)"
            )
        }
        if let transport {
            self.transport = transport
        } else {
            #if canImport(Darwin)
            self.transport = URLSessionTransport(timeoutS: config.timeoutS)
            #else
            throw PrivateGazeError.config("pass a transport: URLSessionTransport needs Apple's URLSession")
            #endif
        }
        self.api = api
        self.config = config
        self.pause = sleep
        self.random = random
        self.place = place
    }

    /// The gaze for one obfuscated face.
    ///
    /// - Throws: `PrivateGazeError.remote` saying how the API failed, with the attempts made;
    ///   `PrivateGazeError.config` when the request cannot be built or App Transport Security blocks it.
    public func estimate(_ face: ObfuscatedFace) async throws -> GazeResult {
        let started = ContinuousClock.now
        var attempt = 1
        while true {
            do {
                let gaze = try await exchange(face)
                let elapsed = (ContinuousClock.now - started).components
                let latencyMs = Double(elapsed.seconds) * 1e3 + Double(elapsed.attoseconds) * 1e-15
                return try GazeResult(remote: gaze, face: face, latencyMs: latencyMs, attempts: attempt)
            } catch let error as PrivateGazeError where error.remoteFailure != nil {
                try await pause(try retryDelay(error, attempt: attempt))
                attempt += 1
            }
        }
    }

    /// One attempt: build, send under the deadline, parse.
    private func exchange(_ face: ObfuscatedFace) async throws -> GazeAngles {
        let request = try checkedRequest(face)
        let answer: HTTPAnswer
        do {
            answer = try await withDeadline(request)
        } catch {
            throw Self.translate(error, place: place)
        }
        return try parse(answer)
    }

    private func checkedRequest(_ face: ObfuscatedFace) throws -> URLRequest {
        let request = try api.makeRequest(for: face)
        let endpoint = api.endpoint
        guard let url = request.url, url.scheme?.lowercased() == endpoint.scheme?.lowercased(),
              url.host?.lowercased() == endpoint.host?.lowercased(), url.port == endpoint.port
        else {
            throw PrivateGazeError.config(
                "the gaze API built a request to \(request.url?.absoluteString ?? "nowhere"), not to its checked "
                    + "endpoint \(place); nothing was sent"
            )
        }
        return request
    }

    /// The transport's answer, or a timeout once `timeoutS` has passed, whichever comes first.
    private func withDeadline(_ request: URLRequest) async throws -> HTTPAnswer {
        let transport = self.transport, limit = config.maxResponseBytes, timeoutS = config.timeoutS
        let place = self.place
        return try await withThrowingTaskGroup(of: HTTPAnswer?.self) { group in
            group.addTask { try await transport.send(request, maxBodyBytes: limit) }
            group.addTask {
                try await Task.sleep(nanoseconds: nanoseconds(timeoutS))
                return nil
            }
            defer { group.cancelAll() }
            guard let first = try await group.next(), let answer = first else {
                throw PrivateGazeError.remote(.timeout, "no answer from \(place) within \(timeoutS) s", attempts: 1)
            }
            return answer
        }
    }

    private func parse(_ answer: HTTPAnswer) throws -> GazeAngles {
        let status = answer.statusCode, body = answer.body
        guard (200..<300).contains(status) else {
            let snippet = String(decoding: body.prefix(200), as: UTF8.self)
            let reason = HTTPURLResponse.localizedString(forStatusCode: status)
            let message = "\(place) answered \(status) \(reason): '\(snippet)'"
            if status == 429 {
                let retryAfter = RetryPolicy.retryAfterS(answer.header("Retry-After"))
                throw PrivateGazeError.remote(.rateLimit(retryAfterS: retryAfter), message, attempts: 1)
            }
            throw PrivateGazeError.remote(.http(statusCode: status), message, attempts: 1)
        }
        guard body.count <= config.maxResponseBytes else {
            throw PrivateGazeError.remote(
                .response, "the answer from \(place) is over \(config.maxResponseBytes) bytes; a gaze is tiny",
                attempts: 1
            )
        }
        let gaze: GazeAngles
        do {
            gaze = try api.parseResponse(body)
        } catch let error as PrivateGazeError {
            throw error
        } catch {  // a third-party adapter's bug is still a bad answer, not a crash
            throw PrivateGazeError.remote(.response, "\(type(of: api)) could not parse the answer: \(error)", attempts: 1)
        }
        guard gaze.pitch.isFinite, gaze.yaw.isFinite,
              abs(gaze.pitch) <= ResponseSpec.maxAbsAngleRad, abs(gaze.yaw) <= ResponseSpec.maxAbsAngleRad
        else {
            throw PrivateGazeError.remote(
                .response, "\(type(of: api)) returned (\(gaze.pitch), \(gaze.yaw)), not a finite (pitch, yaw)",
                attempts: 1
            )
        }
        return gaze
    }

    /// Seconds to wait before the next attempt, or the final error thrown (`_retry_delay`).
    private func retryDelay(_ failure: PrivateGazeError, attempt: Int) throws -> Double {
        let error = failure.withAttempts(attempt)
        guard case let .remote(kind, message, _) = error else { throw error }
        let policy = config.retry
        var retryAfter: Double?
        if case let .rateLimit(seconds) = kind { retryAfter = seconds }
        guard policy.isRetryable(kind) else { throw error }
        if let retryAfter, retryAfter > policy.maxRetryAfterS {
            throw PrivateGazeError.remote(
                .rateLimit(retryAfterS: retryAfter),
                "\(message); it asks to retry after \(retryAfter) s, over RetryPolicy.maxRetryAfterS="
                    + "\(policy.maxRetryAfterS) s, so the call stops",
                attempts: attempt
            )
        }
        if attempt >= policy.maxAttempts {
            throw attempt > 1 ? error.appending(" (gave up after \(attempt) attempts)") : error
        }
        return retryAfter ?? policy.backoff(forRetry: attempt, random: random())
    }

    /// A transport's failure as a `PrivateGazeError` (cancellation stays cancellation).
    static func translate(_ error: Error, place: String) -> Error {
        if error is PrivateGazeError || error is CancellationError { return error }
        guard let urlError = error as? URLError else {
            return PrivateGazeError.remote(.other, "the request to \(place) failed (\(error))", attempts: 1)
        }
        let detail = "\(place) (\(urlError.localizedDescription))"
        switch urlError.code {
        case .cancelled:
            return CancellationError()
        case .timedOut:
            return PrivateGazeError.remote(.timeout, "no answer from \(detail)", attempts: 1)
        case .appTransportSecurityRequiresSecureConnection:
            return PrivateGazeError.config(
                "App Transport Security blocked plain http to \(place): use https, or, for a service on the local "
                    + "network, set NSAllowsLocalNetworking in the app's Info.plist (ios_demo/README.md)"
            )
        case .cannotFindHost, .cannotConnectToHost, .networkConnectionLost, .dnsLookupFailed,
             .notConnectedToInternet, .secureConnectionFailed, .serverCertificateUntrusted,
             .serverCertificateHasBadDate, .serverCertificateNotYetValid, .serverCertificateHasUnknownRoot,
             .clientCertificateRejected, .clientCertificateRequired, .cannotLoadFromNetwork,
             .internationalRoamingOff, .dataNotAllowed, .callIsActive:
            return PrivateGazeError.remote(.connection, "could not reach \(detail)", attempts: 1)
        default:
            return PrivateGazeError.remote(.other, "the request to \(detail) failed", attempts: 1)
        }
    }

    /// Whether `host` is the loopback interface (`client._is_loopback`): localhost, 127.0.0.0/8, ::1, or an
    /// IPv4-mapped loopback address.
    static func isLoopback(_ host: String) -> Bool {
        var name = host.lowercased()
        if name.hasPrefix("["), name.hasSuffix("]") { name = String(name.dropFirst().dropLast()) }
        if name.hasSuffix(".") { name = String(name.dropLast()) }
        if name == "localhost" { return true }
        var ipv4 = in_addr()
        if inet_pton(AF_INET, name, &ipv4) == 1 {
            return withUnsafeBytes(of: &ipv4) { $0.first == 127 }
        }
        var ipv6 = in6_addr()
        guard inet_pton(AF_INET6, name, &ipv6) == 1 else { return false }
        let bytes = withUnsafeBytes(of: &ipv6) { Array($0) }
        let isLoopback6 = bytes.prefix(15).allSatisfy { $0 == 0 } && bytes[15] == 1
        let isMapped = bytes.prefix(10).allSatisfy { $0 == 0 } && bytes[10] == 0xFF && bytes[11] == 0xFF
        return isLoopback6 || (isMapped && bytes[12] == 127)
    }
}

/// Seconds as the nanoseconds `Task.sleep` takes, negative and huge values clamped.
@usableFromInline
func nanoseconds(_ seconds: Double) -> UInt64 {
    UInt64(min(max(seconds, 0), 1e6) * 1e9)
}
