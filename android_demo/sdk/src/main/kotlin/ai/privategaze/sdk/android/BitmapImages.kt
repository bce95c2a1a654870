/*
 * Android Bitmaps to and from the SDK's RgbImage. Frames must be upright camera images (the CameraX analyzer
 * rotates them by the frame's rotationDegrees) and unmirrored, so that landmarks and the camera model agree.
 */
package ai.privategaze.sdk.android

import ai.privategaze.sdk.RgbImage
import android.graphics.Bitmap

/** The bitmap's pixels as RGB (alpha dropped); any config, converted through ARGB_8888 pixels. */
fun Bitmap.toRgbImage(): RgbImage {
    val pixels = IntArray(width * height)
    getPixels(pixels, 0, width, 0, 0, width, height)
    return RgbImage.fromArgb(width, height, pixels)
}

/** An opaque ARGB_8888 bitmap of the image, for display. */
fun RgbImage.toBitmap(): Bitmap {
    val pixels = IntArray(width * height)
    for (y in 0 until height) for (x in 0 until width) pixels[y * width + x] = argb(x, y)
    return Bitmap.createBitmap(pixels, width, height, Bitmap.Config.ARGB_8888)
}
