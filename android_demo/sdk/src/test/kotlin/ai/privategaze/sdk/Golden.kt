/*
 * Access to the golden files the Python SDK and exporter wrote (src/test/resources/golden/, made by make_golden.py
 * beside them; tests/test_android_demo.py fails when they drift from the Python code).
 */
package ai.privategaze.sdk

import java.util.Base64
import org.junit.Assert.assertEquals
import org.junit.Assert.assertTrue

internal object Golden {
    fun bytes(name: String): ByteArray =
        Golden::class.java.getResourceAsStream("/golden/$name")?.use { it.readBytes() }
            ?: throw AssertionError("golden file $name is not on the test classpath (src/test/resources/golden)")

    fun text(name: String): String = String(bytes(name), Charsets.UTF_8)

    @Suppress("UNCHECKED_CAST")
    fun json(name: String): Map<String, Any?> = Json.parse(text(name)) as Map<String, Any?>

    val geometry: Map<String, Any?> by lazy { json("geometry.json") }

    /** The exporter's manifest (golden sidecar): the face model the geometry cases are normalized with. */
    val manifest: Manifest by lazy { Manifest.parse(text("embedded.tflite.json")) }
}

@Suppress("UNCHECKED_CAST")
internal fun Any?.obj(): Map<String, Any?> = this as Map<String, Any?>

@Suppress("UNCHECKED_CAST")
internal fun Any?.objects(): List<Map<String, Any?>> = this as List<Map<String, Any?>>

@Suppress("UNCHECKED_CAST")
internal fun Any?.doubles(): List<Double> = this as List<Double>

@Suppress("UNCHECKED_CAST")
internal fun Any?.mat3(): Mat3 = Mat3.of(this as List<List<Double>>)

internal fun Any?.vec3(): Vec3 = doubles().let { Vec3(it[0], it[1], it[2]) }

internal fun Any?.points(): List<Point2> = (this as List<*>).map { it.doubles().let { p -> Point2(p[0], p[1]) } }

/** Golden landmarks (rows in the order of the face model's landmarks) named as the face model names them. */
internal fun Any?.landmarks(model: FaceModel = Golden.manifest.faceModel): SixLandmarks =
    SixLandmarks(model.landmarks.zip(points()).toMap())

internal fun Any?.rgb(width: Int, height: Int): RgbImage =
    RgbImage(width, height, Base64.getDecoder().decode(this as String))

internal fun assertClose(expected: Mat3, actual: Mat3, tolerance: Double, what: String) {
    for (r in 0..2) for (c in 0..2) {
        assertEquals("$what[$r][$c]", expected[r, c], actual[r, c], tolerance * maxOf(1.0, Math.abs(expected[r, c])))
    }
}

internal fun assertClose(expected: Vec3, actual: Vec3, tolerance: Double, what: String) {
    for (i in 0..2) assertEquals("$what[$i]", expected[i], actual[i], tolerance * maxOf(1.0, Math.abs(expected[i])))
}

/** Runs [block], which must throw a [T] whose message contains [fragment]; returns it. */
internal inline fun <reified T : Exception> assertFails(fragment: String, block: () -> Unit): T {
    try {
        block()
    } catch (e: Exception) {
        assertTrue("expected ${T::class.simpleName}, got ${e.javaClass.simpleName}: ${e.message}", e is T)
        assertTrue("'$fragment' not in: ${e.message}", e.message?.contains(fragment) == true)
        return e as T
    }
    throw AssertionError("expected ${T::class.simpleName} saying '$fragment'")
}
