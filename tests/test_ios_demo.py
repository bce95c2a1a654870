"""The iOS demo and SDK (ios_demo/) against the Python side, without a Swift compiler.

No Swift toolchain runs here, so nothing Swift is compiled or executed (the XCTests do that on a Mac). What can drift
between the two sides is checked from the sources instead:

- every manifest field the Swift SDK and the benchmark screen decode is one `pgz-export --target coreml` writes,
  under the same name, in real exports of a tiny preserver made through the CLI; the face model among them, so that
  no Swift source holds its numbers;
- the constants Swift keeps (the metadata key and schema, the landmark names, the client's defaults, the reference
  service's field names) equal Python's;
- the XCTests' fixtures are what `make_fixtures.py` writes today;
- only the SDK's `Preserver` makes an `ObfuscatedFace`;
- the Info.plist, Package.swift and the hand-written Xcode project are complete and consistent;
- the README's commands exist with those options, and produce the files the app looks for.
"""

from __future__ import annotations

import base64
import importlib.metadata
import importlib.util
import json
import math
import plistlib
import re
import shlex
import sys
from pathlib import Path

import pytest
from test_android_demo import face_model_literals

from privategaze import client, geometry, retry
from privategaze.adapters.http_json import HttpJsonConfig
from privategaze.adapters.response import MAX_ABS_ANGLE_RAD, ResponseSpec
from privategaze.errors import ConfigError
from privategaze.face import _CENTRED_WITHIN_MM, BOX_FACE_WIDTH_MM, FaceModel
from privategaze.manifest import KEY, LAYOUTS, SCHEMA, Manifest, sidecar_path

pytestmark = pytest.mark.export

ROOT = Path(__file__).resolve().parents[1]
IOS = ROOT / "ios_demo"
SDK = IOS / "PrivateGazeSDK"
SOURCES = SDK / "Sources" / "PrivateGazeSDK"
FIXTURES = SDK / "Tests" / "PrivateGazeSDKTests" / "Fixtures"
APP = IOS / "PrivateGazeDemo"
APP_SOURCES = APP / "PrivateGazeDemo"
PBXPROJ = APP / "PrivateGazeDemo.xcodeproj" / "project.pbxproj"
BENCHMARK_SWIFT = APP_SOURCES / "Benchmark" / "PreserverBenchmark.swift"
README = IOS / "README.md"
HEX_ID = re.compile(r"^[0-9A-F]{24}$")


