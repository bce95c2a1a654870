// The PrivateGaze Android SDK: load an exported preserver and its manifest, normalize a face from six landmarks,
// run the preserver on LiteRT, send only obfuscated faces to a gaze API. The pure-Kotlin part (everything outside
// ai/privategaze/sdk/android/) has no Android dependency; scripts/check_kotlin.sh compiles and tests it on a JVM.
plugins {
    alias(libs.plugins.android.library)
    alias(libs.plugins.kotlin.android)
}

android {
    namespace = "ai.privategaze.sdk"
    compileSdk = 35

    defaultConfig {
        minSdk = 26 // java.util.Base64 and java.time in the pure-Kotlin code
        consumerProguardFiles("consumer-rules.pro")
    }

    compileOptions {
        sourceCompatibility = JavaVersion.VERSION_17
        targetCompatibility = JavaVersion.VERSION_17
    }

    sourceSets["main"].java.srcDirs("src/main/kotlin")
    sourceSets["test"].java.srcDirs("src/test/kotlin")
}

kotlin {
    compilerOptions { jvmTarget.set(org.jetbrains.kotlin.gradle.dsl.JvmTarget.JVM_17) }
}

dependencies {
    implementation(libs.litert)
    implementation(libs.litert.gpu)
    implementation(libs.litert.gpu.api)
    // Only MlKitLandmarks.kt uses ML Kit; apps that detect faces with MediaPipe do not pull it in.
    compileOnly(libs.mlkit.face.detection)
    testImplementation(libs.junit)
}
