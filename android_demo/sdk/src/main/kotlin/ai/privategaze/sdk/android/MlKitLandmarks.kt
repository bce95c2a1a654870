/*
 * ML Kit face detection -> the six landmarks face normalization needs. The detector must run with contours and
 * landmarks on (FaceDetectorOptions.CONTOUR_MODE_ALL, LANDMARK_MODE_ALL), on the same upright, unmirrored bitmap the
 * frame is normalized from. ML Kit is a compileOnly dependency of the SDK: apps that use MediaPipe instead
 * (SixLandmarks.fromFaceMesh) do not pull it in.
 */
package ai.privategaze.sdk.android

import ai.privategaze.sdk.FaceBox
import ai.privategaze.sdk.Point2
import ai.privategaze.sdk.SixLandmarks
import android.graphics.PointF
import com.google.mlkit.vision.face.Face
import com.google.mlkit.vision.face.FaceContour
import com.google.mlkit.vision.face.FaceLandmark

/**
 * The six landmarks of this face, or null when ML Kit did not return the eye contours or the mouth corners (contour
 * detection runs on the most prominent face only, and drops faces it cannot outline).
 */
fun Face.sixLandmarks(): SixLandmarks? {
    val rightEye = getContour(FaceContour.RIGHT_EYE)?.points?.map(::point) ?: return null
    val leftEye = getContour(FaceContour.LEFT_EYE)?.points?.map(::point) ?: return null
    val mouthRight = getLandmark(FaceLandmark.MOUTH_RIGHT)?.position?.let(::point) ?: return null
    val mouthLeft = getLandmark(FaceLandmark.MOUTH_LEFT)?.position?.let(::point) ?: return null
    return SixLandmarks.fromEyeContours(rightEye, leftEye, mouthRight, mouthLeft)
}

/** The detector's box, for the box normalization (a frontal head assumed). */
fun Face.faceBox(): FaceBox = boundingBox.let {
    FaceBox(it.left.toDouble(), it.top.toDouble(), it.right.toDouble(), it.bottom.toDouble())
}

private fun point(p: PointF) = Point2(p.x.toDouble(), p.y.toDouble())
