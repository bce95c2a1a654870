/*
 * The demo app's benchmark screen: the preserver measured in the app, written in the same JSON schema as `pgz-bench`
 * (privategaze.benchmark/1, defined in benchmarks/schema.py), so `pgz-bench merge` and `pgz-bench validate` read it.
 *
 * This file cannot be compiled in this repository's CI: there is no Android SDK there (scripts/check_kotlin.sh compiles
 * only the SDK's pure-Kotlin parts). The app module depends on LiteRT (com.google.ai.edge.litert:litert, litert-gpu
 * and litert-gpu-api), which keeps the org.tensorflow.lite package names used below. The manifest is found and its
 * schema checked by the SDK (ModelArtefact, Manifest), the same code that loads the model for the camera screen.
 *
 * Call run() off the main thread: it blocks while the runs take place. It measures Interpreter.run() with direct
 * ByteBuffers, which includes the copies in and out. That is what the app pays per frame; benchmark_model
 * (`pgz-bench android`) times the same model without the Java layer.
 */
package ai.privategaze.demo.benchmark

import ai.privategaze.sdk.Manifest
import ai.privategaze.sdk.ModelArtefact
import android.content.Context
import android.os.Build
import java.io.File
import java.io.FileInputStream
import java.nio.ByteBuffer
import java.nio.ByteOrder
import java.nio.MappedByteBuffer
import java.nio.channels.FileChannel
import java.security.MessageDigest
import java.text.SimpleDateFormat
import java.util.Date
import java.util.Locale
import java.util.Random
import java.util.TimeZone
import java.util.concurrent.CountDownLatch
import java.util.concurrent.TimeUnit
import kotlin.math.ceil
import kotlin.math.floor
import kotlin.math.roundToLong
import kotlin.math.sqrt
import org.json.JSONArray
import org.json.JSONObject
import org.tensorflow.lite.Interpreter
import org.tensorflow.lite.TensorFlowLite
import org.tensorflow.lite.gpu.CompatibilityList
import org.tensorflow.lite.gpu.GpuDelegate

/**
 * One configuration: XNNPACK on [threads] CPU threads, or the GPU delegate with [threads] CPU threads for the
 * operations it leaves to the CPU. The interpreter gets the count explicitly in both cases, and the record says it.
 */
data class BenchmarkConfiguration(val accelerator: String, val threads: Int) {
    init {
        require(accelerator in ACCELERATORS) { "accelerator must be one of $ACCELERATORS, got $accelerator" }
        require(threads > 0) { "$accelerator needs a positive thread count, got $threads" }
    }

    val label: String
        get() = "$accelerator x$threads"

    companion object {
        const val XNNPACK = "xnnpack"
        const val GPU = "gpu"
        val ACCELERATORS = setOf(XNNPACK, GPU)

        /**
         * XNNPACK on 1 thread, on 2 and on every core (counts deduplicated), then the GPU delegate with every core
         * for its CPU fallback: the configurations of `pgz-bench android`.
         */
        fun defaults(cpuCount: Int = Runtime.getRuntime().availableProcessors()): List<BenchmarkConfiguration> =
            listOf(1, 2, cpuCount).distinct().sorted().map { BenchmarkConfiguration(XNNPACK, it) } +
                BenchmarkConfiguration(GPU, cpuCount)
    }
}

/** A configuration that could not run on this device. It goes to the result's "skipped" with this message. */
class SkippedConfiguration(message: String) : Exception(message)

/**
 * Benchmarks one exported preserver ([modelFile], a .tflite from pgz-export) in each configuration. It writes one
 * result file to `filesDir/benchmarks/<device>-<model file stem>-<UTC time>.json` (the time keeps a second run from
 * overwriting the first) and returns that file.
 *
 * The artefact fields and quality figures come from the model's manifest. That is the sidecar `<model>.tflite.json`
 * if the app ships it beside the model; otherwise the `privategaze.manifest` entry embedded in the model's metadata.
 */
