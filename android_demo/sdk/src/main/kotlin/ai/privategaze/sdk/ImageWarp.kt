/*
 * The face warp (Python: `geometry.warp_image`): the camera frame warped by the normalization's homography to the
 * square normalized face, bilinearly, black outside the frame. It reproduces Pillow's PERSPECTIVE + BILINEAR
 * transform, which the Python SDK uses, sample for sample (pixel centres at +0.5, edge clamping, truncation to
 * 8 bits), so the phone feeds the preserver the same pixels the Python SDK would, up to float rounding.
 */
package ai.privategaze.sdk

import kotlin.math.abs
import kotlin.math.floor

object ImageWarp {
    /**
     * The normalized face of [normalization] cut out of [frame] (undistorted camera image).
     *
     * @throws GeometryException the warp is degenerate (maps the image to infinity).
     */
    fun normalizedFace(frame: RgbImage, normalization: Normalization): RgbImage {
        // Pillow maps each output pixel back to the input with pixel centres at +0.5, where OpenCV (and K) put
        // them at integers: shift into OpenCV coordinates, apply the inverse warp, shift back.
        val toOpenCv = Mat3(doubleArrayOf(1.0, 0.0, -0.5, 0.0, 1.0, -0.5, 0.0, 0.0, 1.0))
        val toPillow = Mat3(doubleArrayOf(1.0, 0.0, 0.5, 0.0, 1.0, 0.5, 0.0, 0.0, 1.0))
        val inverse = toPillow * normalization.warp.inverse() * toOpenCv
        if (abs(inverse[2, 2]) < 1e-12) {
            throw GeometryException("the normalization warp is degenerate (it maps the image centre to infinity)")
        }
        val a = (inverse * (1 / inverse[2, 2])).toArray()
        return perspective(frame, normalization.size, a)
    }

    /** Pillow's `Image.transform(size, PERSPECTIVE, a[0..7], BILINEAR)` with its default black fill. */
    internal fun perspective(source: RgbImage, size: Int, a: DoubleArray): RgbImage {
        val out = ByteArray(size * size * 3)
        val w = source.width
        val h = source.height
        val data = source.data
        for (y in 0 until size) {
            val yc = y + 0.5
            for (x in 0 until size) {
                val xc = x + 0.5
                val denominator = a[6] * xc + a[7] * yc + 1
                var xin = (a[0] * xc + a[1] * yc + a[2]) / denominator
                var yin = (a[3] * xc + a[4] * yc + a[5]) / denominator
                if (!(xin >= 0.0 && xin < w && yin >= 0.0 && yin < h)) continue // outside (or NaN): black
                xin -= 0.5
                yin -= 0.5
                val x0 = floor(xin).toInt()
                val y0 = floor(yin).toInt()
                val dx = xin - x0
                val dy = yin - y0
                val left = x0.coerceIn(0, w - 1) * 3
                val right = (x0 + 1).coerceIn(0, w - 1) * 3
                val top = y0.coerceIn(0, h - 1) * w * 3
                val hasBottom = y0 + 1 in 0 until h
                val bottom = (y0 + 1) * w * 3
                val target = (y * size + x) * 3
                for (c in 0..2) {
                    val topLeft = data[top + left + c].toInt() and 0xff
                    val topRight = data[top + right + c].toInt() and 0xff
                    val v1 = topLeft + (topRight - topLeft) * dx
                    val v2 = if (hasBottom) {
                        val bottomLeft = data[bottom + left + c].toInt() and 0xff
                        val bottomRight = data[bottom + right + c].toInt() and 0xff
                        bottomLeft + (bottomRight - bottomLeft) * dx
                    } else {
                        v1
                    }
                    out[target + c] = (v1 + (v2 - v1) * dy).toInt().toByte() // Pillow truncates
                }
            }
        }
        return RgbImage(size, size, out)
    }
}
