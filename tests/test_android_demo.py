"""The Android demo (android_demo/) against the Python side it mirrors.

There is no Android SDK here, so these checks read the project's files: the Kotlin SDK reads the manifest under the
names the exporter writes and knows the same schema, key and sidecar facts; it takes the face model from the manifest
and keeps no copy of its numbers; it speaks pgz-serve's dialect with the
Python SDK's defaults; the golden files its JUnit tests compare against are what the Python code computes today; the
README's commands parse with the real CLIs and its paths are what they write; the build files, permissions and network
config are complete. When a Kotlin compiler is available, the pure-Kotlin SDK is compiled and its JUnit tests are run
(scripts/check_kotlin.sh); otherwise that test is skipped with the reason.
"""

from __future__ import annotations

import dataclasses
import importlib
import importlib.metadata
import importlib.util
import json
import math
import os
import re
import shlex
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from test_bench_device_files import KOTLIN_WRITER, kotlin_string_literals

from privategaze.backends.litert import TFLITE_IDENTIFIER, read_embedded_manifest
from privategaze.errors import ConfigError
from privategaze.face import _CENTRED_WITHIN_MM, BOX_FACE_WIDTH_MM, FaceModel
from privategaze.geometry import _MPIIGAZE_FACE_MODEL, FACE_LANDMARKS_6PT, FACE_MODEL_6PT, NormalizationSpec
from privategaze.manifest import KEY as MANIFEST_KEY
from privategaze.manifest import LAYOUTS, Manifest, TensorSpec, artefact_sha256, read_sidecar, sidecar_path
from privategaze.manifest import SCHEMA as MANIFEST_SCHEMA

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "android_demo"
SDK = DEMO / "sdk"
PURE = SDK / "src/main/kotlin/ai/privategaze/sdk"
GLUE = PURE / "android"
APP = DEMO / "app/src/main"
APP_CODE = APP / "kotlin/ai/privategaze/demo"
GOLDEN = SDK / "src/test/resources/golden"
README = DEMO / "README.md"
ANDROID_NS = "{http://schemas.android.com/apk/res/android}"


