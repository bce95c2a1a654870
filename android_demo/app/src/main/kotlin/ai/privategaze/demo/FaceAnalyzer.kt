/*
 * One camera frame through the pipeline, on CameraX's analysis thread: upright bitmap -> ML Kit face landmarks ->
 * SDK normalization with the manifest's virtual camera -> preserver -> (only the obfuscated face) gaze API. The raw
 * normalized face is returned for display; it never reaches the client, whose estimate takes an ObfuscatedFace.
 * Frames that arrive while one is in flight are dropped by ImageAnalysis (STRATEGY_KEEP_ONLY_LATEST).
 */
package ai.privategaze.demo

import ai.privategaze.sdk.GazeClient
import ai.privategaze.sdk.GazeResult
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

/** What one frame gave: the two faces (null without a face), the gaze (null when not sent or failed), a status. */
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

    override fun analyze(image: ImageProxy) {
        val timestampMs = image.imageInfo.timestamp / 1_000_000
        val bitmap = try {
            upright(image)
        } finally {
            image.close()
        }
        onResult(process(bitmap, timestampMs))
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
        return try {
            val gaze = client.estimate(obfuscated)
            val camera = gaze.cameraPitchYaw
            val angles = if (camera != null) {
                "camera pitch ${degrees(camera.pitchRad)}, yaw ${degrees(camera.yawRad)}"
            } else {
                "normalized pitch ${degrees(gaze.pitchYaw.pitchRad)}, yaw ${degrees(gaze.pitchYaw.yawRad)}"
            }
            FrameResult(raw, sent, gaze, "$angles; API ${"%.0f".format(gaze.latencyMs)} ms; $local")
        } catch (e: RemoteException) {
            FrameResult(raw, sent, null, "gaze API: ${e.message} (${e.attempts} attempts); $local")
        }
    }

    override fun close() = detector.close()

    private companion object {
        fun degrees(radians: Double) = "%+.1f°".format(Math.toDegrees(radians))

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
