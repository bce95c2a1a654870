/*
 * The normalization geometry against the Python SDK's own results (golden geometry.json), with the face model of the
 * exporter's manifest (golden sidecar): angle conversions, head pose by PnP (with and without lens distortion), the
 * normalization from landmarks and from a box, and the gaze rotated back to the camera.
 */
package ai.privategaze.sdk

import org.junit.Assert.assertEquals
import org.junit.Test

class GeometryTest {
    private val golden = Golden.geometry
    private val spec = golden["spec"].obj().let {
        NormalizationSpec(it["focal_px"] as Double, it["distance_mm"] as Double, (it["size"] as Double).toInt())
    }

    private val faceModel = Golden.manifest.faceModel

    @Test
    fun theManifestsFaceModelIsTheOneThePythonCasesUse() {
        val python = golden["face_model"].obj()
        assertEquals(python["landmarks"], faceModel.landmarks)
        assertEquals(python["box_face_width_mm"], faceModel.boxFaceWidthMm)
        val points = (python["points_mm"] as List<*>).map { it.vec3() }
        assertEquals(6, faceModel.pointsMm.size)
        points.zip(faceModel.pointsMm).forEach { (expected, actual) -> assertClose(expected, actual, 0.0, "model") }
    }

    @Test
    fun theFaceModelsRowOrderComesFromItsLandmarkNames() {
        val case = golden["landmark_cases"].objects()[1]
        val camera = CameraIntrinsics.default((case["width"] as Double).toInt(), (case["height"] as Double).toInt())
        val landmarks = case["landmarks"].landmarks()
        val order = listOf(4, 1, 5, 0, 3, 2)
        val permuted = FaceModel(order.map { faceModel.landmarks[it] }, order.map { faceModel.pointsMm[it] }, faceModel.boxFaceWidthMm)
        val expected = Normalizer.fromLandmarks(landmarks, camera, spec, faceModel)
        val actual = Normalizer.fromLandmarks(landmarks, camera, spec, permuted)
        assertClose(expected.warp, actual.warp, 1e-9, "warp")
        assertFails<ConfigException>("must name each of") {
            FaceModel(faceModel.landmarks.dropLast(1) + "nose_tip", faceModel.pointsMm, faceModel.boxFaceWidthMm)
        }
        assertFails<ConfigException>("positive finite") { FaceModel(faceModel.landmarks, faceModel.pointsMm, 0.0) }
        assertFails<GeometryException>("landmarks named") { SixLandmarks(landmarks.points - "mouth_left") }
    }

    @Test
    fun pitchYawConversionsMatch() {
        for (case in golden["pitchyaw_vectors"].objects()) {
            val (pitch, yaw) = case["pitchyaw"].doubles()
            assertClose(case["vector"].vec3(), PitchYaw(pitch, yaw).toVector(), 1e-12, "vector")
            if (Math.abs(pitch) < Math.PI / 2 && Math.abs(yaw) < Math.PI) {
                val back = PitchYaw.fromVector(case["vector"].vec3())
                assertEquals(pitch, back.pitchRad, 1e-12)
                assertEquals(yaw, back.yawRad, 1e-12)
            }
        }
        assertFails<GeometryException>("no direction") { PitchYaw.fromVector(Vec3.ZERO) }
    }

