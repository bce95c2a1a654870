import Foundation

/// The one error type of the PrivateGaze Swift SDK. It mirrors the Python SDK's tree
/// (`sdk_python/privategaze/errors.py`), so a failure reads the same on a phone and on a laptop:
///
///     Python (privategaze.errors)        Swift
///     ConfigError                        .config
///     GeometryError                      .geometry
///     ModelFileError                     .modelFile
///       ManifestError                    .manifest            (`isModelFileError` is true for both)
///     ImageError                         .image
///     PreserverError                     .preserver
///     RemoteError                        .remote(.other, ...)
///       RemoteConnectionError            .remote(.connection, ...)
///       RemoteTimeoutError               .remote(.timeout, ...)
///       RemoteHTTPError                  .remote(.http(statusCode:), ...)
///         RemoteRateLimitError           .remote(.rateLimit(retryAfterS:), ...)
///       RemoteResponseError              .remote(.response, ...)
///
/// `EgressError` has no case because the mistake it catches does not compile here: `GazeClient.estimate` takes an
/// `ObfuscatedFace`, and only this module's `Preserver` can make one. Dataset, export, stream, benchmark and
/// missing-dependency errors belong to the Python toolkit's training and tooling side, which has no device
/// counterpart. Every message says what was expected, what came, and how to fix it.
public enum PrivateGazeError: Error, Equatable, Sendable {
    case config(String)
    case geometry(String)
    case modelFile(String)
    case manifest(String)
    case image(String)
    case preserver(String)
    /// The remote gaze API failed; `attempts` is how many requests were made, retries included.
    case remote(RemoteFailure, String, attempts: Int)

    public var message: String {
        switch self {
        case let .config(message), let .geometry(message), let .modelFile(message), let .manifest(message),
             let .image(message), let .preserver(message):
            return message
        case let .remote(_, message, _):
            return message
        }
    }

    /// True for a model file that is missing, unreadable or not ours, its manifest included (Python's
    /// `ManifestError` is a `ModelFileError`).
    public var isModelFileError: Bool {
        switch self {
        case .modelFile, .manifest: return true
        default: return false
        }
    }

    /// How the remote API failed, or nil for a local failure.
    public var remoteFailure: RemoteFailure? {
        if case let .remote(failure, _, _) = self { return failure }
        return nil
    }

    /// Requests made before a remote failure; nil for a local one.
    public var attempts: Int? {
        if case let .remote(_, _, attempts) = self { return attempts }
        return nil
    }

    /// The same remote failure after `attempts` requests (the retry loop learns the count only at the end).
    func withAttempts(_ attempts: Int) -> PrivateGazeError {
        guard case let .remote(failure, message, _) = self else { return self }
        return .remote(failure, message, attempts: attempts)
    }

    /// The same failure with more said at the end of its message.
    func appending(_ detail: String) -> PrivateGazeError {
        switch self {
        case let .config(message): return .config(message + detail)
        case let .geometry(message): return .geometry(message + detail)
        case let .modelFile(message): return .modelFile(message + detail)
        case let .manifest(message): return .manifest(message + detail)
        case let .image(message): return .image(message + detail)
        case let .preserver(message): return .preserver(message + detail)
        case let .remote(failure, message, attempts): return .remote(failure, message + detail, attempts: attempts)
        }
    }
}

extension PrivateGazeError: LocalizedError {
    public var errorDescription: String? { message }
}

/// How a remote gaze API failed: the subclasses of Python's `RemoteError`.
public enum RemoteFailure: Equatable, Sendable {
    /// Any other failure of the request.
    case other
    /// The service could not be reached: connection refused, name resolution or TLS failed.
    case connection
    /// No complete answer within the timeout.
    case timeout
    /// An error status.
    case http(statusCode: Int)
    /// 429 Too Many Requests after the retries; the service's last Retry-After when it gave one.
    case rateLimit(retryAfterS: Double?)
    /// An answer that is not what the adapter expects: not JSON, a missing field, a non-finite or out-of-range gaze.
    case response

    /// The HTTP status this failure carries, if any.
    public var statusCode: Int? {
        switch self {
        case let .http(statusCode): return statusCode
        case .rateLimit: return 429
        default: return nil
        }
    }
}
