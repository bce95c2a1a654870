/*
 * A normalized face with the gaze drawn on it as an arrow from the face centre. The arrow's direction comes from
 * the SDK's GazeArrow (unit-tested sign convention); faces are small (the manifest's size, e.g. 48 px), so they are
 * shown enlarged without smoothing.
 */
package ai.privategaze.demo

import ai.privategaze.sdk.GazeArrow
import ai.privategaze.sdk.PitchYaw
import ai.privategaze.sdk.Point2
import android.content.Context
import android.graphics.Bitmap
import android.graphics.Canvas
import android.graphics.Color
import android.graphics.Paint
import android.graphics.RectF
import android.graphics.drawable.BitmapDrawable
import android.util.AttributeSet
import androidx.appcompat.widget.AppCompatImageView
import kotlin.math.atan2
import kotlin.math.cos
import kotlin.math.sin

class FaceView @JvmOverloads constructor(context: Context, attrs: AttributeSet? = null) : AppCompatImageView(context, attrs) {
    private var gaze: PitchYaw? = null
    private val paint = Paint(Paint.ANTI_ALIAS_FLAG).apply {
        color = Color.rgb(255, 196, 0)
        strokeWidth = 6f
        strokeCap = Paint.Cap.ROUND
    }

    init {
        scaleType = ScaleType.FIT_CENTER
        setBackgroundColor(Color.DKGRAY)
    }

    /** Shows [face] (null clears it) with [gaze] in the normalized frame (null: no arrow). */
    fun show(face: Bitmap?, gaze: PitchYaw?) {
        this.gaze = gaze
        // Enlarged without smoothing. Set on the drawable itself: `paint` inside an apply block would be easy to
        // read as this view's arrow paint.
        setImageDrawable(face?.let { bitmap -> BitmapDrawable(resources, bitmap).also { it.isFilterBitmap = false } })
        invalidate()
    }

    override fun onDraw(canvas: Canvas) {
        super.onDraw(canvas)
        val gaze = gaze ?: return
        val drawable = drawable ?: return
        val bounds = RectF(0f, 0f, drawable.intrinsicWidth.toFloat(), drawable.intrinsicHeight.toFloat())
        imageMatrix.mapRect(bounds)
        bounds.offset(paddingLeft.toFloat(), paddingTop.toFloat())
        val origin = Point2(bounds.centerX().toDouble(), bounds.centerY().toDouble())
        val tip = GazeArrow.tip(gaze, origin, 0.45 * bounds.width())
        val (x0, y0, x1, y1) = listOf(origin.x, origin.y, tip.x, tip.y).map { it.toFloat() }
        canvas.drawLine(x0, y0, x1, y1, paint)
        val angle = atan2((y1 - y0).toDouble(), (x1 - x0).toDouble())
        for (side in listOf(-1, 1)) {
            val wing = angle + Math.PI + side * Math.PI / 7
            canvas.drawLine(x1, y1, x1 + (18 * cos(wing)).toFloat(), y1 + (18 * sin(wing)).toFloat(), paint)
        }
    }
}
