/*
 * The one error tree of the Android SDK, mirroring sdk_python/privategaze/errors.py so that a failure reads the same
 * on both platforms:
 *
 *     PrivateGazeException
 *     ├── ConfigException            an option or configuration value is invalid
 *     ├── GeometryException          a geometric input is malformed or degenerate (landmarks, camera, pose)
 *     ├── ModelFileException         a model file is missing, unreadable, or does not match its sidecar
 *     │   └── ManifestException      a manifest is missing, malformed, or of a schema this SDK does not read
 *     ├── ImageException             an input image cannot be used; nothing is sent
 *     ├── PreserverException         the preserver failed on a frame; the frame is dropped, never sent raw
 *     └── RemoteException            the remote gaze API failed; `attempts` says how many requests were made
 *         ├── RemoteConnectionException  the service could not be reached (refused, DNS, TLS)
 *         ├── RemoteTimeoutException     no (complete) answer within the timeout
 *         ├── RemoteHttpException        an error status; `statusCode`
 *         │   └── RemoteRateLimitException   429 after the retries; `retryAfterS` when the service said
 *         └── RemoteResponseException    an answer that is not a gaze (malformed JSON, missing field, out of range)
 *
 * Python's EgressError has no counterpart: the Kotlin compiler already refuses to hand anything but an
 * [ObfuscatedFace] to [GazeClient], so there is no run-time case left to report.
 *
 * The constructors are internal: the SDK raises these, app code catches them. Plain Kotlin, no android.* imports.
 */
package ai.privategaze.sdk

/** Base class of every expected PrivateGaze failure; catch it to handle them all. */
sealed class PrivateGazeException(message: String, cause: Throwable? = null) : Exception(message, cause)

/** An option or configuration value is invalid: the message says what was expected and what came. */
class ConfigException internal constructor(message: String, cause: Throwable? = null) :
    PrivateGazeException(message, cause)

/** A geometric input (landmarks, camera matrix, rotation, box) is malformed or degenerate. */
class GeometryException internal constructor(message: String) : PrivateGazeException(message)

/** A model file is missing, unreadable, or not the file its sidecar describes. */
open class ModelFileException internal constructor(message: String, cause: Throwable? = null) :
    PrivateGazeException(message, cause)

/** A manifest is missing, malformed, or of a schema version this SDK does not read. */
class ManifestException internal constructor(message: String, cause: Throwable? = null) :
    ModelFileException(message, cause)

/** An input image cannot be used (size, shape); nothing is produced and nothing is sent. */
class ImageException internal constructor(message: String) : PrivateGazeException(message)

/** The preserver failed on a frame at run time; the frame is dropped and nothing is sent. */
class PreserverException internal constructor(message: String, cause: Throwable? = null) :
    PrivateGazeException(message, cause)

/** The remote gaze API failed; [attempts] is how many requests were made, retries included. */
open class RemoteException internal constructor(message: String, attempts: Int = 1, cause: Throwable? = null) :
    PrivateGazeException(message, cause) {
    /** Requests made before giving up; the client sets it when it stops retrying. */
    var attempts: Int = attempts
        internal set
}

/** The service could not be reached: connection refused, name resolution or TLS failed. */
class RemoteConnectionException internal constructor(message: String, attempts: Int = 1, cause: Throwable? = null) :
    RemoteException(message, attempts, cause)

/** The service sent no complete answer within the timeout. */
class RemoteTimeoutException internal constructor(message: String, attempts: Int = 1, cause: Throwable? = null) :
    RemoteException(message, attempts, cause)

/** The service answered with an error status [statusCode]. */
open class RemoteHttpException internal constructor(message: String, val statusCode: Int, attempts: Int = 1) :
    RemoteException(message, attempts)

/** The service kept answering 429 Too Many Requests; [retryAfterS] is its last Retry-After, if it sent one. */
class RemoteRateLimitException internal constructor(message: String, attempts: Int = 1, val retryAfterS: Double? = null) :
    RemoteHttpException(message, 429, attempts)

/** The service's answer is not a gaze: malformed JSON, a missing field, a non-finite or out-of-range value. */
class RemoteResponseException internal constructor(message: String, attempts: Int = 1, cause: Throwable? = null) :
    RemoteException(message, attempts, cause)
