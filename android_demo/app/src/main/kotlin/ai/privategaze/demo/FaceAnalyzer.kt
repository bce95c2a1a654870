/*
 * One camera frame through the pipeline, on CameraX's analysis thread: upright bitmap -> ML Kit face landmarks ->
 * SDK normalization with the manifest's virtual camera -> preserver -> (only the obfuscated face) gaze API. The raw
 * normalized face is returned for display; it never reaches the client, whose estimate takes an ObfuscatedFace.
 * Frames that arrive while one is being analysed are dropped by ImageAnalysis (STRATEGY_KEEP_ONLY_LATEST).
 *
 * The gaze API is called on a thread of its own, one request at a time (as the iOS app does): the client blocks
 * through its timeouts and retries, and that must not stall the camera. Frames obfuscated while a request is out
 * are shown with the last answer but not sent, so a slow service sees the newest face next, not a queue of old ones.
 */
package ai.privategaze.demo

import ai.privategaze.sdk.GazeClient
import ai.privategaze.sdk.GazeResult
import ai.privategaze.sdk.ObfuscatedFace
import ai.privategaze.sdk.PrivateGazeException
import ai.privategaze.sdk.Preserver
import ai.privategaze.sdk.RemoteException
import ai.privategaze.sdk.android.faceBox
import ai.privategaze.sdk.android.sixLandmarks
import ai.privategaze.sdk.android.toBitmap
import ai.privategaze.sdk.android.toRgbImage
import android.graphics.Bitmap
import android.graphics.Matrix
import androidx.camera.core.ImageAnalysis
import androidx.camera.core.ImageProxy
import com.google.android.gms.tasks.Tasks
import com.google.mlkit.vision.common.InputImage
import com.google.mlkit.vision.face.FaceDetection
import com.google.mlkit.vision.face.FaceDetectorOptions
import java.io.Closeable
import java.util.concurrent.Executors
import java.util.concurrent.RejectedExecutionException
import java.util.concurrent.atomic.AtomicBoolean

/**
 * What one frame gave: the two faces (null without a face), the gaze (the latest answer, null before the first or
 * after a failure), a status.
 */
data class FrameResult(
    val rawFace: Bitmap?,
    val obfuscatedFace: Bitmap?,
    val gaze: GazeResult?,
    val status: String,
)

