/*
 * What the settings screen stores: the gaze API endpoint, whether to send at all, whether plain http may go to a
 * non-loopback host, and which engine runs the preserver. The client is built from them through the SDK, so the
 * SDK's checks (https, or http to loopback unless allowed) apply to whatever the user types.
 */
package ai.privategaze.demo

import ai.privategaze.sdk.ClientConfig
import ai.privategaze.sdk.GazeClient
import ai.privategaze.sdk.HttpJsonAdapter
import ai.privategaze.sdk.HttpJsonConfig
import ai.privategaze.sdk.android.Accelerator
import ai.privategaze.sdk.android.PreserverOptions
import android.content.Context

data class DemoSettings(
    val endpoint: String = DEFAULT_ENDPOINT,
    val send: Boolean = true,
    val allowInsecureHttp: Boolean = false,
    val accelerator: Accelerator = Accelerator.AUTO,
) {
    /**
     * The gaze client these settings describe, or null when sending is off.
     *
     * @throws ai.privategaze.sdk.ConfigException the endpoint is not a usable URL, or is plain http to a
     *   non-loopback host while [allowInsecureHttp] is off.
     */
    fun gazeClient(): GazeClient? {
        if (!send) return null
        val config = ClientConfig(timeoutS = TIMEOUT_S, allowInsecureHttp = allowInsecureHttp)
        return GazeClient(HttpJsonAdapter(HttpJsonConfig(endpoint.trim())), config)
    }

    fun preserverOptions() = PreserverOptions(accelerator = accelerator)

    fun save(context: Context) {
        context.getSharedPreferences(FILE, Context.MODE_PRIVATE).edit()
            .putString(KEY_ENDPOINT, endpoint)
            .putBoolean(KEY_SEND, send)
            .putBoolean(KEY_INSECURE, allowInsecureHttp)
            .putString(KEY_ACCELERATOR, accelerator.name)
            .apply()
    }

    companion object {
        /**
         * pgz-serve's route on its default port, reached through `adb reverse tcp:8080 tcp:8080`: loopback on the
         * phone, so plain http is allowed without the insecure switch.
         */
        const val DEFAULT_ENDPOINT = "http://127.0.0.1:8080/v1/gaze"

        /** Per attempt; a frame whose gaze comes later than this is stale anyway. */
        const val TIMEOUT_S = 5.0

        private const val FILE = "privategaze-demo"
        private const val KEY_ENDPOINT = "endpoint"
        private const val KEY_SEND = "send"
        private const val KEY_INSECURE = "allow_insecure_http"
        private const val KEY_ACCELERATOR = "accelerator"

        fun load(context: Context): DemoSettings {
            val prefs = context.getSharedPreferences(FILE, Context.MODE_PRIVATE)
            val accelerator = prefs.getString(KEY_ACCELERATOR, null)
                ?.let { name -> Accelerator.values().firstOrNull { it.name == name } } ?: Accelerator.AUTO
            return DemoSettings(
                endpoint = prefs.getString(KEY_ENDPOINT, null) ?: DEFAULT_ENDPOINT,
                send = prefs.getBoolean(KEY_SEND, true),
                allowInsecureHttp = prefs.getBoolean(KEY_INSECURE, false),
                accelerator = accelerator,
            )
        }
    }
}
