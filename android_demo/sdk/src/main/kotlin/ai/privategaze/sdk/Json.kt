/*
 * A small strict JSON reader and writer for the manifest, the gaze API's request and its answer.
 *
 * Why not org.json or kotlinx.serialization: org.json is part of android.jar (on the JVM it is a stub that throws),
 * so code using it cannot be unit-tested or compiled off Android; kotlinx.serialization needs a compiler plugin and a
 * runtime library, and the manifest's nested `preserver`, `parity` and `quality` blocks are open-ended dictionaries
 * that a generated serializer would have to model anyway. The reader below is RFC 8259 strict (no NaN, no trailing
 * commas, no trailing text, bounded nesting), which is what Python's `json.dumps(..., allow_nan=False)` writes.
 */
package ai.privategaze.sdk

/**
 * Parsed JSON: [Map] (insertion-ordered) for objects, [List] for arrays, [String], [Double] for every number,
 * [Boolean], and null. Numbers are doubles because the manifest's integers (shapes, sizes) are far below 2^53.
 */
object Json {
    /** Deeper nesting than any manifest or gaze answer; bounds the recursion on hostile input. */
    const val MAX_DEPTH = 64

    /**
     * Parses [text] as one JSON value.
     *
     * @throws IllegalArgumentException on malformed JSON; callers translate it into their own typed error.
     */
    fun parse(text: String): Any? = Reader(text).readDocument()

    /** Compact JSON for [value] (maps with string keys, lists, strings, finite numbers, booleans, null). */
    fun write(value: Any?): String = StringBuilder().also { writeValue(it, value) }.toString()

    private fun writeValue(out: StringBuilder, value: Any?) {
        when (value) {
            null -> out.append("null")
            is String -> writeString(out, value)
            is Boolean -> out.append(value)
            is Int, is Long -> out.append(value)
            is Number -> {
                val number = value.toDouble()
                require(number.isFinite()) { "JSON has no representation for $number" }
                if (number == Math.rint(number) && Math.abs(number) < 1e15) out.append(number.toLong()) else out.append(number)
            }
            is Map<*, *> -> {
                out.append('{')
                var first = true
                for ((key, item) in value) {
                    require(key is String) { "JSON object keys are strings, got $key" }
                    if (!first) out.append(',')
                    first = false
                    writeString(out, key)
                    out.append(':')
                    writeValue(out, item)
                }
                out.append('}')
            }
            is List<*> -> {
                out.append('[')
                value.forEachIndexed { i, item ->
                    if (i > 0) out.append(',')
                    writeValue(out, item)
                }
                out.append(']')
            }
            else -> throw IllegalArgumentException("cannot write a ${value::class.simpleName} as JSON")
        }
    }

    private fun writeString(out: StringBuilder, text: String) {
        out.append('"')
        for (c in text) {
            when {
                c == '"' -> out.append("\\\"")
                c == '\\' -> out.append("\\\\")
                c == '\n' -> out.append("\\n")
                c == '\r' -> out.append("\\r")
                c == '\t' -> out.append("\\t")
                c < ' ' -> out.append(String.format("\\u%04x", c.code))
                else -> out.append(c)
            }
        }
        out.append('"')
    }

    private class Reader(private val text: String) {
        private var i = 0

        fun readDocument(): Any? {
            val value = readValue(0)
            skipSpace()
            if (i != text.length) fail("unexpected text after the JSON value")
            return value
        }

        private fun fail(message: String): Nothing = throw IllegalArgumentException("$message at offset $i")

        private fun skipSpace() {
            while (i < text.length && text[i] in " \t\r\n") i++
        }

        private fun readValue(depth: Int): Any? {
            if (depth > MAX_DEPTH) fail("JSON nested deeper than $MAX_DEPTH levels")
            skipSpace()
            if (i >= text.length) fail("unexpected end of JSON")
            return when (text[i]) {
                '{' -> readObject(depth)
                '[' -> readArray(depth)
                '"' -> readString()
                't' -> literal("true", true)
                'f' -> literal("false", false)
                'n' -> literal("null", null)
                else -> readNumber()
            }
        }

        private fun literal(word: String, value: Any?): Any? {
            if (!text.startsWith(word, i)) fail("invalid literal")
            i += word.length
            return value
        }

        private fun readObject(depth: Int): Map<String, Any?> {
            val result = LinkedHashMap<String, Any?>()
            i++
            skipSpace()
            if (i < text.length && text[i] == '}') {
                i++
                return result
            }
            while (true) {
                skipSpace()
                if (i >= text.length || text[i] != '"') fail("expected a string key")
                val key = readString()
                skipSpace()
                if (i >= text.length || text[i] != ':') fail("expected ':'")
                i++
                result[key] = readValue(depth + 1)
                skipSpace()
                if (i >= text.length) fail("unterminated object")
                when (text[i++]) {
                    ',' -> continue
                    '}' -> return result
                    else -> fail("expected ',' or '}'")
                }
            }
        }

        private fun readArray(depth: Int): List<Any?> {
            val result = ArrayList<Any?>()
            i++
            skipSpace()
            if (i < text.length && text[i] == ']') {
                i++
                return result
            }
            while (true) {
                result.add(readValue(depth + 1))
                skipSpace()
                if (i >= text.length) fail("unterminated array")
                when (text[i++]) {
                    ',' -> continue
                    ']' -> return result
                    else -> fail("expected ',' or ']'")
                }
            }
        }