class FaceAnalyzer(
    private val preserver: Preserver,
    private val client: GazeClient?,
    private val onResult: (FrameResult) -> Unit,
) : ImageAnalysis.Analyzer, Closeable {
    // Contours and landmarks: the eye contours give the eye corners, the landmarks the mouth corners.
    private val detector = FaceDetection.getClient(
        FaceDetectorOptions.Builder()
            .setPerformanceMode(FaceDetectorOptions.PERFORMANCE_MODE_FAST)
            .setContourMode(FaceDetectorOptions.CONTOUR_MODE_ALL)
            .setLandmarkMode(FaceDetectorOptions.LANDMARK_MODE_ALL)
            .build(),
    )

    /** The gaze API's thread: one request at a time, so [requestInFlight] is all the queue there is. */
    private val requests = Executors.newSingleThreadExecutor()
    private val requestInFlight = AtomicBoolean(false)
    private val closed = AtomicBoolean(false)

    /** The last answer (or failure) of the gaze API and its status text, shown with the frames that follow it. */
    @Volatile
    private var lastGaze: Pair<GazeResult?, String> = null to "gaze API: waiting for the first answer"

    override fun analyze(image: ImageProxy) {
        if (closed.get()) { // a frame delivered after close (the camera is unbound asynchronously): dropped
            image.close()
            return
        }
        val timestampMs = image.imageInfo.timestamp / 1_000_000
        val bitmap = try {
            upright(image)
        } finally {
            image.close()
        }
        val result = try {
            process(bitmap, timestampMs)
        } catch (e: Exception) { // not the SDK's expected failures (those are handled in process): shown, not thrown
            FrameResult(null, null, null, "frame failed: ${e.javaClass.simpleName}: ${e.message}")
        }
        onResult(result)
    }

    private fun process(bitmap: Bitmap, timestampMs: Long): FrameResult {
        val faces = try {
            Tasks.await(detector.process(InputImage.fromBitmap(bitmap, 0)))
        } catch (e: Exception) {
            return FrameResult(null, null, null, "face detection failed: ${e.message}")
        }
        val face = faces.maxByOrNull { it.boundingBox.width() * it.boundingBox.height() }
            ?: return FrameResult(null, null, null, "no face in view")
        val frame = bitmap.toRgbImage()
        val landmarks = face.sixLandmarks()
        val normalized = try {
            if (landmarks != null) preserver.normalize(frame, landmarks) else preserver.normalize(frame, face.faceBox())
        } catch (e: PrivateGazeException) {
            return FrameResult(null, null, null, "cannot normalize this face: ${e.message}")
        }
        val started = System.nanoTime()
        val obfuscated = try {
            preserver.obfuscate(normalized, timestampMs)
        } catch (e: PrivateGazeException) {
            return FrameResult(normalized.image.toBitmap(), null, null, "frame dropped: ${e.message}")
        }
        val preserveMs = (System.nanoTime() - started) / 1e6
        val local = "${preserver.backend} ${"%.1f".format(preserveMs)} ms, ${normalized.method} normalization " +
            "(${normalized.intrinsics} intrinsics)"
        val raw = normalized.image.toBitmap()
        val sent = obfuscated.image.toBitmap()
        if (client == null) return FrameResult(raw, sent, null, "$local; sending is off")
        val sending = send(client, obfuscated, raw, sent, local)
        val (gaze, api) = lastGaze
        return FrameResult(raw, sent, gaze, if (sending) "$api; $local" else "$api; $local; not sent (a request is out)")
    }

    /**
     * Hands [face] to the request thread unless a request is still out; false when the frame is not sent. The
     * answer is reported with the faces of the frame it belongs to ([raw], [sent]) and kept for the next frames.
     */
    private fun send(client: GazeClient, face: ObfuscatedFace, raw: Bitmap, sent: Bitmap, local: String): Boolean {
        if (!requestInFlight.compareAndSet(false, true)) return false
        try {
            requests.execute {
                val answer = try {
                    val gaze = client.estimate(face)
                    gaze to "${angles(gaze)}; API ${"%.0f".format(gaze.latencyMs)} ms"
                } catch (e: RemoteException) {
                    null to "gaze API: ${e.message} (${e.attempts} attempts)"
                } catch (e: Exception) { // anything else (an interrupted retry wait on close, a bug): shown, not thrown
                    null to "gaze API: ${e.javaClass.simpleName}: ${e.message}"
                } finally {
                    requestInFlight.set(false) // whatever happened, the next frame may be sent
                }
                if (!closed.get()) {
                    lastGaze = answer
                    onResult(FrameResult(raw, sent, answer.first, "${answer.second}; $local"))
                }
            }
        } catch (e: RejectedExecutionException) { // closed meanwhile
            requestInFlight.set(false)
            return false
        }
        return true
    }

    /** Stops analysing and sending; a request still out is interrupted and its answer dropped. */
    override fun close() {
        if (!closed.compareAndSet(false, true)) return
        requests.shutdownNow()
        detector.close()
    }

    private companion object {
        fun degrees(radians: Double) = "%+.1f°".format(Math.toDegrees(radians))

        fun angles(gaze: GazeResult): String {
            val camera = gaze.cameraPitchYaw
            return if (camera != null) {
                "camera pitch ${degrees(camera.pitchRad)}, yaw ${degrees(camera.yawRad)}"
            } else {
                "normalized pitch ${degrees(gaze.pitchYaw.pitchRad)}, yaw ${degrees(gaze.pitchYaw.yawRad)}"
            }
        }

        /** The frame as the camera sees it, upright: CameraX delivers it in sensor orientation, unmirrored. */
        fun upright(image: ImageProxy): Bitmap {
            val bitmap = image.toBitmap()
            val rotation = image.imageInfo.rotationDegrees
            if (rotation == 0) return bitmap
            val matrix = Matrix().apply { postRotate(rotation.toFloat()) }
            return Bitmap.createBitmap(bitmap, 0, 0, bitmap.width, bitmap.height, matrix, true)
        }
    }
}
