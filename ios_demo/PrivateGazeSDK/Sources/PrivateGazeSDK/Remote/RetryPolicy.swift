import Foundation

/// When a gaze client re-sends, and how long it waits (`privategaze.retry.RetryPolicy`, same defaults). A gaze
/// estimate has no side effects, so re-sending is safe; what is bounded is the number of attempts and each wait, so
/// that one `estimate` has a hard upper bound on its duration (`ClientConfig.maxDurationS`).
public struct RetryPolicy: Equatable, Sendable {
    public static let maxAttemptsLimit = 10

    /// Requests per estimate, the first included (1 to 10; 1 disables retries).
    public let maxAttempts: Int
    /// Wait before the first retry.
    public let backoffS: Double
    /// Growth of the wait per retry (>= 1).
    public let backoffMultiplier: Double
    /// Cap of the wait.
    public let maxBackoffS: Double
    /// Fraction (0 to 1) by which each wait is randomly shortened, so clients desynchronize; never lengthened, which
    /// keeps the time bound.
    public let jitter: Double
    /// Longest 429 Retry-After honoured; a longer one ends the call.
    public let maxRetryAfterS: Double
    /// Statuses retried: 408, 429 and 5xx only (another 4xx would fail again).
    public let retryStatuses: [Int]

    /// - Throws: `PrivateGazeError.config` for a value out of its range.
    public init(
        maxAttempts: Int = RetryPolicy.standard.maxAttempts,
        backoffS: Double = RetryPolicy.standard.backoffS,
        backoffMultiplier: Double = RetryPolicy.standard.backoffMultiplier,
        maxBackoffS: Double = RetryPolicy.standard.maxBackoffS,
        jitter: Double = RetryPolicy.standard.jitter,
        maxRetryAfterS: Double = RetryPolicy.standard.maxRetryAfterS,
        retryStatuses: [Int] = RetryPolicy.standard.retryStatuses
    ) throws {
        guard (1...Self.maxAttemptsLimit).contains(maxAttempts) else {
            throw PrivateGazeError.config(
                "RetryPolicy.maxAttempts must be an integer from 1 to \(Self.maxAttemptsLimit), got \(maxAttempts)"
            )
        }
        let bounds: [(String, Double, ClosedRange<Double>)] = [
            ("backoffS", backoffS, 0...60), ("backoffMultiplier", backoffMultiplier, 1...10),
            ("maxBackoffS", maxBackoffS, 0...60), ("jitter", jitter, 0...1), ("maxRetryAfterS", maxRetryAfterS, 0...600),
        ]
        for (name, value, range) in bounds where !range.contains(value) {
            throw PrivateGazeError.config(
                "RetryPolicy.\(name) must be a number from \(range.lowerBound) to \(range.upperBound), got \(value)"
            )
        }
        guard retryStatuses.allSatisfy({ $0 == 408 || $0 == 429 || (500...599).contains($0) }) else {
            throw PrivateGazeError.config("RetryPolicy.retryStatuses may hold 408, 429 and 5xx only, got \(retryStatuses)")
        }
        self.init(
            uncheckedMaxAttempts: maxAttempts, backoffS: backoffS, backoffMultiplier: backoffMultiplier,
            maxBackoffS: maxBackoffS, jitter: jitter, maxRetryAfterS: maxRetryAfterS, retryStatuses: retryStatuses
        )
    }

    /// Seconds to wait before retry number `retry` (1 for the first); `random` is uniform in [0, 1).
    public func backoff(forRetry retry: Int, random: Double) -> Double {
        let delay = min(maxBackoffS, backoffS * pow(backoffMultiplier, Double(retry - 1)))
        return delay * (1 - jitter * random)
    }

    /// Whether a failure is worth another attempt: connection failures, timeouts and the listed statuses.
    public func isRetryable(_ failure: RemoteFailure) -> Bool {
        switch failure {
        case .connection, .timeout: return true
        case .http, .rateLimit: return failure.statusCode.map { retryStatuses.contains($0) } ?? false
        case .other, .response: return false
        }
    }

