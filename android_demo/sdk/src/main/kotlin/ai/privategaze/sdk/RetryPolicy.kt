/*
 * When a gaze client re-sends and how long it waits (Python: `retry.RetryPolicy`, `client.ClientConfig`). A gaze
 * estimate has no side effects, so re-sending is safe; what is bounded is the number of attempts and each wait, so
 * that one estimate has a hard upper bound on its duration ([ClientConfig.maxDurationS]).
 */
package ai.privategaze.sdk

import java.time.ZonedDateTime
import java.time.format.DateTimeFormatter
import java.time.format.DateTimeParseException
import kotlin.math.max
import kotlin.math.min
import kotlin.math.pow
import kotlin.random.Random

/**
 * @property maxAttempts requests per estimate, the first included (1 to 10; 1 disables retries).
 * @property backoffS wait before the first retry; [backoffMultiplier] grows it per retry, up to [maxBackoffS].
 * @property jitter fraction (0 to 1) by which each wait is randomly shortened, never lengthened.
 * @property maxRetryAfterS longest 429 Retry-After honoured; a longer one ends the call.
 * @property retryStatuses HTTP statuses retried: 408, 429 and 5xx only (another 4xx would fail again).
 */
data class RetryPolicy(
    val maxAttempts: Int = 3,
    val backoffS: Double = 0.2,
    val backoffMultiplier: Double = 2.0,
    val maxBackoffS: Double = 2.0,
    val jitter: Double = 0.1,
    val maxRetryAfterS: Double = 5.0,
    val retryStatuses: Set<Int> = setOf(408, 429, 500, 502, 503, 504),
) {
    init {
        if (maxAttempts !in 1..MAX_ATTEMPTS_LIMIT) {
            throw ConfigException("RetryPolicy.max_attempts must be an integer from 1 to $MAX_ATTEMPTS_LIMIT, got $maxAttempts")
        }
        bounded("backoff_s", backoffS, 0.0, 60.0)
        bounded("backoff_multiplier", backoffMultiplier, 1.0, 10.0)
        bounded("max_backoff_s", maxBackoffS, 0.0, 60.0)
        bounded("jitter", jitter, 0.0, 1.0)
        bounded("max_retry_after_s", maxRetryAfterS, 0.0, 600.0)
        if (retryStatuses.any { it != 408 && it != 429 && it !in 500..599 }) {
            throw ConfigException("RetryPolicy.retry_statuses may hold 408, 429 and 5xx only, got $retryStatuses")
        }
    }

    /** Seconds to wait before retry number [retry] (1 for the first). */
    fun backoffFor(retry: Int, random: Random): Double =
        min(maxBackoffS, backoffS * backoffMultiplier.pow(retry - 1)) * (1.0 - jitter * random.nextDouble())

    fun isRetryable(error: RemoteException): Boolean = when (error) {
        is RemoteHttpException -> error.statusCode in retryStatuses
        is RemoteConnectionException, is RemoteTimeoutException -> true
        else -> false
    }

    companion object {
        const val MAX_ATTEMPTS_LIMIT = 10

        /** Seconds from a Retry-After header (delta-seconds or an HTTP date); null when absent or unreadable. */
        fun retryAfterS(value: String?, now: ZonedDateTime = ZonedDateTime.now()): Double? {
            if (value == null) return null
            val seconds = value.trim().toDoubleOrNull() ?: try {
                val whenDate = ZonedDateTime.parse(value.trim(), DateTimeFormatter.RFC_1123_DATE_TIME)
                (whenDate.toInstant().toEpochMilli() - now.toInstant().toEpochMilli()) / 1000.0
            } catch (e: DateTimeParseException) {
                return null
            }
            return if (seconds.isNaN()) null else max(0.0, seconds)
        }
    }
}

/**
 * Timeouts, retries and transport security of a [GazeClient].
 *
 * @property timeoutS time for one attempt; [connectTimeoutS] (at most it) to open the connection.
 * @property allowInsecureHttp allow plain http to non-loopback hosts (the emulator's 10.0.2.2, a laptop on the LAN):
 *   the obfuscated image and any token then travel unencrypted, so for a trusted network only. Android also needs
 *   the host in the app's network security config.
 * @property maxResponseBytes larger answers are refused; a gaze answer is tiny.
 */
data class ClientConfig(
    val timeoutS: Double = 10.0,
    val connectTimeoutS: Double? = null,
    val retry: RetryPolicy = RetryPolicy(),
    val allowInsecureHttp: Boolean = false,
    val maxResponseBytes: Int = 1 shl 20,
) {
    init {
        bounded("timeout_s", timeoutS, 0.001, 600.0)
        connectTimeoutS?.let { bounded("connect_timeout_s", it, 0.001, timeoutS) }
        if (maxResponseBytes < 1024) {
            throw ConfigException("ClientConfig.max_response_bytes must be an integer >= 1024, got $maxResponseBytes")
        }
    }

    /** Upper bound of one estimate, against servers that do not trickle their headers. */
    val maxDurationS: Double
        get() = retry.maxAttempts * timeoutS + (retry.maxAttempts - 1) * max(retry.maxBackoffS, retry.maxRetryAfterS)
}

private fun bounded(name: String, value: Double, low: Double, high: Double) {
    if (!(value >= low && value <= high)) throw ConfigException("$name must be a number from $low to $high, got $value")
}
