/*
 * The camera screen: live preview, the raw and the obfuscated normalized faces side by side with the returned gaze
 * drawn as an arrow on both, and a status line (engine, time, gaze, errors). The preserver is opened, used and
 * closed on the one analysis thread: LiteRT's GPU delegate is bound to the thread that created it.
 */
package ai.privategaze.demo

import ai.privategaze.sdk.ConfigException
import ai.privategaze.sdk.GazeClient
import ai.privategaze.sdk.PrivateGazeException
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
import java.util.concurrent.ExecutorService
import java.util.concurrent.Executors

class MainActivity : AppCompatActivity() {
    private lateinit var previewView: PreviewView
    private lateinit var rawFace: FaceView
    private lateinit var obfuscatedFace: FaceView
    private lateinit var status: TextView
    private lateinit var analysisThread: ExecutorService
    private var preserver: Preserver? = null
    private var analyzer: FaceAnalyzer? = null

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
        val cameras = ProcessCameraProvider.getInstance(this)
        cameras.addListener({ cameras.get().unbindAll() }, ContextCompat.getMainExecutor(this))
        val (oldAnalyzer, oldPreserver) = analyzer to preserver
        analyzer = null
        preserver = null
        analysisThread.execute { // after the frame in flight, on the thread that created the preserver
            oldAnalyzer?.close()
            oldPreserver?.close()
        }
    }

    override fun onDestroy() {
        analysisThread.shutdown()
        super.onDestroy()
    }

    /** Opens the preserver (settings may have changed since the last start) and binds the camera. */
    private fun start() {
        status.setText(R.string.loading_model)
        val settings = DemoSettings.load(this)
        analysisThread.execute {
            val opened = try {
                LiteRtPreserver.open(ModelFiles.install(this, null), settings.preserverOptions())
            } catch (e: PrivateGazeException) {
                runOnUiThread { status.text = e.message }
                return@execute
            }
            val (client, note) = try {
                settings.gazeClient() to ""
            } catch (e: ConfigException) {
                null as GazeClient? to "gaze API not used: ${e.message}"
            }
            val frameAnalyzer = FaceAnalyzer(opened, client) { result -> runOnUiThread { show(result, note) } }
            runOnUiThread {
                preserver = opened
                analyzer = frameAnalyzer
                status.text = "${opened.manifest.name} on ${opened.backend}. $note"
                bindCamera(frameAnalyzer)
            }
        }
    }

    private fun bindCamera(frameAnalyzer: FaceAnalyzer) {
        val future = ProcessCameraProvider.getInstance(this)
        future.addListener({
            val provider = future.get()
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
        }, ContextCompat.getMainExecutor(this))
    }

    private fun show(result: FrameResult, note: String) {
        // Both faces are in the normalized frame, where the service's gaze is expressed.
        val gaze = result.gaze?.pitchYaw
        rawFace.show(result.rawFace, gaze)
        obfuscatedFace.show(result.obfuscatedFace, gaze)
        status.text = if (note.isEmpty()) result.status else "${result.status}\n$note"
    }
}
