/*
 * The camera screen: live preview, the raw and the obfuscated normalized faces side by side with the returned gaze
 * drawn as an arrow on both, and a status line (engine, time, gaze, errors). The preserver is opened, used and
 * closed on the one analysis thread: LiteRT's GPU delegate is bound to the thread that created it.
 *
 * What the analysis thread has open ([loaded]) belongs to that thread: a stop queues its closing there, behind any
 * load still under way, so a model that finishes loading after the activity stopped is closed, never bound. Each
 * start and stop bumps [generation]; a load or a camera binding whose generation is no longer current does nothing.
 */
package ai.privategaze.demo

import ai.privategaze.sdk.GazeClient
import ai.privategaze.sdk.Preserver
import ai.privategaze.sdk.android.LiteRtPreserver
import android.Manifest
import android.content.Intent
import android.content.pm.PackageManager
import android.os.Bundle
import android.widget.Button
import android.widget.TextView
import androidx.activity.result.contract.ActivityResultContracts
import androidx.appcompat.app.AppCompatActivity
import androidx.camera.core.CameraSelector
import androidx.camera.core.ImageAnalysis
import androidx.camera.core.Preview
import androidx.camera.lifecycle.ProcessCameraProvider
import androidx.camera.view.PreviewView
import androidx.core.content.ContextCompat
import java.io.Closeable
import java.util.concurrent.ExecutorService
import java.util.concurrent.Executors

class MainActivity : AppCompatActivity() {
    private lateinit var previewView: PreviewView
    private lateinit var rawFace: FaceView
    private lateinit var obfuscatedFace: FaceView
    private lateinit var status: TextView
    private lateinit var analysisThread: ExecutorService

    /** Written on the main thread, read on the analysis thread too. */
    @Volatile
    private var generation = 0

    /** The analyzer and preserver the analysis thread has open; touched only on that thread. */
    private var loaded: Loaded? = null

    private class Loaded(val analyzer: FaceAnalyzer, val preserver: Preserver) : Closeable {
        override fun close() {
            try {
                analyzer.close()
            } finally {
                preserver.close()
            }
        }
    }

    private val cameraPermission = registerForActivityResult(ActivityResultContracts.RequestPermission()) { granted ->
        if (granted) start() else status.setText(R.string.camera_denied)
    }

    override fun onCreate(savedInstanceState: Bundle?) {
        super.onCreate(savedInstanceState)
        setContentView(R.layout.activity_main)
        previewView = findViewById(R.id.preview)
        rawFace = findViewById(R.id.raw_face)
        obfuscatedFace = findViewById(R.id.obfuscated_face)
        status = findViewById(R.id.status)
        findViewById<Button>(R.id.open_settings).setOnClickListener { startActivity(Intent(this, SettingsActivity::class.java)) }
        findViewById<Button>(R.id.open_benchmark).setOnClickListener { startActivity(Intent(this, BenchmarkActivity::class.java)) }
        analysisThread = Executors.newSingleThreadExecutor()
    }

    override fun onStart() {
        super.onStart()
        if (ContextCompat.checkSelfPermission(this, Manifest.permission.CAMERA) == PackageManager.PERMISSION_GRANTED) {
            start()
        } else {
            cameraPermission.launch(Manifest.permission.CAMERA)
        }
    }

    override fun onStop() {
        super.onStop()
        generation++ // a load under way is no longer wanted: it is closed below, not bound
        val cameras = ProcessCameraProvider.getInstance(this)
        cameras.addListener({
            try {
                cameras.get().unbindAll()
            } catch (e: Exception) { // no camera provider: nothing is bound
            }
        }, ContextCompat.getMainExecutor(this))
        // Queued behind the frame in flight and any load under way, on the thread that created the preserver.
        analysisThread.execute { closeLoaded() }
    }

    override fun onDestroy() {
        analysisThread.shutdown() // onStop's closing task, queued before, still runs
        super.onDestroy()
    }

    /** On the analysis thread. */
    private fun closeLoaded() {
        val old = loaded ?: return
        loaded = null
        try {
            old.close()
        } catch (e: Exception) { // closing is best effort; nothing is left to show it to
        }
    }

