/*
 * The little dense linear algebra the head-pose solver needs beyond 3x3 products: a linear solve (numpy's
 * `linalg.solve`), a singular value decomposition of small tall matrices (numpy's `linalg.svd`, used for the DLT
 * null vector, a rank test and the nearest rotation). One-sided Jacobi keeps the SVD accurate for the smallest
 * singular value, which is the one the DLT needs, without forming A^T A (which would square the condition number).
 */
package ai.privategaze.sdk

import kotlin.math.abs
import kotlin.math.sqrt

internal object LinearAlgebra {
    /**
     * x with a x = b for a square [a] (rows), by Gaussian elimination with partial pivoting.
     *
     * @throws GeometryException the matrix is singular.
     */
    fun solve(a: Array<DoubleArray>, b: DoubleArray): DoubleArray {
        val n = b.size
        val m = Array(n) { r -> a[r].copyOf(n + 1).also { it[n] = b[r] } }
        for (col in 0 until n) {
            val pivot = (col until n).maxByOrNull { abs(m[it][col]) }!!
            if (m[pivot][col] == 0.0 || !m[pivot][col].isFinite()) throw GeometryException("a singular system")
            val swap = m[col]; m[col] = m[pivot]; m[pivot] = swap
            for (r in col + 1 until n) {
                val factor = m[r][col] / m[col][col]
                if (factor != 0.0) for (c in col..n) m[r][c] -= factor * m[col][c]
            }
        }
        val x = DoubleArray(n)
        for (r in n - 1 downTo 0) {
            var sum = m[r][n]
            for (c in r + 1 until n) sum -= m[r][c] * x[c]
            x[r] = sum / m[r][r]
        }
        return x
    }

    /**
     * Thin SVD of an m x n matrix (m >= n), as rows: singular values in decreasing order, and the right singular
     * vectors V (n x n, column j belongs to value j). U is not needed by the callers.
     */
    fun svd(a: Array<DoubleArray>): Pair<DoubleArray, Array<DoubleArray>> {
        val rows = a.size
        val n = a[0].size
        require(rows >= n) { "svd expects a tall matrix, got $rows x $n" }
        val u = Array(rows) { a[it].copyOf() }
        val v = Array(n) { r -> DoubleArray(n) { c -> if (r == c) 1.0 else 0.0 } }
        for (sweep in 0 until 60) {
            var rotated = false
            for (p in 0 until n - 1) for (q in p + 1 until n) {
                var alpha = 0.0
                var beta = 0.0
                var gamma = 0.0
                for (r in 0 until rows) {
                    alpha += u[r][p] * u[r][p]
                    beta += u[r][q] * u[r][q]
                    gamma += u[r][p] * u[r][q]
                }
                if (gamma == 0.0 || abs(gamma) <= 1e-15 * sqrt(alpha * beta)) continue
                rotated = true
                val zeta = (beta - alpha) / (2 * gamma)
                val t = (if (zeta >= 0) 1.0 else -1.0) / (abs(zeta) + sqrt(1 + zeta * zeta))
                val c = 1 / sqrt(1 + t * t)
                val s = c * t
                for (r in 0 until rows) {
                    val up = u[r][p]
                    val uq = u[r][q]
                    u[r][p] = c * up - s * uq
                    u[r][q] = s * up + c * uq
                }
                for (r in 0 until n) {
                    val vp = v[r][p]
                    val vq = v[r][q]
                    v[r][p] = c * vp - s * vq
                    v[r][q] = s * vp + c * vq
                }
            }
            if (!rotated) break
        }
        val values = DoubleArray(n) { j -> sqrt((0 until rows).sumOf { u[it][j] * u[it][j] }) }
        val order = (0 until n).sortedByDescending { values[it] }
        return DoubleArray(n) { values[order[it]] } to Array(n) { r -> DoubleArray(n) { c -> v[r][order[c]] } }
    }

    /**
     * The rotation nearest to [m] in the Frobenius norm: U diag(1, 1, det(U V^T)) V^T from its SVD, as the Python
     * solver orthonormalizes its homography start. The result does not depend on the SVD's sign choices.
     */
    fun nearestRotation(m: Mat3): Mat3 {
        val (values, vRows) = svd(Array(3) { r -> DoubleArray(3) { c -> m[r, c] } })
        val v = Mat3(DoubleArray(9) { vRows[it / 3][it % 3] })
        val u1 = (m * v.column(0)) * (1 / values[0])
        val u2 = (m * v.column(1)) * (1 / values[1])
        val u = Mat3.fromColumns(u1, u2, u1 cross u2) // det(U) = +1, so det(U V^T) = det(V)
        return u * Mat3.diagonal(1.0, 1.0, v.determinant()) * v.transpose()
    }

    /** Rotation by the Rodrigues vector [w] (axis times angle in radians). */
    fun rodrigues(w: Vec3): Mat3 {
        val angle = w.norm
        if (angle < 1e-12) return Mat3.IDENTITY
        val k = w * (1 / angle)
        val skew = Mat3(doubleArrayOf(0.0, -k.z, k.y, k.z, 0.0, -k.x, -k.y, k.x, 0.0))
        val skew2 = skew * skew
        val s = kotlin.math.sin(angle)
        val c = 1 - kotlin.math.cos(angle)
        val (i, a, b) = Triple(Mat3.IDENTITY.toArray(), skew.toArray(), skew2.toArray())
        return Mat3(DoubleArray(9) { i[it] + s * a[it] + c * b[it] })
    }
}
