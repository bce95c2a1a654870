#!/usr/bin/env bash
# Compile the Android SDK's pure-Kotlin sources (android_demo/sdk/src/main/kotlin/ai/privategaze/sdk/*.kt, no
# android.* imports) together with their JUnit 4 tests (android_demo/sdk/src/test/), and run the tests on the JVM.
# The Android glue (sdk/.../android/, the app) needs the Android SDK and Gradle: open android_demo/ in Android Studio.
#
#   scripts/check_kotlin.sh             use kotlinc from $KOTLINC, PATH or the cache below; exit 3 if there is none
#   scripts/check_kotlin.sh --install   first fetch the Kotlin compiler (npm package kotlin-compiler) into the cache,
#                                       and JUnit 4 (Debian package junit4) when running as root with apt-get
#   scripts/check_kotlin.sh --install-only   fetch them and stop (CI does this, then tests/test_android_demo.py compiles)
#
# PRIVATEGAZE_MODEL=path/to/<name>.tflite also checks a real pgz-export artefact and its sidecar with the Kotlin reader.
# Without a JUnit jar only the main sources are compiled. Output goes to android_demo/sdk/build/check-kotlin/.
# Exit status: 0 compiled (and tests passed; with --install-only: kotlinc is there), 1 a compile error or a failed test,
# 2 usage, 3 no usable kotlinc, 4 the compiler could not be fetched.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

KOTLIN_VERSION=2.4.20 # the npm package's version; the JVM compiler inside it is the same release
CACHE="${PRIVATEGAZE_CACHE:-$HOME/.cache/privategaze}"
# The language and API level Gradle builds the SDK with (libs.versions.toml: kotlin = "2.1.0"), so a newer kotlinc
# here does not accept code that the app's compiler would refuse.
KOTLIN_LEVEL=2.1
MIN_KOTLIN=$KOTLIN_LEVEL # an older kotlinc refuses -language-version $KOTLIN_LEVEL
SDK=android_demo/sdk
OUT="${CHECK_KOTLIN_OUT:-$SDK/build/check-kotlin}"

install=0
install_only=0
case "${1:-}" in
  "") ;;
  --install) install=1 ;;
  --install-only) install=1 install_only=1 ;;
  *) echo "usage: $0 [--install | --install-only]" >&2; exit 2 ;;
esac

version_of() { "$1" -version 2>&1 | sed -n 's/.*kotlinc-jvm \([0-9][0-9.]*\).*/\1/p' | head -n 1; }
new_enough() { [ -n "$1" ] && [ "$(printf '%s\n%s\n' "$MIN_KOTLIN" "$1" | sort -V | head -n 1)" = "$MIN_KOTLIN" ]; }

find_kotlinc() {
  local candidate version
  for candidate in "${KOTLINC:-}" "$(command -v kotlinc || true)" "$CACHE/kotlin-compiler-$KOTLIN_VERSION/bin/kotlinc"; do
    [ -n "$candidate" ] && [ -x "$candidate" ] || continue
    version="$(version_of "$candidate")"
    if new_enough "$version"; then
      echo "$candidate"
      return 0
    fi
    echo "skipping $candidate: Kotlin ${version:-of unknown version} is older than $MIN_KOTLIN" >&2
  done
  return 1
}

if [ "$install" = 1 ] && ! find_kotlinc >/dev/null 2>&1; then
  command -v npm >/dev/null || { echo "Error: --install needs npm to fetch the kotlin-compiler package" >&2; exit 4; }
  mkdir -p "$CACHE"
  work="$(mktemp -d)"
  trap 'rm -rf "$work"' EXIT
  if ! (cd "$work" && timeout 300 npm pack --silent --fetch-retries=1 "kotlin-compiler@$KOTLIN_VERSION" >/dev/null); then
    echo "Error: npm could not fetch kotlin-compiler@$KOTLIN_VERSION" >&2
    exit 4
  fi
  tar -xzf "$work"/kotlin-compiler-*.tgz -C "$work"
  rm -rf "$CACHE/kotlin-compiler-$KOTLIN_VERSION"
  mv "$work/package" "$CACHE/kotlin-compiler-$KOTLIN_VERSION"
  rm -rf "$work"
