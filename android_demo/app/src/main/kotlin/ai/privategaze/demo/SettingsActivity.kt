/*
 * The settings screen: the gaze API endpoint and how the preserver runs. Saving builds the client through the SDK
 * first, so an endpoint the SDK would refuse (plain http to a LAN address without the insecure switch, a malformed
 * URL) is reported here with the SDK's message instead of failing on the camera screen.
 */
package ai.privategaze.demo

import ai.privategaze.sdk.ConfigException
import ai.privategaze.sdk.android.Accelerator
import android.os.Bundle
import android.widget.ArrayAdapter
import android.widget.Button
import android.widget.EditText
import android.widget.Spinner
import android.widget.TextView
import android.widget.Toast
import androidx.appcompat.app.AppCompatActivity
import com.google.android.material.materialswitch.MaterialSwitch

class SettingsActivity : AppCompatActivity() {
    override fun onCreate(savedInstanceState: Bundle?) {
        super.onCreate(savedInstanceState)
        setContentView(R.layout.activity_settings)
        val endpoint = findViewById<EditText>(R.id.endpoint)
        val send = findViewById<MaterialSwitch>(R.id.send)
        val insecure = findViewById<MaterialSwitch>(R.id.insecure)
        val accelerator = findViewById<Spinner>(R.id.accelerator)
        val error = findViewById<TextView>(R.id.settings_error)
        val accelerators = Accelerator.values().toList()
        accelerator.adapter = ArrayAdapter(this, android.R.layout.simple_spinner_dropdown_item, accelerators.map { it.name })

        val current = DemoSettings.load(this)
        endpoint.setText(current.endpoint)
        send.isChecked = current.send
        insecure.isChecked = current.allowInsecureHttp
        accelerator.setSelection(accelerators.indexOf(current.accelerator))

        findViewById<Button>(R.id.save).setOnClickListener {
            val settings = DemoSettings(
                endpoint = endpoint.text.toString().trim(),
                send = send.isChecked,
                allowInsecureHttp = insecure.isChecked,
                accelerator = accelerators[accelerator.selectedItemPosition],
            )
            try {
                settings.gazeClient() // the SDK's checks, now rather than on the camera screen
            } catch (e: ConfigException) {
                error.text = e.message
                return@setOnClickListener
            }
            settings.save(this)
            Toast.makeText(this, R.string.saved, Toast.LENGTH_SHORT).show()
            finish()
        }
    }
}