    /** Opens the preserver (settings may have changed since the last start) and binds the camera. */
    private fun start() {
        val startedAs = ++generation
        status.setText(R.string.loading_model)
        val settings = DemoSettings.load(this)
        analysisThread.execute {
            closeLoaded() // a second start without a stop between (the permission answer) replaces the first
            val opened = try {
                LiteRtPreserver.open(ModelFiles.install(this, null), settings.preserverOptions())
            } catch (e: Exception) { // the SDK's errors, a missing model asset, I/O: shown, never thrown at the thread
                showProblem(startedAs, "Cannot load the model: ${e.message ?: e.javaClass.simpleName}")
                return@execute
            } catch (e: LinkageError) { // LiteRT's native library does not load on this device
                showProblem(startedAs, "Cannot load the model: ${e.javaClass.simpleName}: ${e.message}")
                return@execute
            }
            val (client, note) = try {
                settings.gazeClient() to ""
            } catch (e: Exception) { // ConfigException: the endpoint in the settings is not usable
                null as GazeClient? to "gaze API not used: ${e.message}"
            }
            val frameAnalyzer = try {
                FaceAnalyzer(opened, client) { result -> runOnUiThread { show(result, note) } }
            } catch (e: Exception) {
                opened.close()
                showProblem(startedAs, "Cannot start the face analysis: ${e.message ?: e.javaClass.simpleName}")
                return@execute
            }
            loaded = Loaded(frameAnalyzer, opened)
            if (startedAs != generation) { // stopped while loading: onStop's task, queued behind, closes them
                return@execute
            }
            runOnUiThread {
                // Stopped or destroyed since: not bound; the closing task onStop queued closes what was opened.
                if (startedAs != generation || isDestroyed) return@runOnUiThread
                status.text = "${opened.manifest.name} on ${opened.backend}. $note"
                bindCamera(frameAnalyzer, startedAs)
            }
        }
    }

    private fun showProblem(startedAs: Int, message: String) {
        runOnUiThread { if (startedAs == generation && !isDestroyed) status.text = message }
    }

    private fun bindCamera(frameAnalyzer: FaceAnalyzer, startedAs: Int) {
        val future = ProcessCameraProvider.getInstance(this)
        future.addListener({
            // The activity may have stopped or gone while the provider was coming: bind nothing then.
            if (isDestroyed || startedAs != generation) return@addListener
            try {
                bindUseCases(future.get(), frameAnalyzer)
            } catch (e: Exception) { // no usable camera, or the provider failed
                status.text = "Cannot start the camera: ${e.message ?: e.javaClass.simpleName}"
            }
        }, ContextCompat.getMainExecutor(this))
    }

    private fun bindUseCases(provider: ProcessCameraProvider, frameAnalyzer: FaceAnalyzer) {
        val preview = Preview.Builder().build().also { it.setSurfaceProvider(previewView.surfaceProvider) }
        val analysis = ImageAnalysis.Builder()
            .setBackpressureStrategy(ImageAnalysis.STRATEGY_KEEP_ONLY_LATEST)
            .setOutputImageFormat(ImageAnalysis.OUTPUT_IMAGE_FORMAT_RGBA_8888)
            .build()
            .also { it.setAnalyzer(analysisThread, frameAnalyzer) }
        val camera = if (provider.hasCamera(CameraSelector.DEFAULT_FRONT_CAMERA)) {
            CameraSelector.DEFAULT_FRONT_CAMERA
        } else {
            CameraSelector.DEFAULT_BACK_CAMERA
        }
        provider.unbindAll()
        provider.bindToLifecycle(this, camera, preview, analysis)
    }

    private fun show(result: FrameResult, note: String) {
        // Both faces are in the normalized frame, where the service's gaze is expressed.
        val gaze = result.gaze?.pitchYaw
        rawFace.show(result.rawFace, gaze)
        obfuscatedFace.show(result.obfuscatedFace, gaze)
        status.text = if (note.isEmpty()) result.status else "${result.status}\n$note"
    }
}
