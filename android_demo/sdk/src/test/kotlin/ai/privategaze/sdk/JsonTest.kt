package ai.privategaze.sdk

import org.junit.Assert.assertEquals
import org.junit.Test

class JsonTest {
    @Test
    fun parsesWhatPythonsJsonWrites() {
        val value = Json.parse("""{"a": [1, -2.5e-3, true, false, null], "b": {"c": "\u00e9\n\"x\""}}""")
        assertEquals(mapOf("a" to listOf(1.0, -0.0025, true, false, null), "b" to mapOf("c" to "é\n\"x\"")), value)
    }

    @Test
    fun writesCompactJsonThatReadsBack() {
        val value = mapOf("image" to "aGk=", "n" to 3, "x" to 0.5, "nested" to mapOf("k" to listOf(1, null)))
        val text = Json.write(value)
        assertEquals("""{"image":"aGk=","n":3,"x":0.5,"nested":{"k":[1,null]}}""", text)
        assertEquals(mapOf("image" to "aGk=", "n" to 3.0, "x" to 0.5, "nested" to mapOf("k" to listOf(1.0, null))), Json.parse(text))
    }

    @Test
    fun rejectsWhatRfc8259Rejects() {
        for (bad in listOf("NaN", "[1,]", "{\"a\":1} x", "01", "[\"\t\"]", "{'a': 1}", "-", "1e", "")) {
            assertFails<IllegalArgumentException>("") { Json.parse(bad) }
        }
        assertFails<IllegalArgumentException>("nested deeper") { Json.parse("[".repeat(100) + "]".repeat(100)) }
        assertFails<IllegalArgumentException>("no representation") { Json.write(listOf(Double.NaN)) }
    }
}
