/*
 * The benchmark screen: runs PreserverBenchmark on the app's model and shows where the result file went and how to
 * copy it to a computer. The file is in the project's benchmark schema (privategaze.benchmark/1), so
 * `pgz-bench validate` and `pgz-bench merge` read it beside host results (BENCHMARK.md, section 8).
 */
package ai.privategaze.demo

import ai.privategaze.demo.benchmark.PreserverBenchmark
import android.os.Bundle
import android.widget.ArrayAdapter
import android.widget.Button
import android.widget.Spinner
import android.widget.TextView
import androidx.appcompat.app.AppCompatActivity
import androidx.lifecycle.lifecycleScope
import java.io.File
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.launch
import kotlinx.coroutines.withContext
import org.json.JSONObject

class BenchmarkActivity : AppCompatActivity() {
    override fun onCreate(savedInstanceState: Bundle?) {
        super.onCreate(savedInstanceState)
        setContentView(R.layout.activity_benchmark)
        val deviceClass = findViewById<Spinner>(R.id.device_class)
        val run = findViewById<Button>(R.id.run)
        val status = findViewById<TextView>(R.id.benchmark_status)
        val classes = listOf("phone", "tablet")
        deviceClass.adapter = ArrayAdapter(this, android.R.layout.simple_spinner_dropdown_item, classes)

        run.setOnClickListener {
            run.isEnabled = false
            status.text = "Running: XNNPACK on 1, 2 and every core, then the GPU delegate. Keep the phone still and cool."
            lifecycleScope.launch {
                status.text = try {
                    val file = withContext(Dispatchers.Default) {
                        val model = ModelFiles.install(this@BenchmarkActivity, null)
                        PreserverBenchmark(
                            this@BenchmarkActivity, model, deviceClass = classes[deviceClass.selectedItemPosition],
                            appVersion = BuildConfig.VERSION_NAME,
                        ).run()
                    }
                    summary(file)
                } catch (e: Exception) { // the benchmark's own errors and the SDK's: shown, not crashed on
                    "The benchmark failed: ${e.message}"
                }
                run.isEnabled = true
            }
        }
    }

    private fun summary(file: File): String {
        val result = JSONObject(file.readText())
        val records = result.getJSONArray("records")
        val lines = (0 until records.length()).map { i ->
            val record = records.getJSONObject(i)
            val runtime = record.getJSONObject("runtime")
            val latency = record.getJSONObject("latency_ms")
            "${runtime.getString("accelerator")} x${runtime.get("threads")}: p50 ${latency.getDouble("p50")} ms, " +
                "mean ${latency.getDouble("mean")} ms (n=${latency.getInt("n")})"
        }
        val skipped = result.getJSONArray("skipped")
        val skippedLines = (0 until skipped.length()).map { i ->
            skipped.getJSONObject(i).let { "skipped ${it.optString("configuration")}: ${it.getString("reason")}" }
        }
        val relative = file.relativeTo(filesDir.parentFile!!).path // files/benchmarks/<name>.json
        return (lines + skippedLines).joinToString("\n") + "\n\nWrote $relative. Copy it to the computer with:\n" +
            "adb shell run-as $packageName cat $relative > ${file.name}\npgz-bench validate ${file.name}"
    }
}