class PreserverBenchmark(
    private val context: Context,
    private val modelFile: File,
    private val deviceClass: String,
    private val appVersion: String?,
    private val numRuns: Int = 100,
    private val warmupRuns: Int = 10,
) {
    init {
        require(deviceClass == "phone" || deviceClass == "tablet") {
            "deviceClass is phone or tablet, got $deviceClass"
        }
        require(numRuns >= 1 && warmupRuns >= 0) { "numRuns must be >= 1 and warmupRuns >= 0" }
    }

    /**
     * Runs every configuration and writes the result file.
     *
     * @throws ai.privategaze.sdk.ManifestException the model has no manifest, or one of a schema the app does not read.
     */
    fun run(configurations: List<BenchmarkConfiguration> = BenchmarkConfiguration.defaults()): File {
        val manifest = readManifest(modelFile)
        val artefact = artefactJson(manifest)
        val quality = qualityJson(manifest.optJSONObject("quality"))
        val records = JSONArray()
        val skipped = JSONArray()
        for (configuration in configurations) {
            try {
                records.put(measure(configuration, artefact, quality))
            } catch (e: SkippedConfiguration) {
                skipped.put(
                    JSONObject()
                        .put("artefact", modelFile.name)
                        .put("configuration", configuration.label)
                        .put("reason", e.message ?: "failed"),
                )
            }
        }
        val created = Date()
        val result = JSONObject()
            .put("schema", SCHEMA)
            .put("created_utc", utc(created, "yyyy-MM-dd'T'HH:mm:ss'Z'"))
            .put("tool", JSONObject().put("name", TOOL).put("version", appVersion ?: JSONObject.NULL))
            .put("machine", machineJson())
            .put("records", records)
            .put("skipped", skipped)
        val stamp = utc(created, "yyyyMMdd'T'HHmmss'Z'")
        val name = "${slug(deviceName())}-${modelFile.nameWithoutExtension}-$stamp.json"
        val out = File(File(context.filesDir, "benchmarks"), name)
        out.parentFile?.mkdirs()
        out.writeText(result.toString(2) + "\n")
        return out
    }

    private fun measure(configuration: BenchmarkConfiguration, artefact: JSONObject, quality: Any): JSONObject {
        val baselineKb = vmRssKb() // before the delegate and the interpreter exist
        val options = Interpreter.Options().setNumThreads(configuration.threads)
        val gpu = if (configuration.accelerator == BenchmarkConfiguration.GPU) gpuDelegate() else null
        if (gpu != null) {
            options.addDelegate(gpu)
        } else {
            options.setUseXNNPACK(true)
        }
        // The Interpreter API does not say how many operations a delegate took, so a GPU run cannot be shown to be
        // GPU-only: the operations the delegate rejects run on the CPU threads set above, and the label says so.
        val accelerator = if (gpu != null) GPU_WITH_CPU_FALLBACK else BenchmarkConfiguration.XNNPACK
        val initStart = System.nanoTime()
        val interpreter = try {
            Interpreter(mapModel(modelFile), options)
        } catch (e: Exception) {
            gpu?.close()
            throw SkippedConfiguration("the interpreter could not be created: ${e.message}")
        } catch (e: LinkageError) { // a native library that does not load: skipped, like any other failure here
            gpu?.close()
            throw SkippedConfiguration("the interpreter could not be created: ${describe(e)}")
        }
        val initMs = msSince(initStart)
        try {
            val input = directBuffer(interpreter.getInputTensor(0).numBytes())
            val output = directBuffer(interpreter.getOutputTensor(0).numBytes())
            val random = Random(0)
            while (input.remaining() >= 4) input.putFloat(random.nextFloat()) // the manifest's range is [0, 1]
            val firstMs = timeOnce(interpreter, input, output)
            repeat(warmupRuns) { timeOnce(interpreter, input, output) }
            val (timings, peakKb) = sampleRss { DoubleArray(numRuns) { timeOnce(interpreter, input, output) } }
            val latency = latencySummary(timings, warmupRuns)
            return JSONObject()
                .put("kind", "measured")
                .put("scope", "model")
                .put("batch", 1)
                .put("artefact", artefact)
                .put(
                    "runtime",
                    JSONObject()
                        .put("name", "litert")
                        .put("version", runtimeVersion())
                        .put("accelerator", accelerator)
                        .put("threads", configuration.threads),
                )
                .put("init_ms", round(initMs, 4))
                .put("first_inference_ms", round(firstMs, 4))
                .put("latency_ms", latency)
                .put("throughput_fps", round(1000.0 / latency.getDouble("mean"), 2))
                .put("memory", memoryJson(baselineKb, peakKb))
                .put("quality", quality)
        } catch (e: SkippedConfiguration) {
            throw e
        } catch (e: Exception) {
            throw SkippedConfiguration("inference failed: ${e.message}")
        } catch (e: LinkageError) {
            throw SkippedConfiguration("inference failed: ${describe(e)}")
        } finally {
            interpreter.close()
            gpu?.close()
        }
    }

    /**
     * The GPU delegate, or [SkippedConfiguration]. A missing or broken delegate is often an Error rather than an
     * Exception (NoClassDefFoundError without litert-gpu, UnsatisfiedLinkError when its native library does not
     * load): LinkageError is caught too, so the GPU configuration is skipped and the XNNPACK records still written.
     */
    private fun gpuDelegate(): GpuDelegate {
        var compatibility: CompatibilityList? = null
        try {
            compatibility = CompatibilityList() // inside the try: without litert-gpu this is the line that fails
            if (!compatibility.isDelegateSupportedOnThisDevice) {
                throw SkippedConfiguration("the GPU delegate does not support this device")
            }
            return GpuDelegate(compatibility.bestOptionsForThisDevice)
        } catch (e: SkippedConfiguration) {
            throw e
        } catch (e: Exception) {
            throw SkippedConfiguration("the GPU delegate could not be created: ${e.message}")
        } catch (e: LinkageError) {
            throw SkippedConfiguration("the GPU delegate could not be created: ${describe(e)}")
        } finally {
            compatibility?.close()
        }
    }

    private fun artefactJson(manifest: JSONObject): JSONObject {
        require(manifest.optString("target") == "tflite") { "${modelFile.name}: the manifest's target is not tflite" }
        val sha256 = sha256(modelFile)
        val expected = manifest.optString("sha256")
        require(expected.isEmpty() || expected == sha256) {
            "${modelFile.name} is not the file its manifest describes (sha256 differs): re-export it"
        }
        val preserver = manifest.optJSONObject("preserver") ?: JSONObject()
        val input = manifest.getJSONObject("input")
        val side = if (input.optString("layout", "nchw") == "nhwc") 1 else 2
        return JSONObject()
            .put("name", preserver.optString("name").ifEmpty { manifest.getString("name") })
            .put("file", modelFile.name)
            .put("sha256", sha256)
            .put("size_bytes", modelFile.length())
            .put("arch", preserver.opt("arch") ?: JSONObject.NULL)
            .put("target", "tflite")
            .put("precision", manifest.getString("precision"))
            .put("input_size", preserver.optInt("input_size", input.getJSONArray("shape").getInt(side)))
            .put("width", preserver.opt("width") ?: JSONObject.NULL)
            .put("weights", if (preserver.has("training")) "trained" else "untrained")
            .put("flops", JSONObject.NULL)
            .put("parameters", JSONObject.NULL)
    }

    private fun machineJson(): JSONObject {
        val soc = if (Build.VERSION.SDK_INT >= Build.VERSION_CODES.S) {
            "${Build.SOC_MANUFACTURER} ${Build.SOC_MODEL}".trim()
        } else {
            ""
        }
        val settings = JSONObject().put("num_runs", numRuns).put("warmup_runs", warmupRuns)
        return JSONObject()
            .put("class", deviceClass)
            .put("name", deviceName())
            .put("os", "Android ${Build.VERSION.RELEASE}")
            .put("processor", soc.ifEmpty { Build.HARDWARE })
            .put("cpu_count", Runtime.getRuntime().availableProcessors())
            .put(
                "details",
                JSONObject()
                    .put("abi", Build.SUPPORTED_ABIS.firstOrNull() ?: JSONObject.NULL)
                    .put("sdk", Build.VERSION.SDK_INT)
                    .put("device", Build.DEVICE)
                    .put("hardware", Build.HARDWARE)
                    .put("settings", settings),
            )
    }

    companion object {
        const val SCHEMA = "privategaze.benchmark/1"
        const val TOOL = "privategaze-android-demo benchmark"
        const val GPU_WITH_CPU_FALLBACK = "gpu+cpu"

        private const val RSS_PERIOD_MS = 10L // MEMORY_METHOD says it
        const val MEMORY_METHOD = "VmRSS of the whole app process (/proc/self/status), UI included: peak_mb is " +
            "the largest sample, taken every 10 ms during the timed runs and just before and after them; " +
            "runtime_baseline_mb is the sample before the delegate and the interpreter were created"

        private fun deviceName(): String =
            if (Build.MODEL.startsWith(Build.MANUFACTURER, ignoreCase = true)) Build.MODEL
            else "${Build.MANUFACTURER} ${Build.MODEL}"

        private fun slug(text: String): String = text.lowercase(Locale.US).replace(Regex("[^a-z0-9]+"), "-").trim('-')

        private fun utc(date: Date, pattern: String): String = SimpleDateFormat(pattern, Locale.US)
            .apply { timeZone = TimeZone.getTimeZone("UTC") }
            .format(date)

        private fun runtimeVersion(): Any = try {
            TensorFlowLite.runtimeVersion()
        } catch (e: Exception) {
            JSONObject.NULL
        } catch (e: LinkageError) { // the native library did not load
            JSONObject.NULL
        }

        private fun describe(e: Throwable): String =
            e.message?.let { "${e.javaClass.simpleName}: $it" } ?: e.javaClass.simpleName

        private fun directBuffer(bytes: Int): ByteBuffer =
            ByteBuffer.allocateDirect(bytes).order(ByteOrder.nativeOrder())

        private fun msSince(startNs: Long): Double = (System.nanoTime() - startNs) / 1e6

        private fun round(value: Double, digits: Int): Double {
            var scale = 1.0
            repeat(digits) { scale *= 10.0 }
            return (value * scale).roundToLong() / scale
        }

        private fun timeOnce(interpreter: Interpreter, input: ByteBuffer, output: ByteBuffer): Double {
            input.rewind()
            output.rewind()
            val start = System.nanoTime()
            interpreter.run(input, output)
            return msSince(start)
        }

        private fun mapModel(file: File): MappedByteBuffer =
            FileInputStream(file).channel.use { it.map(FileChannel.MapMode.READ_ONLY, 0, it.size()) }

        private fun sha256(file: File): String {
            val digest = MessageDigest.getInstance("SHA-256")
            file.inputStream().use { stream ->
                val chunk = ByteArray(1 shl 16)
                while (true) {
                    val read = stream.read(chunk)
                    if (read < 0) break
                    digest.update(chunk, 0, read)
                }
            }
            return digest.digest().joinToString("") { "%02x".format(it) }
        }

        /**
         * n, warm-up count, mean, p50, p90, p99, min, max, std, p5 and p95 in ms. Percentiles interpolate linearly
         * between the closest ranks, as numpy's default does, so they agree with the host benchmarks.
         */
        internal fun latencySummary(timingsMs: DoubleArray, warmup: Int): JSONObject {
            val sorted = timingsMs.sortedArray()
            val mean = sorted.average()
            val std = sqrt(sorted.sumOf { (it - mean) * (it - mean) } / sorted.size)
            return JSONObject()
                .put("n", sorted.size)
                .put("warmup", warmup)
                .put("mean", round(mean, 4))
                .put("p50", round(percentile(sorted, 50.0), 4))
                .put("p90", round(percentile(sorted, 90.0), 4))
                .put("p99", round(percentile(sorted, 99.0), 4))
                .put("min", round(sorted.first(), 4))
                .put("max", round(sorted.last(), 4))
                .put("std", round(std, 4))
                .put("p5", round(percentile(sorted, 5.0), 4))
                .put("p95", round(percentile(sorted, 95.0), 4))
        }

        internal fun percentile(sorted: DoubleArray, q: Double): Double {
            val position = q / 100.0 * (sorted.size - 1)
            val lower = floor(position).toInt()
            val upper = ceil(position).toInt()
            return sorted[lower] + (sorted[upper] - sorted[lower]) * (position - lower)
        }

        /** Resident memory of the whole app process now (VmRSS of /proc/self/status), in kB; null if unreadable. */
        private fun vmRssKb(): Long? = try {
            File("/proc/self/status").readLines().firstOrNull { it.startsWith("VmRSS:") }
                ?.removePrefix("VmRSS:")?.trim()?.split(Regex("\\s+"))?.first()?.toLongOrNull()
        } catch (e: Exception) {
            null
        }

        /**
         * Runs [block] while a background thread samples VmRSS every [RSS_PERIOD_MS] ms; returns its result and the
         * largest sample in kB (null if none could be read), the samples just before and after included. VmHWM is no
         * use here: it is the peak since the process started, so each configuration would inherit the earlier ones'.
         */
        private fun <T> sampleRss(block: () -> T): Pair<T, Long?> {
            var peakKb = vmRssKb() ?: -1L
            val done = CountDownLatch(1)
            val sampler = Thread {
                do {
                    vmRssKb()?.let { peakKb = maxOf(peakKb, it) }
                } while (!done.await(RSS_PERIOD_MS, TimeUnit.MILLISECONDS))
            }
            sampler.isDaemon = true
            sampler.start()
            val value = try {
                block()
            } finally {
                done.countDown()
                sampler.join() // peakKb is read only after this, so the sampler's writes are visible
            }
            vmRssKb()?.let { peakKb = maxOf(peakKb, it) }
            return value to peakKb.takeIf { it >= 0 }
        }

        /** The record's memory block: the whole app process, UI included, as [MEMORY_METHOD] says; null if unread. */
        private fun memoryJson(baselineKb: Long?, peakKb: Long?): Any {
            if (peakKb == null) return JSONObject.NULL
            return JSONObject()
                .put("peak_mb", round(peakKb / 1024.0, 2))
                .put("runtime_baseline_mb", baselineKb?.let { round(it / 1024.0, 2) } ?: JSONObject.NULL)
                .put("method", MEMORY_METHOD)
        }

        /** The manifest's task-level figures in the record's shape, as benchmarks/schema.py quality_from_manifest. */
        internal fun qualityJson(quality: JSONObject?): Any {
            val gaze = quality?.optJSONObject("gaze") ?: return JSONObject.NULL
            val identity = quality.optJSONObject("identity") ?: JSONObject()
            val gender = quality.optJSONObject("gender") ?: JSONObject()
            // Every key spelled out, so tests/test_bench_device_files.py can check them against the schema.
            return JSONObject()
                .put("gaze_error_deg", gaze.opt("artefact_deg") ?: JSONObject.NULL)
                .put("gaze_increase_deg", gaze.opt("increase_deg") ?: JSONObject.NULL)
                .put("identity_accuracy", identity.opt("artefact") ?: JSONObject.NULL)
                .put("identity_chance", identity.opt("chance") ?: JSONObject.NULL)
                .put("gender_accuracy", gender.opt("artefact") ?: JSONObject.NULL)
                .put("gender_chance", gender.opt("chance") ?: JSONObject.NULL)
                .put("source", "export validation (manifest quality)")
        }

        /**
         * The sidecar `<model>.json` beside the model if there is one, otherwise the manifest embedded in it, refused
         * unless its schema is one the app reads.
         */
        internal fun readManifest(model: File): JSONObject {
            val text = ModelArtefact.manifestText(model)
            Manifest.parse(text) // the schema check: an unknown manifest schema is an error, not a guess
            return JSONObject(text)
        }
    }
}
