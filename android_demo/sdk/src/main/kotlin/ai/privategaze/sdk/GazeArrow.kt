/*
 * Where to draw a gaze arrow on a normalized face: the direction's x and y components scaled to a length, from the
 * image centre (the face centre of a normalized image), as ETH-XGaze's draw_gaze does. Kept out of the view code so
 * the sign convention is unit-tested: looking up draws upwards, a positive yaw draws towards image-left.
 */
package ai.privategaze.sdk

object GazeArrow {
    /**
     * The arrow's tip for [gaze] (normalized frame) drawn from [origin] with [lengthPx] as the length of a gaze
     * parallel to the image plane; a gaze straight into the camera has no length on screen.
     */
    fun tip(gaze: PitchYaw, origin: Point2, lengthPx: Double): Point2 {
        val direction = gaze.toVector()
        return Point2(origin.x + lengthPx * direction.x, origin.y + lengthPx * direction.y)
    }
}