    /// Seconds from a Retry-After header (delta-seconds or an HTTP date); nil when absent or unreadable.
    public static func retryAfterS(_ value: String?, now: Date = Date()) -> Double? {
        guard let text = value?.trimmingCharacters(in: .whitespaces), !text.isEmpty else { return nil }
        if let seconds = Double(text) { return seconds.isNaN ? nil : max(0, seconds) }
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss zzz"  // RFC 7231's IMF-fixdate
        guard let date = formatter.date(from: text) else { return nil }
        return max(0, date.timeIntervalSince(now))
    }
}

/// Timeouts, retries and transport security of a `GazeClient` (`privategaze.client.ClientConfig`, same defaults).
public struct ClientConfig: Equatable, Sendable {
    /// Time for one attempt; the client holds each attempt to it with a hard deadline.
    public let timeoutS: Double
    public let retry: RetryPolicy
    /// Allow plain http to a non-loopback host (the obfuscated face and any token travel unencrypted): for a
    /// trusted LAN only, such as a laptop running `pgz-serve` during development.
    public let allowInsecureHTTP: Bool
    /// Larger answers are refused (`.response`); a gaze answer is tiny.
    public let maxResponseBytes: Int

    /// The defaults: 10 s an attempt, three attempts, https only except to loopback, answers up to 1 MiB.
    public static let standard = ClientConfig(
        checkedTimeoutS: 10.0, retry: .standard, allowInsecureHTTP: false, maxResponseBytes: 1 << 20
    )

    /// - Throws: `PrivateGazeError.config` for a timeout outside 0.001 to 600 s or a response limit under 1024 bytes.
    public init(
        timeoutS: Double = ClientConfig.standard.timeoutS,
        retry: RetryPolicy = ClientConfig.standard.retry,
        allowInsecureHTTP: Bool = ClientConfig.standard.allowInsecureHTTP,
        maxResponseBytes: Int = ClientConfig.standard.maxResponseBytes
    ) throws {
        guard (0.001...600).contains(timeoutS) else {
            throw PrivateGazeError.config("ClientConfig.timeoutS must be a number from 0.001 to 600, got \(timeoutS)")
        }
        guard maxResponseBytes >= 1024 else {
            throw PrivateGazeError.config("ClientConfig.maxResponseBytes must be an integer >= 1024, got \(maxResponseBytes)")
        }
        self.init(
            checkedTimeoutS: timeoutS, retry: retry, allowInsecureHTTP: allowInsecureHTTP,
            maxResponseBytes: maxResponseBytes
        )
    }

    private init(checkedTimeoutS: Double, retry: RetryPolicy, allowInsecureHTTP: Bool, maxResponseBytes: Int) {
        timeoutS = checkedTimeoutS
        self.retry = retry
        self.allowInsecureHTTP = allowInsecureHTTP
        self.maxResponseBytes = maxResponseBytes
    }

    /// Upper bound of one `estimate`: every attempt's timeout plus the longest wait between attempts.
    public var maxDurationS: Double {
        let wait = max(retry.maxBackoffS, retry.maxRetryAfterS)
        return Double(retry.maxAttempts) * timeoutS + Double(retry.maxAttempts - 1) * wait
    }
}

extension RetryPolicy {
    /// The defaults (3 attempts, 0.2 s backoff doubling to at most 2 s, 10% jitter, Retry-After up to 5 s).
    public static let standard = RetryPolicy(
        uncheckedMaxAttempts: 3, backoffS: 0.2, backoffMultiplier: 2.0, maxBackoffS: 2.0, jitter: 0.1,
        maxRetryAfterS: 5.0, retryStatuses: [408, 429, 500, 502, 503, 504]
    )

    private init(
        uncheckedMaxAttempts maxAttempts: Int, backoffS: Double, backoffMultiplier: Double, maxBackoffS: Double,
        jitter: Double, maxRetryAfterS: Double, retryStatuses: [Int]
    ) {
        self.maxAttempts = maxAttempts
        self.backoffS = backoffS
        self.backoffMultiplier = backoffMultiplier
        self.maxBackoffS = maxBackoffS
        self.jitter = jitter
        self.maxRetryAfterS = maxRetryAfterS
        self.retryStatuses = retryStatuses
    }
}
