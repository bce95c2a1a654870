package ai.privategaze.sdk

import org.junit.Assert.assertEquals
import org.junit.Test

class ResponseSpecTest {
    @Test
    fun defaultsReadPgzServe() {
        assertEquals(PitchYaw(0.125, -0.25), ResponseSpec().parse(Golden.bytes("gaze_response.json")))
    }

    @Test
    fun otherApisAreDescribedNotCoded() {
        val degrees = ResponseSpec(pitchPath = "results.0.p", yawPath = "results.0.y", units = "deg", flipYaw = true)
        val gaze = degrees.parse("""{"results": [{"p": 10, "y": -20}]}""".toByteArray())
        assertEquals(Math.toRadians(10.0), gaze.pitchRad, 1e-12)
        assertEquals(Math.toRadians(20.0), gaze.yawRad, 1e-12)
        val vector = ResponseSpec(vectorPath = "g", vectorSigns = listOf(1.0, -1.0, 1.0))
        val up = vector.parse("""{"g": [0, 1, -1]}""".toByteArray()) // the API's y is up: looking up and ahead
        assertEquals(Math.PI / 4, up.pitchRad, 1e-12)
        assertEquals(0.0, up.yawRad, 1e-12)
    }

    @Test
    fun answersThatAreNoGazeAreResponseErrors() {
        val spec = ResponseSpec()
        assertFails<RemoteResponseException>("no 'gaze.pitch': no 'gaze' at the top level") { spec.parse("""{"error": 1}""".toByteArray()) }
        assertFails<RemoteResponseException>("must be a number") { spec.parse("""{"gaze": {"pitch": "0.1", "yaw": 0}}""".toByteArray()) }
        assertFails<RemoteResponseException>("must be a number") { spec.parse("""{"gaze": {"pitch": true, "yaw": 0}}""".toByteArray()) }
        assertFails<RemoteResponseException>("beyond +-pi") { spec.parse("""{"gaze": {"pitch": 10, "yaw": 0}}""".toByteArray()) }
        assertFails<RemoteResponseException>("no direction") { ResponseSpec(vectorPath = "v").parse("""{"v": [0, 0, 0]}""".toByteArray()) }
        assertFails<ConfigException>("not both") { ResponseSpec(pitchPath = "a", vectorPath = "v") }
        assertFails<ConfigException>("units") { ResponseSpec(units = "grad") }
    }

    @Test
    fun retryAfterReadsSecondsAndDates() {
        assertEquals(2.0, RetryPolicy.retryAfterS(" 2 ")!!, 0.0)
        val now = java.time.ZonedDateTime.parse("2026-11-24T10:00:00Z")
        assertEquals(30.0, RetryPolicy.retryAfterS("Tue, 24 Nov 2026 10:00:30 GMT", now)!!, 0.0)
        assertEquals(0.0, RetryPolicy.retryAfterS("-5")!!, 0.0)
        assertEquals(null, RetryPolicy.retryAfterS("soon"))
    }

    @Test
    fun gazeArrowFollowsTheSignConvention() {
        val center = Point2(50.0, 50.0)
        assertEquals(center, GazeArrow.tip(PitchYaw(0.0, 0.0), center, 40.0).let { Point2(Math.rint(it.x), Math.rint(it.y)) })
        assertEquals(true, GazeArrow.tip(PitchYaw(0.5, 0.0), center, 40.0).y < 50.0) // up
        assertEquals(true, GazeArrow.tip(PitchYaw(0.0, 0.5), center, 40.0).x < 50.0) // positive yaw: image-left
    }
}