fi

JUNIT="${JUNIT_JAR:-/usr/share/java/junit4.jar}"
HAMCREST="${HAMCREST_JAR:-/usr/share/java/hamcrest-core.jar}"
if [ "$install" = 1 ] && [ ! -f "$JUNIT" ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq junit4; } >/dev/null ||
    echo "warning: junit4 could not be installed; only the main sources will be compiled" >&2
fi

if ! kotlinc="$(find_kotlinc)"; then
  echo "no kotlinc >= $MIN_KOTLIN: set KOTLINC, put one on PATH, or run $0 --install" >&2
  exit 3
fi
if [ "$install_only" = 1 ]; then
  echo "kotlinc: $kotlinc; junit: $([ -f "$JUNIT" ] && echo "$JUNIT" || echo "none (main sources only)")"
  exit 0
fi
kotlin_home="$(cd "$(dirname "$(readlink -f "$kotlinc")")/.." && pwd)"
stdlib="$kotlin_home/lib/kotlin-stdlib.jar"

mapfile -t main_sources < <(find "$SDK/src/main/kotlin/ai/privategaze/sdk" -maxdepth 1 -name '*.kt' | LC_ALL=C sort)
mapfile -t test_sources < <(find "$SDK/src/test/kotlin" -name '*.kt' | LC_ALL=C sort)
if grep -l '^import android\.' "${main_sources[@]}"; then
  echo "Error: the files above import android.*; Android glue belongs in $SDK/src/main/kotlin/ai/privategaze/sdk/android/" >&2
  exit 1
fi

echo "kotlinc: $kotlinc ($("$kotlinc" -version 2>&1 | sed -n 's/^info: //p' | head -n 1))"
level=(-language-version "$KOTLIN_LEVEL" -api-version "$KOTLIN_LEVEL" -Xsuppress-version-warnings) # 2.1 is deliberate
echo "language and API version: $KOTLIN_LEVEL (as Gradle's Kotlin)"
echo "main sources (${#main_sources[@]}): ${main_sources[*]##*/}"
rm -rf "$OUT"
mkdir -p "$OUT"
start=$SECONDS
if [ -f "$JUNIT" ] && [ -f "$HAMCREST" ]; then
  echo "test sources (${#test_sources[@]}): ${test_sources[*]##*/}"
  echo "junit: $JUNIT"
  # One compilation: the tests share the module of the code they test (Kotlin's `internal`), as in Gradle.
  "$kotlinc" "${level[@]}" -cp "$JUNIT" -d "$OUT/classes" "${main_sources[@]}" "${test_sources[@]}"
  echo "compiled $((${#main_sources[@]} + ${#test_sources[@]})) files in $((SECONDS - start)) s"
  mapfile -t test_classes < <(cd "$OUT/classes" && find . -name '*Test.class' ! -name '*$*' | sed 's|^\./||; s|\.class$||; s|/|.|g' | sort)
  # PRIVATEGAZE_MODEL=<name>.tflite also verifies a real export against its sidecar (ManifestTest).
  java -Dprivategaze.model="${PRIVATEGAZE_MODEL:-}" -cp "$OUT/classes:$SDK/src/test/resources:$stdlib:$JUNIT:$HAMCREST" \
    org.junit.runner.JUnitCore "${test_classes[@]}"
else
  echo "no JUnit 4 jar at $JUNIT (set JUNIT_JAR and HAMCREST_JAR, or run $0 --install as root): compiling main only"
  "$kotlinc" "${level[@]}" -d "$OUT/classes" "${main_sources[@]}"
  echo "compiled ${#main_sources[@]} files in $((SECONDS - start)) s; JUnit tests not run"
fi