        private fun readString(): String {
            val out = StringBuilder()
            i++ // the opening quote
            while (true) {
                if (i >= text.length) fail("unterminated string")
                val c = text[i++]
                when {
                    c == '"' -> return out.toString()
                    c == '\\' -> {
                        if (i >= text.length) fail("unterminated escape")
                        when (val e = text[i++]) {
                            '"', '\\', '/' -> out.append(e)
                            'b' -> out.append('\b')
                            'f' -> out.append('\u000c')
                            'n' -> out.append('\n')
                            'r' -> out.append('\r')
                            't' -> out.append('\t')
                            'u' -> {
                                if (i + 4 > text.length) fail("truncated \\u escape")
                                val code = text.substring(i, i + 4).toIntOrNull(16) ?: fail("invalid \\u escape")
                                out.append(code.toChar())
                                i += 4
                            }
                            else -> fail("invalid escape \\$e")
                        }
                    }
                    c < ' ' -> fail("control character in a string")
                    else -> out.append(c)
                }
            }
        }

        private fun readNumber(): Double {
            val start = i
            if (i < text.length && text[i] == '-') i++
            if (i >= text.length || !text[i].isDigit()) fail("invalid value")
            if (text[i] == '0') i++ else while (i < text.length && text[i].isDigit()) i++
            if (i < text.length && text[i] == '.') {
                i++
                if (i >= text.length || !text[i].isDigit()) fail("invalid number")
                while (i < text.length && text[i].isDigit()) i++
            }
            if (i < text.length && (text[i] == 'e' || text[i] == 'E')) {
                i++
                if (i < text.length && (text[i] == '+' || text[i] == '-')) i++
                if (i >= text.length || !text[i].isDigit()) fail("invalid exponent")
                while (i < text.length && text[i].isDigit()) i++
            }
            val number = text.substring(start, i).toDouble()
            if (!number.isFinite()) fail("number out of range")
            return number
        }
    }
}

/**
 * Typed access to one parsed JSON object, naming the path of a missing or mistyped field in its error. [fail] makes
 * the caller's error type (a manifest error, a remote response error), so one reader serves both.
 */
class JsonFields(
    private val values: Map<String, Any?>,
    private val path: String,
    private val fail: (String) -> Exception,
) {
    private fun where(key: String) = if (path.isEmpty()) key else "$path.$key"

    fun has(key: String): Boolean = values.containsKey(key)

    fun raw(key: String): Any? = values[key]

    fun string(key: String): String =
        values[key] as? String ?: throw fail("${where(key)} must be a string, got ${describe(values[key])}")

    fun optString(key: String): String? = if (values[key] == null) null else string(key)

    fun double(key: String): Double =
        (values[key] as? Double) ?: throw fail("${where(key)} must be a number, got ${describe(values[key])}")

    fun int(key: String): Int {
        val number = double(key)
        if (number != Math.rint(number) || Math.abs(number) > Int.MAX_VALUE) {
            throw fail("${where(key)} must be an integer, got $number")
        }
        return number.toInt()
    }

    fun obj(key: String): JsonFields {
        @Suppress("UNCHECKED_CAST")
        val child = values[key] as? Map<String, Any?>
            ?: throw fail("${where(key)} must be an object, got ${describe(values[key])}")
        return JsonFields(child, where(key), fail)
    }

    fun optObj(key: String): JsonFields? = if (values[key] == null) null else obj(key)

    fun doubles(key: String): List<Double> {
        val list = values[key] as? List<*> ?: throw fail("${where(key)} must be a list, got ${describe(values[key])}")
        return list.map { it as? Double ?: throw fail("${where(key)} must hold numbers, got ${describe(it)}") }
    }

    fun ints(key: String): List<Int> = doubles(key).map {
        if (it != Math.rint(it)) throw fail("${where(key)} must hold integers, got $it")
        it.toInt()
    }

    fun strings(key: String): List<String> {
        val list = values[key] as? List<*> ?: throw fail("${where(key)} must be a list, got ${describe(values[key])}")
        return list.map { it as? String ?: throw fail("${where(key)} must hold strings, got ${describe(it)}") }
    }

    /** A list of lists of numbers, e.g. the rows of a matrix. */
    fun doubleRows(key: String): List<List<Double>> {
        val list = values[key] as? List<*> ?: throw fail("${where(key)} must be a list, got ${describe(values[key])}")
        return list.map { row ->
            val numbers = row as? List<*> ?: throw fail("${where(key)} must hold lists of numbers, got ${describe(row)}")
            numbers.map { it as? Double ?: throw fail("${where(key)} must hold lists of numbers, got ${describe(it)}") }
        }
    }

    /** The object itself, for comparisons and for writing it back out. */
    fun toMap(): Map<String, Any?> = values

    companion object {
        internal fun describe(value: Any?): String = when (value) {
            null -> "nothing"
            is String -> "the string \"${value.take(40)}\""
            is Map<*, *> -> "an object"
            is List<*> -> "a list"
            else -> value.toString()
        }
    }
}
