/*
 * The 3-D vectors and 3x3 matrices of the gaze geometry, in doubles as numpy computes them in the Python SDK.
 * Plain Kotlin: the geometry is unit-tested on the JVM against golden values the Python code wrote.
 */
package ai.privategaze.sdk

import kotlin.math.abs
import kotlin.math.sqrt

/** A 3-vector (camera coordinates: x right, y down, z forward, in mm or as a direction). */
data class Vec3(val x: Double, val y: Double, val z: Double) {
    operator fun plus(other: Vec3) = Vec3(x + other.x, y + other.y, z + other.z)

    operator fun minus(other: Vec3) = Vec3(x - other.x, y - other.y, z - other.z)

    operator fun times(scale: Double) = Vec3(x * scale, y * scale, z * scale)

    operator fun get(i: Int): Double = when (i) {
        0 -> x
        1 -> y
        2 -> z
        else -> throw IndexOutOfBoundsException("Vec3 index $i")
    }

    infix fun dot(other: Vec3): Double = x * other.x + y * other.y + z * other.z

    infix fun cross(other: Vec3) =
        Vec3(y * other.z - z * other.y, z * other.x - x * other.z, x * other.y - y * other.x)

    val norm: Double
        get() = sqrt(this dot this)

    fun isFinite(): Boolean = x.isFinite() && y.isFinite() && z.isFinite()

    fun toList(): List<Double> = listOf(x, y, z)

    companion object {
        val ZERO = Vec3(0.0, 0.0, 0.0)
    }
}

/** An immutable 3x3 matrix, row-major. */
class Mat3(values: DoubleArray) {
    private val m: DoubleArray = values.copyOf()

    init {
        require(values.size == 9) { "a 3x3 matrix has 9 values, got ${values.size}" }
    }

    operator fun get(row: Int, column: Int): Double = m[3 * row + column]

    fun row(i: Int) = Vec3(m[3 * i], m[3 * i + 1], m[3 * i + 2])

    fun column(j: Int) = Vec3(m[j], m[3 + j], m[6 + j])

    operator fun times(other: Mat3): Mat3 {
        val out = DoubleArray(9)
        for (r in 0..2) for (c in 0..2) {
            out[3 * r + c] = m[3 * r] * other.m[c] + m[3 * r + 1] * other.m[3 + c] + m[3 * r + 2] * other.m[6 + c]
        }
        return Mat3(out)
    }

    operator fun times(v: Vec3) = Vec3(row(0) dot v, row(1) dot v, row(2) dot v)

    operator fun times(scale: Double) = Mat3(DoubleArray(9) { m[it] * scale })

    fun transpose() = Mat3(DoubleArray(9) { m[3 * (it % 3) + it / 3] })

    fun determinant(): Double =
        m[0] * (m[4] * m[8] - m[5] * m[7]) - m[1] * (m[3] * m[8] - m[5] * m[6]) + m[2] * (m[3] * m[7] - m[4] * m[6])

    /** The inverse by cofactors. @throws GeometryException the matrix is singular. */
    fun inverse(): Mat3 {
        val det = determinant()
        if (det == 0.0 || !det.isFinite()) throw GeometryException("the matrix is singular and has no inverse")
        val c = doubleArrayOf(
            m[4] * m[8] - m[5] * m[7], m[2] * m[7] - m[1] * m[8], m[1] * m[5] - m[2] * m[4],
            m[5] * m[6] - m[3] * m[8], m[0] * m[8] - m[2] * m[6], m[2] * m[3] - m[0] * m[5],
            m[3] * m[7] - m[4] * m[6], m[1] * m[6] - m[0] * m[7], m[0] * m[4] - m[1] * m[3],
        )
        return Mat3(DoubleArray(9) { c[it] / det })
    }

    fun isFinite(): Boolean = m.all { it.isFinite() }

    /** numpy's `allclose(self, other, atol=atol)` with its default rtol. */
    fun isClose(other: Mat3, atol: Double): Boolean =
        (0 until 9).all { abs(m[it] - other.m[it]) <= atol + 1e-5 * abs(other.m[it]) }

    fun toArray(): DoubleArray = m.copyOf()

    /** Rows as lists, the shape numpy's `tolist()` gives. */
    fun toRows(): List<List<Double>> = List(3) { r -> List(3) { c -> m[3 * r + c] } }

    override fun equals(other: Any?): Boolean = other is Mat3 && m.contentEquals(other.m)

    override fun hashCode(): Int = m.contentHashCode()

    override fun toString(): String = toRows().toString()

    companion object {
        val IDENTITY = diagonal(1.0, 1.0, 1.0)

        fun diagonal(a: Double, b: Double, c: Double) = Mat3(doubleArrayOf(a, 0.0, 0.0, 0.0, b, 0.0, 0.0, 0.0, c))

        fun fromRows(r0: Vec3, r1: Vec3, r2: Vec3) =
            Mat3(doubleArrayOf(r0.x, r0.y, r0.z, r1.x, r1.y, r1.z, r2.x, r2.y, r2.z))

        fun fromColumns(c0: Vec3, c1: Vec3, c2: Vec3) = fromRows(c0, c1, c2).transpose()

        /** A matrix from nine row-major values, or rows of three. @throws GeometryException another shape. */
        fun of(rows: List<List<Double>>): Mat3 {
            if (rows.size != 3 || rows.any { it.size != 3 }) {
                throw GeometryException("a 3x3 matrix needs 3 rows of 3 values, got $rows")
            }
            return Mat3(rows.flatten().toDoubleArray())
        }
    }
}