def swift(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def blank_strings_and_comments(source: str) -> str:
    """`source` with string literals' contents and comments replaced by spaces: same offsets, no stray braces."""
    out, i = list(source), 0
    while i < len(source):
        if source.startswith("//", i):
            end = source.find("\n", i)
            end = len(source) if end < 0 else end
        elif source.startswith("/*", i):
            end = source.index("*/", i) + 2
        elif source.startswith('"""', i):
            end = source.index('"""', i + 3) + 3
        elif source[i] == '"':
            end = i + 1
            while source[end] != '"':
                end += 2 if source[end] == "\\" else 1
            end += 1
        else:
            i += 1
            continue
        out[i:end] = [c if c == "\n" else " " for c in source[i:end]]
        i = end
    return "".join(out)


def block_after(source: str, header: str) -> str:
    """The brace-delimited body following the first match of regex `header`."""
    blank = blank_strings_and_comments(source)
    match = re.search(header, blank)
    assert match, f"no {header!r}"
    start = blank.index("{", match.end() - 1)
    depth = 0
    for end in range(start, len(blank)):
        depth += {"{": 1, "}": -1}.get(blank[end], 0)
        if depth == 0:
            return source[start + 1 : end]
    raise AssertionError(f"unbalanced braces after {header!r}")


def codable_fields(source: str, struct: str) -> dict[str, bool]:
    """{JSON key: required} of a Codable struct: its stored `let`s, named through its CodingKeys."""
    body = block_after(source, rf"\bstruct {struct}\b[^{{]*\{{")
    keys_body = block_after(body, r"\benum CodingKeys\b[^{]*\{")
    names = {}
    for line in keys_body.splitlines():
        if case := re.match(r"\s*case (.+)", line):
            for item in case[1].split(","):
                prop, _, raw = item.partition("=")
                names[prop.strip()] = raw.strip().strip('"') or prop.strip()
    top_level = re.sub(r"\{[^{}]*\}", "", blank_strings_and_comments(body))
    while re.search(r"\{[^{}]*\}", top_level):
        top_level = re.sub(r"\{[^{}]*\}", "", top_level)
    stored = dict(re.findall(r"^\s*(?:public\s+)?let (\w+): ([^\n=]+?)\s*$", top_level, re.MULTILINE))
    assert set(stored) == set(names), f"{struct}: stored properties {sorted(stored)} vs CodingKeys {sorted(names)}"
    return {names[prop]: not kind.endswith("?") for prop, kind in stored.items()}


def load_make_fixtures():
    path = FIXTURES / "make_fixtures.py"
    spec = importlib.util.spec_from_file_location("ios_make_fixtures", path)
    module = importlib.util.module_from_spec(spec)
    writes_bytecode, sys.dont_write_bytecode = sys.dont_write_bytecode, True  # no __pycache__ in the test bundle
    try:
        spec.loader.exec_module(module)
    finally:
        sys.dont_write_bytecode = writes_bytecode
    return module


@pytest.fixture(scope="module")
def make_fixtures():
    return load_make_fixtures()


@pytest.fixture(scope="module")
def fresh(make_fixtures, tmp_path_factory):
    """The fixtures written now, through `pgz-export --target coreml` on a tiny untrained preserver (~10 s)."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        out = tmp_path_factory.mktemp("ios-fixtures")
        make_fixtures.build(out)
    finally:
        torch.set_num_threads(threads)
    return out


def manifest_part(sidecar: dict) -> dict:
    return {key: value for key, value in sidecar.items() if key not in ("sha256", "size_bytes", "file")}


@pytest.fixture(scope="module")
def exported(fresh) -> dict[str, dict]:
    return {io: json.loads((fresh / f"tiny-{io}.mlpackage.json").read_text()) for io in ("image", "tensor")}


# --- the manifest: what Swift decodes is what pgz-export writes ------------------------------------------------------


MANIFEST_SWIFT = SOURCES / "Manifest" / "Manifest.swift"
FACE_MODEL_SWIFT = SOURCES / "Geometry" / "FaceModel.swift"
# Codable struct: (its source, the manifest block it decodes; None for the top level).
BLOCKS = {
    "Manifest": (MANIFEST_SWIFT, None),
    "TensorSpec": (MANIFEST_SWIFT, "input"),
    "NormalizationSpec": (MANIFEST_SWIFT, "normalization"),
    "PreserverInfo": (MANIFEST_SWIFT, "preserver"),
    "FaceModel": (FACE_MODEL_SWIFT, "face_model"),
}


@pytest.mark.parametrize("io_type", ["image", "tensor"])
@pytest.mark.parametrize("struct", sorted(BLOCKS))
def test_swift_decodes_manifest_fields_under_the_exporters_names(exported, io_type, struct):
    path, key = BLOCKS[struct]
    fields = codable_fields(swift(path), struct)
    block = manifest_part(exported[io_type])
    block = block if key is None else block[key]
    assert set(fields) <= set(block), f"{struct} decodes keys pgz-export does not write: {set(fields) - set(block)}"
    if struct in ("TensorSpec", "NormalizationSpec", "FaceModel"):  # the geometry: required, never a default
        assert all(fields.values()), fields


def test_normalization_is_decoded_whole(exported):
    """The virtual camera is the geometry the app must not guess: Swift requires every field Python's spec has."""
    fields = codable_fields(swift(MANIFEST_SWIFT), "NormalizationSpec")
    assert fields == dict.fromkeys(geometry.NormalizationSpec().to_dict(), True)
    assert set(exported["image"]["normalization"]) == set(fields)


def test_the_face_model_is_decoded_whole_and_required(exported):
    """The face model is geometry the app must not guess either: Swift requires the block and every key of it, and
    refuses an older export without it, naming the fix."""
    fields = codable_fields(swift(FACE_MODEL_SWIFT), "FaceModel")
    assert fields == dict.fromkeys(FaceModel().to_dict(), True)
    assert codable_fields(swift(MANIFEST_SWIFT), "Manifest")["face_model"] is True
    assert 'guard fields["face_model"] != nil else {' in swift(MANIFEST_SWIFT)
    for sidecar in exported.values():
        assert set(sidecar["face_model"]) == set(fields)


def test_exports_carry_the_sdks_face_model(exported):
    expected = {
        "landmarks": list(geometry.FACE_LANDMARKS_6PT),
        "points_mm": geometry.FACE_MODEL_6PT.tolist(),
        "box_face_width_mm": BOX_FACE_WIDTH_MM,
    }
    for sidecar in exported.values():
        assert sidecar["face_model"] == FaceModel().to_dict() == expected
        assert Manifest.from_dict(sidecar).face_model == FaceModel()


def test_swift_names_the_landmarks_as_the_exporter(exported):
    named = block_after(swift(FACE_MODEL_SWIFT), r"public var named: \[String: Point2\]")
    assert set(re.findall(r'"(\w+)": \w+', named)) == set(exported["image"]["face_model"]["landmarks"])


def test_swift_checks_the_face_model_is_centred_as_python():
    """The SDK takes a head pose's translation as the face centre, so `FaceModel.validate()` refuses an off-centre
    model with Python's tolerance (the manifest does not carry it, so the literal is compared here)."""
    source = swift(FACE_MODEL_SWIFT)
    tolerance = re.search(r"^    static let centredWithinMm = ([0-9.eE+-]+)$", source, re.MULTILINE)
    assert tolerance and float(tolerance[1]) == _CENTRED_WITHIN_MM
    validate = block_after(source, r"\bfunc validate\(\) throws")
    assert "guard center.norm <= Self.centredWithinMm else {" in validate
    assert "must be centred on the face centre" in validate
    off_centre = FaceModel().to_dict()
    off_centre["points_mm"] = [[x, y + 5.0, z] for x, y, z in off_centre["points_mm"]]  # ManifestTests' model
    with pytest.raises(ConfigError, match="must be centred on the face centre"):
        FaceModel.from_dict(off_centre)


def test_no_swift_source_copies_the_face_model():
    """The SDK, its XCTests and the app take the face model from the manifest (the fixtures hold the numbers)."""
    sources = sorted(IOS.rglob("*.swift"))
    assert len(sources) > 30
    copies = {p.relative_to(IOS).as_posix(): face_model_literals(swift(p)) for p in sources}
    assert not {path: found for path, found in copies.items() if found}


def test_swift_names_the_schema_key_and_layouts_as_python(fresh):
    source = swift(MANIFEST_SWIFT)
    assert re.search(rf'static let schemaVersion = "{re.escape(SCHEMA)}"', source)
    assert re.search(rf'static let metadataKey = "{re.escape(KEY)}"', source)
    layouts = re.findall(r"^\s*case (\w+)$", block_after(source, r"\benum TensorLayout\b[^{]*\{"), re.MULTILINE)
    assert tuple(layouts) == LAYOUTS
    import coremltools as ct

    packages = sorted((fresh / "packages").glob("*/*.mlpackage"))
    assert len(packages) == 2
    for package in packages:
        assert KEY in ct.utils.load_spec(str(package)).description.metadata.userDefined


def test_sidecar_file_facts_are_the_exporters(exported):
    source = swift(SOURCES / "Manifest" / "Sidecar.swift")
    listed = set(re.findall(r'"(\w+)"', re.search(r"fileFactKeys: Set<String> = \[([^\]]*)\]", source)[1]))
    for sidecar in exported.values():
        assert listed == set(sidecar) - set(Manifest.from_dict(sidecar).to_dict())


def test_exports_give_the_layouts_the_preserver_handles(exported):
    """Image I/O comes as uint8 in [0, 255] (a pixel buffer), tensor I/O as float32 NCHW in [0, 1] (TensorCodec)."""
    image, tensor = exported["image"]["input"], exported["tensor"]["input"]
    assert (image["layout"], image["dtype"]) == ("image", "uint8")
    assert (tensor["layout"], tensor["dtype"], tensor["value_range"]) == ("nchw", "float32", [0.0, 1.0])
    codec = swift(SOURCES / "Image" / "TensorCodec.swift")
    assert f'spec.dtype == "{tensor["dtype"]}"' in codec
    assert image["color"] == tensor["color"] == "RGB" and 'color == "RGB"' in swift(MANIFEST_SWIFT)


def test_benchmark_screen_reads_fields_the_exporter_writes(exported):
    source = swift(BENCHMARK_SWIFT)
    manifest = manifest_part(exported["image"])
    top = set(re.findall(r'fields\["(\w+)"\]', source))
    preserver = set(re.findall(r'preserver\["(\w+)"\]', source))
    io = set(re.findall(r'\(fields\["(?:input|output)"\] as\? \[String: Any\]\)\?\["(\w+)"\]', source))
    assert top <= set(manifest), top - set(manifest)
    assert preserver <= set(manifest["preserver"]), preserver - set(manifest["preserver"])
    assert io and io <= set(manifest["input"])


# --- constants Swift keeps must be Python's ----------------------------------------------------------------------


def swift_numbers(text: str) -> list[float]:
    return [float(n) for n in re.findall(r"-?\d+\.\d+(?:e-?\d+)?|-?\d+", text)]


def test_client_defaults_are_pythons():
    source = swift(SOURCES / "Remote" / "RetryPolicy.swift")
    standard = re.search(r"static let standard = RetryPolicy\((.*?)\n    \)", source, re.DOTALL)[1]
    values = dict(re.findall(r"(\w+): (\[[^\]]*\]|[\d.]+)", standard))
    python = retry.RetryPolicy()
    assert int(values["uncheckedMaxAttempts"]) == python.max_attempts
    for swift_name, python_name in [
        ("backoffS", "backoff_s"), ("backoffMultiplier", "backoff_multiplier"), ("maxBackoffS", "max_backoff_s"),
        ("jitter", "jitter"), ("maxRetryAfterS", "max_retry_after_s"),
    ]:  # fmt: skip
        assert float(values[swift_name]) == getattr(python, python_name), swift_name
    assert swift_numbers(values["retryStatuses"]) == list(python.retry_statuses)
    assert int(re.search(r"maxAttemptsLimit = (\d+)", source)[1]) == retry.MAX_ATTEMPTS_LIMIT
    config = re.search(r"static let standard = ClientConfig\((.*?)\n    \)", source, re.DOTALL)[1]
    defaults = client.ClientConfig()
    assert float(re.search(r"checkedTimeoutS: ([\d.]+)", config)[1]) == defaults.timeout_s
    assert "allowInsecureHTTP: false" in config and defaults.allow_insecure_http is False
    assert "maxResponseBytes: 1 << 20" in config and defaults.max_response_bytes == 1 << 20
    gaze_client = swift(SOURCES / "Remote" / "GazeClient.swift")
    assert int(re.search(r"errorBodyBytes = (\d+)", gaze_client)[1]) == client._ERROR_BODY_BYTES


def test_default_request_and_answer_are_the_reference_services():
    from privategaze.training.service.app import GazeAngles, GazeResponse
    from privategaze.training.service.request import FILE_FIELD

    http = swift(SOURCES / "Remote" / "HTTPJSONAPI.swift")
    response = swift(SOURCES / "Remote" / "ResponseSpec.swift")
    image_field = re.search(r'imageField: String = "(\w+)"', http)[1]
    assert image_field == FILE_FIELD == HttpJsonConfig(url="https://x.example/v1").image_field
    paths = re.search(r'checkedPitchPath: "([\w.]+)", yawPath: "([\w.]+)"', response).groups()
    assert paths == (ResponseSpec().pitch_path, ResponseSpec().yaw_path)
    assert paths == ("gaze.pitch", "gaze.yaw") and set(GazeResponse.model_fields) >= {"gaze", "units"}
    assert set(GazeAngles.model_fields) == {"pitch", "yaw"} and GazeResponse.model_fields["units"].default == "rad"
    assert "maxAbsAngleRad = Double.pi" in response and math.pi == MAX_ABS_ANGLE_RAD


# --- the XCTests' fixtures are current ----------------------------------------------------------------------------


def without(tree, keys: frozenset[str]):
    if isinstance(tree, dict):
        return {k: without(v, keys) for k, v in tree.items() if k not in keys}
    if isinstance(tree, list):
        return [without(v, keys) for v in tree]
    return tree


def assert_close(got, want, where: str = "") -> None:
    """Equal, floats to 1e-8 (numpy's BLAS/LAPACK kernels round the head-pose fit differently on other CPUs: 1.1e-9
    seen), warped pixels to one step."""
    if isinstance(want, dict):
        assert isinstance(got, dict) and set(got) == set(want), where
        for key in want:
            assert_close(got[key], want[key], f"{where}.{key}")
    elif isinstance(want, list):
        assert isinstance(got, list) and len(got) == len(want), where
        for index, (a, b) in enumerate(zip(got, want, strict=True)):
            assert_close(a, b, f"{where}[{index}]")
    elif isinstance(want, float):
        assert got == pytest.approx(want, rel=1e-8, abs=1e-8), where
    elif where.endswith("warped_rgb_base64"):
        a, b = base64.b64decode(got), base64.b64decode(want)
        assert len(a) == len(b) and max(abs(x - y) for x, y in zip(a, b, strict=True)) <= 1, where
    else:
        assert got == want, where


@pytest.mark.parametrize("name", ["tiny-image.mlpackage.json", "tiny-tensor.mlpackage.json"])
def test_committed_sidecars_are_what_pgz_export_writes_today(make_fixtures, fresh, name):
    committed, now = json.loads((FIXTURES / name).read_text()), json.loads((fresh / name).read_text())
    assert set(committed) == set(now)
    assert without(committed, make_fixtures.VOLATILE_KEYS) == without(now, make_fixtures.VOLATILE_KEYS)


def test_committed_reference_is_what_python_computes_today(make_fixtures, fresh):
    committed = json.loads((FIXTURES / "python-reference.json").read_text())
    now = json.loads((fresh / "python-reference.json").read_text())
    volatile = make_fixtures.VOLATILE_KEYS
    embedded = [without(json.loads(r.pop("embedded_manifest_image")), volatile) for r in (committed, now)]
    assert embedded[0] == embedded[1]
    assert_close(committed, now, "reference")
    for path in (fresh / "hash-tree").rglob("*"):
        if path.is_file():
            assert (FIXTURES / path.relative_to(fresh)).read_bytes() == path.read_bytes()


def test_embedded_manifest_is_the_sidecars(fresh):
    """The XCTest compares the embedded string with the sidecar as `Sidecar.describesSameArtefact` does."""
    reference = json.loads((fresh / "python-reference.json").read_text())
    sidecar = json.loads((fresh / "tiny-image.mlpackage.json").read_text())
    assert json.loads(reference["embedded_manifest_image"]) == manifest_part(sidecar)
    assert Manifest.from_json(reference["embedded_manifest_image"]).to_json() == reference["embedded_manifest_image"]


# --- egress ----------------------------------------------------------------------------------------------------------


def test_only_the_preserver_makes_an_obfuscated_face():
    declaration = swift(SOURCES / "Egress" / "ObfuscatedFace.swift")
    initializer = re.search(r"^(\s*)((?:\w+ )*)init\(\s*pixels: RGBImage", declaration, re.MULTILINE)
    assert initializer and not {"public", "open"} & set(initializer[2].split()), "the initializer must stay internal"
    makers = {
        path.relative_to(IOS).as_posix()
        for path in IOS.rglob("*.swift")
        if "Tests" not in path.parts and re.search(r"\bObfuscatedFace\(", blank_strings_and_comments(swift(path)))
    }
    assert makers == {"PrivateGazeSDK/Sources/PrivateGazeSDK/CoreML/Preserver.swift"}
    gaze_client = blank_strings_and_comments(swift(SOURCES / "Remote" / "GazeClient.swift"))
    assert "public func estimate(_ face: ObfuscatedFace) async throws -> GazeResult" in gaze_client
    api = swift(SOURCES / "Remote" / "HTTPJSONAPI.swift")
    assert "func makeRequest(for face: ObfuscatedFace) throws -> URLRequest" in api


# --- the app's files ------------------------------------------------------------------------------------------------


def test_info_plist_has_the_privacy_and_network_keys():
    info = plistlib.loads((APP_SOURCES / "Info.plist").read_bytes())
    for key in ("NSCameraUsageDescription", "NSLocalNetworkUsageDescription"):
        assert len(info[key]) > 40, key  # a real sentence: App Review rejects placeholders
    assert info["NSAppTransportSecurity"] == {"NSAllowsLocalNetworking": True}, "local networking only, nothing more"
    assert info["UIFileSharingEnabled"] is True and info["LSSupportsOpeningDocumentsInPlace"] is True  # BENCHMARK.md
    assert info["CFBundleIdentifier"] == "$(PRODUCT_BUNDLE_IDENTIFIER)"
    assert info["UISupportedInterfaceOrientations"] == ["UIInterfaceOrientationPortrait"]  # frames rotated to portrait


def package_swift() -> str:
    return swift(SDK / "Package.swift")


def test_package_swift_declares_the_library_and_its_tests():
    source = package_swift()
    version = re.match(r"// swift-tools-version:(\d+)\.(\d+)", source)
    assert version and (int(version[1]), int(version[2])) >= (5, 9)
    assert '.library(name: "PrivateGazeSDK", targets: ["PrivateGazeSDK"])' in source
    assert '.target(name: "PrivateGazeSDK")' in source
    assert re.search(r'\.testTarget\(\s*name: "PrivateGazeSDKTests",\s*dependencies: \["PrivateGazeSDK"\]', source)
    assert 'resources: [.copy("Fixtures")]' in source and FIXTURES.is_dir()
    assert ".iOS(.v17)" in source
    tests = sorted(p.name for p in (SDK / "Tests" / "PrivateGazeSDKTests").glob("*Tests.swift"))
    assert {"ManifestTests.swift", "GeometryTests.swift", "GazeClientTests.swift"} <= set(tests)
    assert all(p.suffix == ".swift" for p in SOURCES.rglob("*") if p.is_file())


def test_ios_deployment_target_is_the_exporters():
    """The project, the package and the converter agree on iOS 17: older systems cannot load the packages."""
    coreml = (ROOT / "export" / "targets" / "coreml.py").read_text()
    assert "minimum_deployment_target=ct.target.iOS17" in coreml
    settings = [c["buildSettings"] for c in pbx_objects("XCBuildConfiguration")]
    assert {s.get("IPHONEOS_DEPLOYMENT_TARGET") for s in settings} == {"17.0"}


# A minimal OpenStep property-list reader: what project.pbxproj is written in.


def parse_openstep(text: str):
    pos = 0

    def skip() -> None:
        nonlocal pos
        while pos < len(text):
            if text[pos].isspace():
                pos += 1
            elif text.startswith("/*", pos):
                pos = text.index("*/", pos) + 2
            elif text.startswith("//", pos):
                pos = text.index("\n", pos) + 1
            else:
                return

    def value():
        nonlocal pos
        skip()
        char = text[pos]
        if char == "{":
            pos += 1
            result = {}
            while True:
                skip()
                if text[pos] == "}":
                    pos += 1
                    return result
                key = value()
                skip()
                assert text[pos] == "=", f"expected '=' at {pos}: {text[pos - 40 : pos + 40]!r}"
                pos += 1
                assert key not in result, f"duplicate key {key}"
                result[key] = value()
                skip()
                assert text[pos] == ";", f"expected ';' at {pos}: {text[pos - 40 : pos + 40]!r}"
                pos += 1
        if char == "(":
            pos += 1
            items = []
            while True:
                skip()
                if text[pos] == ")":
                    pos += 1
                    return items
                items.append(value())
                skip()
                if text[pos] == ",":
                    pos += 1
        if char == '"':
            end = pos + 1
            out = []
            while text[end] != '"':
                if text[end] == "\\":
                    out.append({"n": "\n", "t": "\t", '"': '"', "\\": "\\"}[text[end + 1]])
                    end += 2
                else:
                    out.append(text[end])
                    end += 1
            pos = end + 1
            return "".join(out)
        token = re.match(r"[A-Za-z0-9_$./\-+]+", text[pos:])
        assert token, f"unexpected {text[pos : pos + 40]!r}"
        pos += len(token[0])
        return token[0]

    assert text.startswith("// !$*UTF8*$!\n")
    result = value()
    skip()
    assert pos == len(text), "trailing text after the root dictionary"
    return result


def pbx() -> dict:
    return parse_openstep(PBXPROJ.read_text(encoding="utf-8"))


def pbx_objects(isa: str) -> list[dict]:
    return [o for o in pbx()["objects"].values() if o["isa"] == isa]


def referenced_ids(tree) -> set[str]:
    if isinstance(tree, dict):
        return {i for v in tree.values() for i in referenced_ids(v)}
    if isinstance(tree, list):
        return {i for v in tree for i in referenced_ids(v)}
    return {tree} if HEX_ID.match(tree) else set()


def test_xcode_project_ids_are_unique_and_resolve():
    text = PBXPROJ.read_text(encoding="utf-8")
    defined = re.findall(r"^\t\t([0-9A-Z]{24}) (?:/\*.*?\*/ )?= \{", text, re.MULTILINE)
    assert len(defined) == len(set(defined)), "an object ID is defined twice"
    project = pbx()
    objects = project["objects"]
    assert set(defined) == set(objects) and all(HEX_ID.match(i) for i in objects)
    assert referenced_ids(objects) | {project["rootObject"]} <= set(objects), "an ID refers to no object"
    assert project["objectVersion"] == "60" and objects[project["rootObject"]]["isa"] == "PBXProject"


def group_paths(objects: dict, group_id: str, base: Path) -> dict[str, Path]:
    """{file reference ID: path on disk} under a group, following each group's `path`."""
    group = objects[group_id]
    here = base / group["path"] if "path" in group and group.get("sourceTree") == "<group>" else base
    found = {}
    for child in group.get("children", []):
        item = objects[child]
        if item["isa"] == "PBXGroup":
            found |= group_paths(objects, child, here)
        elif item["isa"] == "PBXFileReference" and item.get("sourceTree") == "<group>":
            found[child] = here / item["path"]
    return found


def test_xcode_project_builds_every_app_source_with_the_sdk():
    objects = pbx()["objects"]
    (project,) = pbx_objects("PBXProject")
    files = group_paths(objects, project["mainGroup"], APP)
    assert all(path.exists() for path in files.values()), [p for p in files.values() if not p.exists()]
    (target,) = pbx_objects("PBXNativeTarget")
    assert target["productType"] == "com.apple.product-type.application"
    phases = {objects[p]["isa"]: objects[p] for p in target["buildPhases"]}
    compiled = {files[objects[b]["fileRef"]] for b in phases["PBXSourcesBuildPhase"]["files"]}
    assert compiled == set(APP_SOURCES.rglob("*.swift")), "every app Swift file in the Sources phase, and only those"
    assert BENCHMARK_SWIFT in compiled
    (dependency,) = [objects[d] for d in target["packageProductDependencies"]]
    package = objects[dependency["package"]]
    assert package["isa"] == "XCLocalSwiftPackageReference"
    assert (APP / package["relativePath"]).resolve() == SDK.resolve()
    assert f'.library(name: "{dependency["productName"]}"' in package_swift()
    linked = [objects[b].get("productRef") for b in phases["PBXFrameworksBuildPhase"]["files"]]
    assert linked == target["packageProductDependencies"]
    script = phases["PBXShellScriptBuildPhase"]
    assert "xcrun coremlcompiler compile" in script["shellScript"] and '"${SRCROOT}/Models"' in script["shellScript"]
    assert (APP / "Models" / "README.md").is_file()


def test_xcode_build_settings_are_the_documented_ones():
    target_settings = target_configurations()
    for settings in target_settings:
        assert (APP / settings["INFOPLIST_FILE"]).resolve() == (APP_SOURCES / "Info.plist").resolve()
        assert settings["GENERATE_INFOPLIST_FILE"] == "NO"
        assert settings["SWIFT_VERSION"] == "5.0"  # BENCHMARK.md: Swift 5 language mode
        assert settings["ENABLE_USER_SCRIPT_SANDBOXING"] == "NO"  # the model phase reads Models/ without a file list
        assert settings["COREML_CODEGEN_LANGUAGE"] == "None"
        assert settings["TARGETED_DEVICE_FAMILY"] == "1,2"  # iPhone and iPad, as the benchmark runs on both
    bundle_ids = {s["PRODUCT_BUNDLE_IDENTIFIER"] for s in target_settings}
    assert len(bundle_ids) == 1 and f"--domain-identifier {bundle_ids.pop()}" in README.read_text()


def target_configurations() -> list[dict]:
    objects = pbx()["objects"]
    (target,) = pbx_objects("PBXNativeTarget")
    configurations = objects[target["buildConfigurationList"]]["buildConfigurations"]
    return [objects[c]["buildSettings"] for c in configurations]


# --- the README's commands -------------------------------------------------------------------------------------------


def readme_commands(path: Path = README) -> list[list[str]]:
    """Every command line of the fenced bash blocks, continuation lines joined, comments dropped."""
    blocks = re.findall(r"```bash\n(.*?)```", path.read_text(), re.DOTALL)
    commands = []
    for block in blocks:
        for line in block.replace("\\\n", " ").splitlines():
            words = shlex.split(line, comments=True)
            if words:
                commands.append(words)
    return commands


def parsers() -> dict:
    from privategaze.benchmarks.cli import build_parser as bench
    from privategaze.export.cli import build_parser as export
    from privategaze.training.service.cli import build_parser as serve

    return {"pgz-export": export(), "pgz-serve": serve(), "pgz-bench": bench()}


def test_readme_commands_are_console_scripts_with_those_options():
    scripts = {entry.name for entry in importlib.metadata.distribution("privategaze").entry_points}
    tools = parsers()
    used = [words for words in readme_commands() if words[0].startswith("pgz-")]
    assert {words[0] for words in used} == set(tools), "the README shows export, serve and bench"
    for words in used:
        assert words[0] in scripts, words[0]
        tools[words[0]].parse_args(words[1:])  # SystemExit (a failed test) for an unknown option or subcommand


def test_readme_install_line_names_real_extras():
    extras = importlib.metadata.metadata("privategaze").get_all("Provides-Extra")
    (line,) = re.findall(r"pip install -e '\.\[([\w,]+)\]'", README.read_text())
    assert set(line.split(",")) <= set(extras)


def test_documented_export_writes_the_files_the_app_copies_and_finds(fresh, make_fixtures):
    """The README's export command writes <preserver>.<precision>.mlpackage and its sidecar into runs/exports/<name>;
    its `cp` takes both kinds of file, and the app looks for exactly those names (a compiled <stem>.mlmodelc with
    <stem>.mlpackage.json beside it, or the package itself with its sidecar)."""
    from privategaze.export.config import ExportConfig
    from privategaze.export.exporter import artefact_name
    from privategaze.export.registry import TARGETS

    (export,) = [words for words in readme_commands() if words[0] == "pgz-export"]
    args = parsers()["pgz-export"].parse_args(export[1:])
    checkpoint = Path(args.preserver)
    out = Path(args.runs) / "exports" / checkpoint.name
    name = artefact_name(checkpoint, ExportConfig("coreml", "int8")) + TARGETS["coreml"].suffix
    text = README.read_text()
    assert f"`{out.as_posix()}/`" in text and f"`{name}`" in text and f"`{name}.json`" in text
    assert sidecar_path(name).name == f"{name}.json"
    (copy,) = [words for words in readme_commands() if words[0] == "cp"]
    assert copy[-1] == "ios_demo/PrivateGazeDemo/Models/" and (ROOT / copy[-1]).is_dir()
    assert {f"{out.as_posix()}/*.mlpackage", f"{out.as_posix()}/*.mlpackage.json"} <= set(copy)
    assert copy in readme_commands(APP / "Models" / "README.md")
    # The same CLI on the tiny preserver wrote these (make_fixtures.export_command): name and sidecar side by side.
    packages = sorted((fresh / "packages").glob("*/*.mlpackage"))
    assert len(packages) == 2
    for package in packages:
        assert package.with_name(package.name + ".json").is_file()
        assert package.name == f"{make_fixtures.PRESERVER}.fp32{TARGETS['coreml'].suffix}"
    preserver = swift(SOURCES / "CoreML" / "Preserver.swift")
    assert 'appendingPathComponent("\\(stem).mlpackage.json")' in preserver
    assert 'bundle.url(forResource: package, withExtension: "json")' in swift(BENCHMARK_SWIFT)


def test_readme_paths_exist():
    text = README.read_text()
    paths = set(re.findall(r"`((?:ios_demo|sdk_python|training|tests|export|benchmarks)/[\w./-]*)`", text))
    paths |= {f"ios_demo/{p}" for p in re.findall(r"\]\(((?!http)[\w./-]+)\)", text) if not p.startswith("#")}
    assert paths
    assert [p for p in sorted(paths) if not (ROOT / p).exists()] == []


def test_benchmark_guide_links_to_the_moved_screen():
    text = (IOS / "BENCHMARK.md").read_text()
    assert "](PrivateGazeDemo/PrivateGazeDemo/Benchmark/)" in text and BENCHMARK_SWIFT.exists()
    assert "ios_demo/Benchmark/" not in text