    @Test
    fun normalizationFromLandmarksMatchesPython() {
        for (case in golden["landmark_cases"].objects()) {
            val name = case["name"] as String
            val width = (case["width"] as Double).toInt()
            val height = (case["height"] as Double).toInt()
            val camera = case["camera_matrix"]?.let { CameraIntrinsics.of(it.mat3()) } ?: CameraIntrinsics.default(width, height)
            assertClose(case["default_camera_matrix"].mat3(), CameraIntrinsics.default(width, height).matrix, 0.0, "$name K")
            val expected = case["normalization"].obj()
            val actual = Normalizer.fromLandmarks(case["landmarks"].landmarks(), camera, spec, faceModel)
            assertClose(expected["head_rotation"].mat3(), actual.headRotation, 1e-6, "$name head rotation")
            assertClose(expected["face_center_mm"].vec3(), actual.faceCenterMm, 1e-6, "$name face centre")
            assertClose(expected["rotation"].mat3(), actual.rotation, 1e-6, "$name R_n")
            assertClose(expected["scale_matrix"].mat3(), actual.scale, 1e-6, "$name S")
            assertClose(expected["camera_matrix_norm"].mat3(), actual.cameraMatrixNorm, 1e-12, "$name K_norm")
            assertClose(expected["warp"].mat3(), actual.warp, 1e-6, "$name warp")
            assertEquals(spec.size, actual.size)

            val (pitch, yaw) = case["gaze_normalized"].doubles()
            val camera3d = actual.gazeToCamera(PitchYaw(pitch, yaw))
            val (cameraPitch, cameraYaw) = case["gaze_camera"].doubles()
            assertEquals("$name camera pitch", cameraPitch, camera3d.pitchRad, 1e-6)
            assertEquals("$name camera yaw", cameraYaw, camera3d.yawRad, 1e-6)
            val back = actual.gazeToNormalized(camera3d)
            assertEquals(pitch, back.pitchRad, 1e-9)
            assertEquals(yaw, back.yawRad, 1e-9)
        }
    }

    @Test
    fun headPoseWithLensDistortionMatchesPython() {
        val case = golden["distortion_case"].obj()
        val pose = HeadPoseSolver.estimate(
            case["landmarks"].landmarks().inOrderOf(faceModel.landmarks), faceModel.pointsMm,
            CameraIntrinsics.of(case["camera_matrix"].mat3()),
            case["distortion"].doubles().toDoubleArray(),
        )
        assertClose(case["head_rotation"].mat3(), pose.rotation, 1e-6, "rotation")
        assertClose(case["translation"].vec3(), pose.translation, 1e-6, "translation")
    }

    @Test
    fun normalizationFromABoxMatchesPython() {
        val case = golden["box_case"].obj()
        val (x0, y0, x1, y1) = case["box"].doubles()
        val camera = CameraIntrinsics.default((case["width"] as Double).toInt(), (case["height"] as Double).toInt())
        val actual = Normalizer.fromBox(FaceBox(x0, y0, x1, y1), camera, spec, faceModel.boxFaceWidthMm)
        val expected = case["normalization"].obj()
        assertClose(expected["warp"].mat3(), actual.warp, 1e-9, "warp")
        assertClose(expected["face_center_mm"].vec3(), actual.faceCenterMm, 1e-9, "face centre")
    }

    @Test
    fun degenerateInputsAreGeometryErrors() {
        val camera = CameraIntrinsics.default(640, 480)
        val coincident = SixLandmarks(SixLandmarks.NAMES.associateWith { Point2(100.0, 200.0) }) // Python refuses these too
        assertFails<GeometryException>("degenerate") { Normalizer.fromLandmarks(coincident, camera, spec, faceModel) }
        assertFails<GeometryException>("six finite landmarks") { SixLandmarks(mapOf("mouth_left" to Point2(0.0, 0.0))) }
        assertFails<GeometryException>("fx, fy > 0") { CameraIntrinsics.of(Mat3.diagonal(-1.0, 1.0, 1.0)) }
        assertFails<GeometryException>("in front of the camera") {
            Normalizer.fromPose(camera, Mat3.IDENTITY, Vec3(0.0, 0.0, -600.0), spec)
        }
        assertFails<GeometryException>("rotation matrix") {
            Normalizer.fromPose(camera, Mat3.diagonal(2.0, 1.0, 1.0), Vec3(0.0, 0.0, 600.0), spec)
        }
        assertFails<GeometryException>("at least 2 px") { FaceBox(10.0, 10.0, 11.0, 40.0) }
        assertFails<ConfigException>("from 32 to 1024") { NormalizationSpec(100.0, 600.0, 16) }
    }
}