def source(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def literals(path: Path) -> list[str]:
    return kotlin_string_literals(source(path))


def const(path: Path, name: str) -> str:
    """The value of a Kotlin ``const val NAME = "..."``."""
    match = re.search(rf'const val {name} = "([^"]*)"', source(path))
    assert match, f"no const val {name} in {path.name}"
    return match[1]


def all_keys(tree) -> set[str]:
    if isinstance(tree, dict):
        return set(tree) | {k for v in tree.values() for k in all_keys(v)}
    if isinstance(tree, list):
        return {k for item in tree for k in all_keys(item)}
    return set()


@pytest.fixture(scope="module")
def golden():
    """The golden files' generator, imported from beside them."""
    spec = importlib.util.spec_from_file_location("make_golden", GOLDEN / "make_golden.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def exported(golden) -> tuple[dict, bytes, dict]:
    """What pgz-export writes for a tiny TFLite artefact (its own build_manifest and embed_manifest), NCHW and NHWC."""
    return golden.manifest_golden()


# --- the project's files --------------------------------------------------------------------------------------------

PROJECT_FILES = [
    "settings.gradle.kts",
    "build.gradle.kts",
    "gradle.properties",
    "gradle/libs.versions.toml",
    "gradle/wrapper/gradle-wrapper.properties",
    "sdk/build.gradle.kts",
    "sdk/src/main/AndroidManifest.xml",
    "app/build.gradle.kts",
    "app/src/main/AndroidManifest.xml",
    "app/src/main/res/xml/network_security_config.xml",
    "app/src/main/assets/models/README.md",
    "app/src/main/kotlin/ai/privategaze/demo/benchmark/PreserverBenchmark.kt",
    "BENCHMARK.md",
    "README.md",
]


@pytest.mark.parametrize("name", PROJECT_FILES)
def test_project_file_exists(name):
    assert (DEMO / name).is_file()


def version_catalog() -> dict[str, dict[str, str]]:
    """gradle/libs.versions.toml as {table: {alias: version or version.ref}} (its flat subset of TOML)."""
    catalog: dict[str, dict[str, str]] = {}
    table = None
    for line in source(DEMO / "gradle/libs.versions.toml").splitlines():
        line = line.split("#", 1)[0].strip()  # noqa: PLW2901
        if header := re.fullmatch(r"\[(\w+)\]", line):
            table = catalog.setdefault(header[1], {})
        elif entry := re.fullmatch(r'([\w-]+) = (?:"([^"]+)"|\{.*version\.ref = "([^"]+)".*\})', line):
            table[entry[1]] = entry[2] or entry[3]
        else:
            assert not line, f"libs.versions.toml: unexpected line {line!r}"
    return catalog


def test_settings_include_both_modules_and_the_catalog_resolves():
    assert 'include(":sdk", ":app")' in source(DEMO / "settings.gradle.kts")
    catalog = version_catalog()
    for table in ("libraries", "plugins"):
        for alias, version in catalog[table].items():
            assert version in catalog["versions"], f"{alias} names an unknown version"
    libraries = {alias.replace("-", ".") for alias in catalog["libraries"]}
    plugins = {alias.replace("-", ".") for alias in catalog["plugins"]}
    used = set()
    for build in ("build.gradle.kts", "sdk/build.gradle.kts", "app/build.gradle.kts"):
        code = re.sub(r"//.*", "", source(DEMO / build))  # comments name the catalog file
        for accessor in re.findall(r"\blibs\.([\w.]+)", code):
            used.add(accessor)
            known = plugins if accessor.startswith("plugins.") else libraries
            assert accessor.removeprefix("plugins.") in known, f"{build}: libs.{accessor} is not in the catalog"
    unused = {alias for alias in libraries if alias not in used}
    assert not unused, f"catalog libraries no build uses: {sorted(unused)}"


def test_app_manifest_asks_for_camera_and_internet_and_names_the_network_config():
    root = ET.parse(APP / "AndroidManifest.xml").getroot()
    permissions = {p.get(f"{ANDROID_NS}name") for p in root.iter("uses-permission")}
    assert {"android.permission.CAMERA", "android.permission.INTERNET"} <= permissions
    application = root.find("application")
    assert application.get(f"{ANDROID_NS}networkSecurityConfig") == "@xml/network_security_config"
    activities = {a.get(f"{ANDROID_NS}name"): a.get(f"{ANDROID_NS}exported") for a in application.iter("activity")}
    assert activities == {".MainActivity": "true", ".SettingsActivity": "false", ".BenchmarkActivity": "false"}
    for name in activities:
        assert re.search(rf"\bclass {name[1:]}\b", source(APP_CODE / f"{name[1:]}.kt"))
    sdk_permissions = {p.get(f"{ANDROID_NS}name") for p in ET.parse(SDK / "src/main/AndroidManifest.xml").iter()}
    assert "android.permission.INTERNET" in sdk_permissions


def test_network_config_allows_cleartext_only_to_the_development_hosts():
    config = ET.parse(APP / "res/xml/network_security_config.xml").getroot()
    assert config.find("base-config").get("cleartextTrafficPermitted") == "false"
    (domains,) = config.findall("domain-config")
    assert domains.get("cleartextTrafficPermitted") == "true"
    assert {d.text for d in domains.iter("domain")} == {"127.0.0.1", "localhost", "10.0.2.2"}


def test_kotlin_names_only_resources_that_exist():
    """What aapt would catch: every R.id, R.string and R.layout the app uses is defined, every custom view exists."""
    layouts = {p.stem: source(p) for p in (APP / "res/layout").glob("*.xml")}
    ids = {i for text in layouts.values() for i in re.findall(r"@\+id/(\w+)", text)}
    strings = {s.get("name") for s in ET.parse(APP / "res/values/strings.xml").getroot()}
    code = "\n".join(source(p) for p in APP_CODE.rglob("*.kt"))
    own = r"(?<![\w.])R\."  # the app's R, not android.R
    assert set(re.findall(own + r"id\.(\w+)", code)) <= ids
    assert set(re.findall(own + r"string\.(\w+)", code)) <= strings
    assert set(re.findall(own + r"layout\.(\w+)", code)) <= set(layouts)
    for text in layouts.values():
        assert set(re.findall(r"@string/(\w+)", text)) <= strings
        for view in re.findall(r"<(ai\.privategaze\.[\w.]+)", text):
            assert (APP / "kotlin" / (view.replace(".", "/") + ".kt")).is_file(), view


PLATFORM_PACKAGES = ("android.", "androidx.", "org.tensorflow.", "com.google.", "org.json.")


def test_pure_kotlin_sdk_imports_no_android_code():
    pure = sorted(PURE.glob("*.kt"))
    assert len(pure) >= 20
    for path in pure:
        imports = re.findall(r"^import ([\w.]+)", source(path), re.M)
        platform = [i for i in imports if i.startswith(PLATFORM_PACKAGES)]
        assert not platform, f"{path.name} imports {platform}: Android glue belongs in {GLUE.relative_to(DEMO)}"
    glue = {p.name for p in GLUE.glob("*.kt")}
    assert {"LiteRtEngine.kt", "LiteRtPreserver.kt", "BitmapImages.kt", "MlKitLandmarks.kt"} <= glue


def test_only_the_preserver_makes_obfuscated_faces():
    """The egress rule by type: an internal constructor, called in one place, and a client that takes nothing else."""
    assert "class ObfuscatedFace internal constructor(" in source(PURE / "ObfuscatedFace.kt")
    made = re.compile(r"\bObfuscatedFace\(\s*\n?\s*image")
    callers = [p.name for p in SDK.rglob("src/main/**/*.kt") if made.search(source(p))]
    assert callers == ["Preserver.kt"]
    assert "internal interface InferenceEngine" in source(PURE / "Preserver.kt")
    assert "fun estimate(face: ObfuscatedFace): GazeResult" in source(PURE / "GazeClient.kt")
    assert "fun buildRequest(face: ObfuscatedFace): HttpRequest" in source(PURE / "HttpJsonAdapter.kt")


# --- the manifest: names, schema, key --------------------------------------------------------------------------------

KOTLIN_FIELD_READS = re.compile(
    r'\.(?:string|optString|double|int|obj|optObj|doubles|ints|strings|doubleRows|has)\("(\w+)"\)'
)


def kotlin_manifest_reads() -> set[str]:
    return set(KOTLIN_FIELD_READS.findall(source(PURE / "Manifest.kt")))


def python_needs() -> set[str]:
    """The manifest fields the Python SDK needs to run a model, from its own code (no hand-made list)."""
    required = {f.name for f in dataclasses.fields(Manifest) if f.default is f.default_factory is dataclasses.MISSING}
    seen: set[str] = set()

    class Recording(dict):
        def get(self, key, default=None):
            seen.add(key)
            return super().get(key, default)

    manifest = Manifest.from_json((GOLDEN / "embedded.tflite.json").read_text())
    manifest = dataclasses.replace(manifest, preserver=Recording(manifest.preserver))
    _ = manifest.blackbox, manifest.anchor_sha256  # what an ObfuscatedImage carries
    tensor = {f.name for f in dataclasses.fields(TensorSpec)}
    normalization = {f.name for f in dataclasses.fields(NormalizationSpec)}
    face_model = {"face_model"} | {f.name for f in dataclasses.fields(FaceModel)}  # optional in Python, not on a phone
    return required | seen | tensor | normalization | face_model | {"schema"}


def test_kotlin_reads_the_manifest_under_the_names_the_exporter_writes(exported):
    sidecar, _, nhwc = exported
    reads = kotlin_manifest_reads()
    assert reads, "the pattern found no field reads in Manifest.kt"
    written = all_keys(sidecar) | all_keys(nhwc)
    assert not reads - written, f"Kotlin reads fields the exporter does not write: {sorted(reads - written)}"
    assert not python_needs() - reads - {"schema"}, f"fields Kotlin does not read: {sorted(python_needs() - reads)}"
    assert 'document["schema"]' in source(PURE / "Manifest.kt")  # the schema is checked before any field is read


def test_kotlin_constants_are_the_pythons():
    manifest_kt = PURE / "Manifest.kt"
    assert const(manifest_kt, "SCHEMA") == MANIFEST_SCHEMA
    assert const(manifest_kt, "KEY") == MANIFEST_KEY
    layouts = re.search(r"val LAYOUTS = listOf\(([^)]*)\)", source(manifest_kt))[1]
    assert re.findall(r'"(\w+)"', layouts) == list(LAYOUTS)
    sidecar_keys = re.search(r"val SIDECAR_KEYS = setOf\(([^)]*)\)", source(manifest_kt))[1]
    _, facts = read_sidecar(GOLDEN / "embedded.tflite.json")
    assert set(re.findall(r'"(\w+)"', sidecar_keys)) == set(facts)
    assert const(PURE / "TfliteMetadata.kt", "IDENTIFIER") == TFLITE_IDENTIFIER.decode()
    assert MANIFEST_KEY in literals(manifest_kt) and MANIFEST_SCHEMA in literals(manifest_kt)


# --- the face model: from the manifest, never copied -----------------------------------------------------------------


def test_the_exporter_writes_the_sdks_face_model(exported):
    sidecar, _, nhwc = exported
    expected = {
        "landmarks": list(FACE_LANDMARKS_6PT),
        "points_mm": FACE_MODEL_6PT.tolist(),
        "box_face_width_mm": BOX_FACE_WIDTH_MM,
    }
    assert sidecar["face_model"] == nhwc["face_model"] == FaceModel().to_dict() == expected
    assert Manifest.from_dict(sidecar).face_model == FaceModel()


def test_kotlin_decodes_the_face_model_under_the_exporters_names(exported):
    sidecar, _, _ = exported
    manifest_kt = source(PURE / "Manifest.kt")
    keys = re.search(r"val KEYS = setOf\(([^)]*)\)", manifest_kt[manifest_kt.index("data class FaceModel") :])[1]
    assert set(re.findall(r'"(\w+)"', keys)) == set(sidecar["face_model"])
    assert 'faceModel = FaceModel.parse(fields.obj("face_model"))' in manifest_kt
    assert 'if (document["face_model"] == null)' in manifest_kt  # required: an older export is refused with the fix
    # The names the SDK gives its detectors' points are the exporter's landmark names.
    landmarks_kt = source(PURE / "FaceLandmarks.kt")
    indices = re.search(r"val FACE_MESH_INDICES: Map<String, Int> = mapOf\((.*?)\n\s*\)", landmarks_kt, re.S)[1]
    assert set(re.findall(r'"(\w+)" to \d+', indices)) == set(sidecar["face_model"]["landmarks"])
    contours = re.search(r"fun fromEyeContours\(.*?\n        }\n", landmarks_kt, re.S)[0]
    assert set(re.findall(r'"(\w+)" to ', contours)) == set(FACE_LANDMARKS_6PT)


def test_kotlin_checks_the_face_model_is_centred_as_python():
    """The SDK takes a head pose's translation as the face centre, so `FaceModel` refuses an off-centre model with
    Python's tolerance (the manifest does not carry it, so the literal is compared here)."""
    manifest_kt = source(PURE / "Manifest.kt")
    face_model = manifest_kt[manifest_kt.index("data class FaceModel") : manifest_kt.index("data class TensorSpec")]
    tolerance = re.search(r"const val CENTRED_WITHIN_MM = ([0-9.eE+-]+)\n", face_model)
    assert tolerance and float(tolerance[1]) == _CENTRED_WITHIN_MM
    assert "if (center.norm > CENTRED_WITHIN_MM) {" in face_model
    assert "must be centred on the face centre" in face_model
    off_centre = FaceModel().to_dict()
    off_centre["points_mm"] = [[x, y + 5.0, z] for x, y, z in off_centre["points_mm"]]  # ManifestTest's model
    with pytest.raises(ConfigError, match="must be centred on the face centre"):
        FaceModel.from_dict(off_centre)


NUMBER_LITERAL = re.compile(r"(?<![\w.])\d+(?:\.\d+)?(?:[eE][-+]?\d+)?(?![\w.])")


def face_model_literals(text: str) -> list[str]:
    """The number literals in `text` that look like a face-model coordinate (the MPIIGaze model or the centred one)
    or the box face width: three or more significant digits, within 0.1% of one of them."""
    numbers = {abs(v) for v in [*FACE_MODEL_6PT.ravel(), *_MPIIGAZE_FACE_MODEL.ravel()] if v} | {BOX_FACE_WIDTH_MM}
    found = []
    for literal in NUMBER_LITERAL.findall(text):
        digits = re.sub(r"[eE].*", "", literal).replace(".", "").lstrip("0")
        if len(digits) >= 3 and any(math.isclose(float(literal), n, rel_tol=1e-3) for n in numbers):
            found.append(literal)
    return found


def test_face_model_literals_finds_copies():
    assert face_model_literals("Vec3(-45.0967681126441, -0.483773045049757, 2.397) x 34.78 y 145.0 z 145") == [
        "45.0967681126441", "0.483773045049757", "2.397", "34.78", "145.0", "145",
    ]  # fmt: skip
    assert face_model_literals("size 32, 0.5, 1e-6, 600.0, 960.0, 14.5, v2, 0x145") == []


def test_no_kotlin_source_copies_the_face_model():
    """The SDK, its unit tests and the app take the face model from the manifest (golden files hold the numbers)."""
    sources = [*SDK.rglob("src/**/*.kt"), *APP.rglob("*.kt")]
    assert len(sources) > 30
    copies = {p.relative_to(DEMO).as_posix(): face_model_literals(source(p)) for p in sources}
    assert not {path: found for path, found in copies.items() if found}


def test_benchmark_screen_reads_the_manifest_through_the_sdk():
    writer = source(KOTLIN_WRITER)
    assert "import ai.privategaze.sdk.Manifest\n" in writer and "ModelArtefact.manifestText(model)" in writer
    assert "embeddedManifest" not in writer  # one flatbuffer reader, the SDK's


# --- the golden files the JUnit tests compare against ---------------------------------------------------------------


def assert_close(fresh, committed, where="") -> None:
    if isinstance(fresh, dict):
        assert isinstance(committed, dict) and set(fresh) == set(committed), f"{where}: keys differ"
        for key in fresh:
            assert_close(fresh[key], committed[key], f"{where}.{key}")
    elif isinstance(fresh, list):
        assert isinstance(committed, list) and len(fresh) == len(committed), f"{where}: lengths differ"
        for i, (a, b) in enumerate(zip(fresh, committed, strict=True)):
            assert_close(a, b, f"{where}[{i}]")
    elif isinstance(fresh, float) and not isinstance(committed, bool):
        # 1e-8, not 1e-9: the head-pose fit (numpy SVD start, then Levenberg-Marquardt via np.linalg.solve) rounds
        # differently with the CPU's BLAS/LAPACK kernels (1.1e-9 seen on a fresh CI machine); the JUnit tests read
        # the fitted pose and what derives from it at 1e-6.
        assert math.isclose(fresh, committed, rel_tol=1e-8, abs_tol=1e-8), f"{where}: {fresh} != {committed}"
    else:
        assert fresh == committed, f"{where}: {fresh!r} != {committed!r}"


REGENERATE = "regenerate with .venv/bin/python android_demo/sdk/src/test/resources/golden/make_golden.py"


def test_golden_geometry_is_what_the_python_sdk_computes(golden):
    committed = json.loads((GOLDEN / "geometry.json").read_text())
    try:
        assert_close(golden.geometry_golden(), committed)
    except AssertionError as error:
        raise AssertionError(f"{error}; {REGENERATE}") from error


def test_golden_manifests_are_what_the_exporter_writes(exported):
    sidecar, _, nhwc = exported
    varies = {"sha256", "size_bytes"}  # the flatbuffer's bytes follow the installed ai-edge-litert
    for written, name in ((sidecar, "embedded.tflite.json"), (nhwc, "manifest-nhwc.json")):
        committed = json.loads((GOLDEN / name).read_text())
        fresh = json.loads(json.dumps(written))  # tuples as the file has them, lists
        assert {k: v for k, v in fresh.items() if k not in varies} == {
            k: v for k, v in committed.items() if k not in varies
        }, f"{name} drifted from the exporter; {REGENERATE}"
    committed = json.loads((GOLDEN / "embedded.tflite.json").read_text())
    model = GOLDEN / "embedded.tflite"
    assert artefact_sha256(model) == (committed["sha256"], committed["size_bytes"])
    assert sidecar_path(model).name == "embedded.tflite.json"
    embedded = read_embedded_manifest(model.read_bytes(), str(model))
    assert embedded == {k: v for k, v in committed.items() if k not in read_sidecar(model)[1]}


def test_golden_service_answer_is_pgz_serves(golden):
    assert golden.service_golden() == json.loads((GOLDEN / "gaze_response.json").read_text()), REGENERATE


# --- the gaze API: pgz-serve's dialect and the Python SDK's defaults -------------------------------------------------


class _Echo:
    name, input_size = "echo", 32

    def query(self, images):
        return [[0.0, 0.0]] * len(images)


def test_the_sdk_speaks_pgz_serve_with_the_python_sdks_defaults():
    from privategaze.adapters.http_json import HttpJsonConfig
    from privategaze.adapters.response import ResponseSpec
    from privategaze.training.service.app import GazeAngles, GazeResponse, create_app
    from privategaze.training.service.config import ServeConfig
    from privategaze.training.service.request import FILE_FIELD

    adapter = source(PURE / "HttpJsonAdapter.kt")
    image_field = re.search(r'val imageField: String = "(\w+)"', adapter)[1]
    assert image_field == FILE_FIELD == HttpJsonConfig("https://x/y").image_field
    response = PURE / "ResponseSpec.kt"
    pitch, yaw = const(response, "DEFAULT_PITCH"), const(response, "DEFAULT_YAW")
    assert (pitch, yaw) == (ResponseSpec().pitch_path, ResponseSpec().yaw_path)
    assert pitch.split(".")[0] in GazeResponse.model_fields
    assert {pitch.split(".")[1], yaw.split(".")[1]} == set(GazeAngles.model_fields)

    endpoint = urlsplit(const(APP_CODE / "DemoSettings.kt", "DEFAULT_ENDPOINT"))
    assert endpoint.hostname == ServeConfig.host and endpoint.port == ServeConfig.port
    routes = {route.path for route in create_app(_Echo()).routes}
    assert endpoint.path in routes


def kotlin_default(text: str, name: str) -> str:
    match = re.search(rf"val {name}: [\w<>?]+ = (.+?),?\n", text)
    assert match, f"no default for {name}"
    return match[1].strip()


def test_retry_and_timeout_defaults_are_the_python_clients():
    from privategaze.client import ClientConfig
    from privategaze.retry import RetryPolicy

    kotlin = source(PURE / "RetryPolicy.kt")
    for field in dataclasses.fields(RetryPolicy):
        camel = re.sub(r"_(\w)", lambda m: m[1].upper(), field.name)
        value = kotlin_default(kotlin, camel)
        python = getattr(RetryPolicy(), field.name)
        if isinstance(python, tuple):
            assert sorted(int(v) for v in re.findall(r"\d+", value)) == sorted(python), field.name
        else:
            assert float(value) == python, field.name
    assert float(kotlin_default(kotlin, "timeoutS")) == ClientConfig().timeout_s


# --- the README -------------------------------------------------------------------------------------------------------


def readme_commands() -> list[list[str]]:
    """Every shell command of the README's bash blocks, continuation lines joined."""
    blocks = re.findall(r"```bash\n(.*?)```", source(README), re.S)
    lines = "\n".join(blocks).replace("\\\n", " ").splitlines()
    return [shlex.split(line.split("#", 1)[0]) for line in lines if line.strip() and not line.startswith("#")]


def table_commands() -> list[list[str]]:
    """The commands in the README's tables (its prose names commands without their arguments)."""
    rows = [line for line in source(README).splitlines() if line.startswith("|")]
    return [shlex.split(c) for row in rows for c in re.findall(r"`(pgz-[^`]+)`", row)]


def cli_parser(command: str):
    """The argparse parser of an installed `pgz-*` command (its entry point's module's `build_parser`)."""
    (script,) = (e for e in importlib.metadata.entry_points(group="console_scripts") if e.name == command)
    return importlib.import_module(script.module).build_parser()


def test_readme_pgz_commands_parse_with_the_real_clis():
    commands = [c for c in readme_commands() + table_commands() if c and c[0].startswith("pgz-")]
    assert {"pgz-train", "pgz-export", "pgz-serve", "pgz-bench"} <= {c[0] for c in commands}
    for command in commands:
        try:
            cli_parser(command[0]).parse_args(command[1:])
        except SystemExit as exit_:
            raise AssertionError(f"README command does not parse: {shlex.join(command)}") from exit_


def parsed(name: str, first: str | None = None):
    """The first README command `name` (whose first argument is `first`, if given), parsed."""
    for command in readme_commands():
        if command and command[0] == name and (first is None or command[1] == first):
            return cli_parser(name).parse_args(command[1:])
    raise AssertionError(f"the README has no {name} {first or ''} command")


def test_readme_paths_are_what_the_documented_commands_write():
    from privategaze.export.cli import configs
    from privategaze.export.exporter import artefact_name
    from privategaze.export.registry import TARGETS
    from privategaze.training.estimator import estimator_config
    from privategaze.training.preserver import preserver_config

    text = source(README)
    train = parsed("pgz-train", "preserver")
    preserver = preserver_config(train.arch, train.preset, width=train.width)
    # pgz-train preserver names its output so (training/cli.py `_preserver`, without sweep tags).
    name = f"{preserver.arch}-w{preserver.width}-{preserver.size}px-for-{train.blackbox}"
    trained = Path(train.runs) / "preservers" / name
    export = parsed("pgz-export")
    assert Path(export.preserver) == trained
    (config,) = configs(export)
    assert config.target == "tflite"
    checkpoint = Path(export.preserver)
    out = Path(export.out) if export.out else Path(export.runs) / "exports" / checkpoint.name  # as pgz-export does
    model = out / f"{artefact_name(checkpoint, config)}{TARGETS[config.target].suffix}"
    copy = next(c for c in readme_commands() if c[0] == "cp")
    assert copy[1:-1] == [str(model), str(sidecar_path(model))]
    assert Path(copy[-1]) == (APP / "assets/models").relative_to(ROOT)
    assert const(APP_CODE / "ModelFiles.kt", "ASSET_DIR") == "models"

    serve = parsed("pgz-serve")
    blackbox = next(c for c in readme_commands() if c[:2] == ["pgz-train", "estimator"] and "blackbox" in c)
    estimator = cli_parser("pgz-train").parse_args(blackbox[1:])
    (arch,) = estimator.arch  # the README trains one black box here
    served = estimator_config(arch, estimator.role, estimator.preset).name
    assert Path(serve.estimator) == Path(estimator.runs) / "estimators" / served
    assert f"preserver --blackbox {served}" in text  # the preserver is trained for the black box that is served

    application_id = re.search(r'applicationId = "([\w.]+)"', source(DEMO / "app/build.gradle.kts"))[1]
    assert f"adb shell run-as {application_id} cat files/benchmarks/" in text
    assert 'File(context.filesDir, "benchmarks")' in source(KOTLIN_WRITER)


def test_readme_links_resolve():
    for target in re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", source(README)):
        if not target.startswith("http"):
            assert (DEMO / target).exists(), f"README links to missing {target}"


# --- compiling the pure-Kotlin SDK -----------------------------------------------------------------------------------


def test_pure_kotlin_sdk_compiles_and_its_unit_tests_pass(tmp_path):
    """Runs scripts/check_kotlin.sh (~40 s on 2 cores): compile the pure-Kotlin SDK and its JUnit tests, run them."""
    env = {**os.environ, "CHECK_KOTLIN_OUT": str(tmp_path / "check-kotlin")}
    script = ["bash", str(ROOT / "scripts/check_kotlin.sh")]
    run = subprocess.run(script, check=False, capture_output=True, text=True, env=env, timeout=600)
    if run.returncode == 3:
        pytest.skip(f"no usable Kotlin compiler: {run.stderr.strip()}")
    output = run.stdout + run.stderr
    assert run.returncode == 0, output[-4000:]
    pure = sorted(p.name for p in PURE.glob("*.kt"))
    assert f"main sources ({len(pure)}): {' '.join(pure)}" in run.stdout
    if "JUnit tests not run" in run.stdout:
        pytest.skip(
            "the main sources compiled, but no JUnit 4 jar exists, so the JUnit tests did not run "
            "(apt-get install junit4, or set JUNIT_JAR and HAMCREST_JAR)"
        )
    assert re.search(r"^OK \(\d+ tests\)$", run.stdout, re.M), output[-4000:]
