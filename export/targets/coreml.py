"""Core ML target: an ML program `.mlpackage` an iOS developer drops into Xcode (iOS 17+), image or tensor I/O.

``torch.export`` then ``coremltools.convert``, with the BatchNorms folded into the convolutions in PyTorch first so
that every constant of the package is a named torch tensor. int8 and palettized6 compress the convolution weights
only: the anchor constants are added, not multiplied, and stay float16. Core ML prediction needs macOS: on Linux
`runner` is None and `inspect` checks the spec's I/O, the MIL ops, the metadata and the weights, and simulates the
compressed weights' numerics in PyTorch. coremltools writes random UUIDs into ``Manifest.json``, the date into the
metadata and protobuf maps in a per-process order: `_save` removes all three, so the same inputs give the same bytes.
"""

from __future__ import annotations

import contextlib
import copy
import json
import logging
import re
import shutil
import sys
import tempfile
import uuid
import warnings
from pathlib import Path
from typing import ClassVar

import numpy as np

from privategaze import __version__
from privategaze.errors import ExportError, ManifestError, MissingDependencyError
from privategaze.export.targets.base import MANIFEST_KEY, Runner, Target, require

log = logging.getLogger(__name__)
INPUT, OUTPUT = "image", "obfuscated"
# Every MIL op the preservers convert to (mobile and paper, each precision and I/O type), all run natively by Core ML
# on the Neural Engine, GPU and CPU: cast is the float32 I/O to float16 compute, batch_norm is MIL's fusion of the
# paper's instance-norm affine, the constexpr ops are the compressed weights (expanded at load). `inspect` fails on
# any other op: a new one must be checked against Apple's op support before it ships.
NATIVE_OPS = frozenset(
    {
        "add", "batch_norm", "cast", "concat", "const", "conv", "leaky_relu", "max_pool", "mul", "reduce_mean",
        "relu", "rsqrt", "sigmoid", "sub", "tanh", "upsample_bilinear",
        "constexpr_affine_dequantize", "constexpr_lut_to_dense",
    }
)  # fmt: skip
# Largest weight round-trip error per tensor, relative to the tensor's largest magnitude.
WEIGHT_TOLERANCE = {"fp32": 1e-6, "fp16": 1e-3, "int8": 6e-3, "palettized6": 0.25}
_UUID_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "privategaze.export.coreml")
_DEBUG_MAPPING = "executorch_debug_handle_mapping.json"  # an ExecuTorch debugging aid, not part of the format
_DATE_KEY = "com.github.apple.coremltools.conversion_date"
_WHY_NOT_RUN = (
    "Core ML prediction needs macOS; on Linux the export validates the spec, ops, shapes, metadata and weights instead"
)
_MIL_SUFFIXES = re.compile(r"(_to_fp16|_quantized|_palettized)+$")


def _fold_batchnorm(module):
    """A copy of `module` with every Conv2d -> BatchNorm2d pair of an nn.Sequential folded into the conv."""
    torch = require("torch")
    from torch.nn.utils.fusion import fuse_conv_bn_eval

    folded = copy.deepcopy(module).eval()
    for seq in [m for m in folded.modules() if isinstance(m, torch.nn.Sequential)]:
        for k in range(len(seq) - 1):
            if isinstance(seq[k], torch.nn.Conv2d) and isinstance(seq[k + 1], torch.nn.BatchNorm2d):
                seq[k], seq[k + 1] = fuse_conv_bn_eval(seq[k], seq[k + 1]), torch.nn.Identity()
    return folded


def _exportable(module, io_type: str):
    """The BatchNorm-folded preserver, scaled to 0-255 for an image output (which has no scale option)."""
    torch = require("torch")

    class Exportable(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.preserver = _fold_batchnorm(module)
            self.scale = 255.0 if io_type == "image" else 1.0

        def forward(self, x):
            y = self.preserver(x)
            return y * self.scale if self.scale != 1 else y

    return Exportable().eval()


def _exported_program(model, size: int):
    torch = require("torch")
    program = torch.export.export(model, (torch.rand(1, 3, size, size),)).run_decompositions({})
    # torch leaves max_pool2d's default arguments out of the graph; coremltools 9 wants all six.
    defaults = [[], [0, 0], [1, 1], False]  # stride (empty: the kernel size), padding, dilation, ceil_mode
    for node in program.graph.nodes:
        if node.target == torch.ops.aten.max_pool2d.default:
            args = [*node.args, *defaults[len(node.args) - 2 :]]
            node.args = (*args[:2], args[2] or args[1], *args[3:])
    program.graph_module.recompile()
    return program


def _io(ct, io_type: str, size: int) -> tuple[list, list]:
    shape, rgb = (1, 3, size, size), ct.colorlayout.RGB
    if io_type == "image":
        image = ct.ImageType(name=INPUT, shape=shape, scale=1 / 255, color_layout=rgb)
        return [image], [ct.ImageType(name=OUTPUT, color_layout=rgb)]
    return [ct.TensorType(name=INPUT, shape=shape, dtype=np.float32)], [ct.TensorType(name=OUTPUT, dtype=np.float32)]


def _convert(module, precision: str, io_type: str, size: int):
    ct = require("coremltools")
    program = _exported_program(_exportable(module, io_type), size)
    inputs, outputs = _io(ct, io_type, size)
    with _coremltools_warnings():
        model = ct.convert(
            program,
            convert_to="mlprogram",
            compute_precision=ct.precision.FLOAT32 if precision == "fp32" else ct.precision.FLOAT16,
            minimum_deployment_target=ct.target.iOS17,
            inputs=inputs,
            outputs=outputs,
        )
        return _compress(model, precision)


@contextlib.contextmanager
def _coremltools_warnings():
    """Silence what coremltools 9 warns about itself: a call to its own deprecated op registry API, and temporary
    weight directories it leaves to the garbage collector (which removes them). Nothing there for the caller to do."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Function _TORCH_OPS_REGISTRY", DeprecationWarning)
        warnings.filterwarnings("ignore", "Implicitly cleaning up", ResourceWarning)
        yield


def _compress(model, precision: str):
    """int8: every constant (conv weights and the anchor features, however small); palettized6: the conv weights.

    Quantizing the anchor constants too takes the quick preserver's int8 package from 273 to 232 KB (3.4x under
    fp32, against 2.9x) for a simulated output error of 0.035 max / 0.0013 mean (0.031 / 0.0011 with float16
    anchors); a 64-entry palette per anchor tensor would blur the anchor's features, so palettization keeps them.
    """
    cto = require("coremltools.optimize.coreml")
    if precision == "int8":
        op = cto.OpLinearQuantizerConfig(mode="linear_symmetric", granularity="per_channel", weight_threshold=0)
        return cto.linear_quantize_weights(model, cto.OptimizationConfig(global_config=op))
    if precision == "palettized6":
        require("sklearn")
        op = cto.OpPalettizerConfig(mode="kmeans", nbits=6, weight_threshold=0)
        return cto.palettize_weights(model, cto.OptimizationConfig(op_type_configs={"conv": op}))
    return model


def _describe(model, io_type: str, size: int) -> None:
    model.short_description = "PrivateGaze preserver: a normalized face in, its obfuscated face out (same geometry)."
    model.author, model.license, model.version = "PrivateGaze", "see project", __version__
    if io_type == "image":
        geometry = f"RGB image {size}x{size}, 8 bits per channel"
    else:
        geometry = f"float32 (1, 3, {size}, {size}) NCHW, RGB in [0, 1]"
    model.input_description[INPUT] = f"Normalized face crop, {geometry}"
    model.output_description[OUTPUT] = f"Obfuscated face, {geometry}; send this, never the input, to the gaze service"


class CoremlTarget(Target):
    """Core ML ML program (.mlpackage); image or tensor I/O."""

    name = "coreml"
    suffix = ".mlpackage"
    precisions = ("fp32", "fp16", "int8", "palettized6")
    layouts = ("nchw",)  # image I/O has no layout; tensor I/O is NCHW
    options = frozenset({"io_type"})
    calibrated: ClassVar[frozenset[str]] = frozenset()
    tools: ClassVar[tuple[str, ...]] = ("coremltools",)
    precision_notes: ClassVar[dict[str, str]] = {
        "fp32": "float32 compute and weights",
        "fp16": "float16 compute and weights",
        "int8": "float16 compute, int8 weights and anchor constants (linear_quantize_weights, per-channel symmetric)",
        "palettized6": "float16 compute, 6-bit k-means palettized weights (palettize_weights, needs scikit-learn)",
    }

    @staticmethod
    def convert(module, config, calibration: np.ndarray, work_dir: Path) -> Path:
        size = config.input_size or calibration.shape[-1]
        io_type = config.io_type or "image"
        try:
            model = _convert(module, config.precision, io_type, size)
        except MissingDependencyError:
            raise
        except Exception as exc:  # the converters raise anything: translate at the boundary
            raise ExportError(f"Core ML conversion ({config.precision}, {io_type} I/O) failed: {exc}") from exc
        _describe(model, io_type, size)
        path = Path(work_dir) / f"preserver-{config.precision}-{io_type}{CoremlTarget.suffix}"
        _save(model, path)
        log.info("wrote %s (%s, %s I/O, %dx%d)", path, config.precision, io_type, size, size)
        return path

    @staticmethod
    def embed_manifest(path: Path, manifest_json: str, out: Path) -> Path:
        ct = require("coremltools")
        _check_package(Path(path))
        model = ct.models.MLModel(str(path), skip_model_load=True)
        model.user_defined_metadata[MANIFEST_KEY] = manifest_json
        out = Path(out)
        with tempfile.TemporaryDirectory(dir=out.parent) as staging:  # `out` may be `path` itself
            staged = Path(staging) / f"manifest{CoremlTarget.suffix}"
            _save(model, staged)
            shutil.rmtree(out, ignore_errors=True)
            shutil.move(staged, out)
        return out

    @staticmethod
    def read_manifest(path: Path) -> dict:
        ct = require("coremltools")
        _check_package(Path(path))
        try:
            metadata = ct.utils.load_spec(str(path)).description.metadata.userDefined
        except Exception as exc:
            raise ManifestError(f"{path}: expected a readable Core ML model spec, got: {exc}") from exc
        if MANIFEST_KEY not in metadata:
            raise ManifestError(
                f"{path}: expected user-defined metadata {MANIFEST_KEY!r}, found only {sorted(metadata)}; "
                "export the preserver with pgz-export to embed a manifest"
            )
        try:
            return json.loads(metadata[MANIFEST_KEY])
        except json.JSONDecodeError as exc:
            raise ManifestError(f"{path}: the {MANIFEST_KEY!r} metadata is not valid JSON: {exc}") from exc

    @staticmethod
    def runner(path: Path, config, threads: int = 1) -> Runner | None:
        darwin = sys.platform == "darwin"  # Core ML schedules its own threads
        return _mac_runner(Path(path), config.io_type or "image") if darwin else None

    @staticmethod
    def why_not_run() -> str | None:
        return None if sys.platform == "darwin" else _WHY_NOT_RUN

    @staticmethod
    def inspect(path: Path, config, module=None, calibration: np.ndarray | None = None) -> dict:
        """Spec I/O, MIL ops, metadata and weights; given `module`, the weights round trip against it and, given
        `calibration` too, the simulated output error of the compressed weights (float32 NCHW faces in [0, 1])."""
        ct = require("coremltools")
        _check_package(Path(path), ExportError)
        model = ct.models.MLModel(str(path), skip_model_load=True)
        io_type = config.io_type or "image"
        program = _program(model)
        report = {**_io_report(model.get_spec(), config, path), "ops": _ops(program, path)}
        report["metadata"] = sorted(model.user_defined_metadata)
        ops = [op.op_type for function in program.functions.values() for op in function.operations]
        report["weights"] = {"n_compressed": sum(op.startswith("constexpr_") for op in ops)}
        if module is None:
            return report
        state = _exportable(module, io_type).state_dict()
        reference = {key.replace(".", "_"): value.numpy() for key, value in state.items() if value.is_floating_point()}
        with _coremltools_warnings():
            decompressed = _consts(require("coremltools.optimize.coreml").decompress_weights(model))
        weights = _match(reference, decompressed, path)
        report["weights"].update(_round_trip(weights, reference, config.precision, path))
        if calibration is not None:
            report["simulated_output_error"] = _simulate(module, weights, calibration, config.precision, io_type)
        return report


def _mac_runner(path: Path, io_type: str) -> Runner:
    ct = require("coremltools")
    from PIL import Image

    model = ct.models.MLModel(str(path))

    def run_one(image: np.ndarray) -> np.ndarray:
        if io_type == "tensor":
            return np.asarray(model.predict({INPUT: image[None].astype(np.float32)})[OUTPUT], np.float32)[0]
        pixels = np.round(image.transpose(1, 2, 0) * 255).clip(0, 255).astype(np.uint8)
        out = model.predict({INPUT: Image.fromarray(pixels, "RGB")})[OUTPUT]
        return np.asarray(out.convert("RGB"), np.float32).transpose(2, 0, 1) / 255

    return lambda images: np.stack([run_one(image) for image in np.asarray(images, np.float32)])


def _check_package(path: Path, error: type[Exception] = ManifestError) -> None:
    if not (path.is_dir() and (path / "Manifest.json").is_file()):
        found = "nothing" if not path.exists() else "a directory without one" if path.is_dir() else "a file"
        raise error(f"expected a Core ML package (.mlpackage directory with a Manifest.json) at {path}, found {found}")


def _save(model, path: Path) -> None:
    """Save `model` to `path` with the same bytes for the same model: no date, fixed UUIDs, deterministic protobuf."""
    ct = require("coremltools")
    if _DATE_KEY in model.user_defined_metadata:
        del model.user_defined_metadata[_DATE_KEY]
    model.save(str(path))
    (path / _DEBUG_MAPPING).unlink(missing_ok=True)
    manifest = json.loads((path / "Manifest.json").read_text())
    renamed = {key: str(uuid.uuid5(_UUID_NAMESPACE, item["path"])) for key, item in manifest["itemInfoEntries"].items()}
    manifest["itemInfoEntries"] = {renamed[key]: item for key, item in manifest["itemInfoEntries"].items()}
    manifest["rootModelIdentifier"] = renamed[manifest["rootModelIdentifier"]]
    (path / "Manifest.json").write_text(json.dumps(manifest, indent=4, sort_keys=True) + "\n")
    spec_path = path / "Data" / "com.apple.CoreML" / "model.mlmodel"
    spec = ct.proto.Model_pb2.Model()
    spec.ParseFromString(spec_path.read_bytes())
    spec_path.write_bytes(spec.SerializeToString(deterministic=True))


def _io_report(spec, config, path: Path) -> dict:
    def feature(item) -> dict:
        if item.type.WhichOneof("Type") == "imageType":
            image = item.type.imageType
            return {"name": item.name, "type": "image", "shape": [1, 3, int(image.height), int(image.width)]}
        return {"name": item.name, "type": "multiArray", "shape": [int(d) for d in item.type.multiArrayType.shape]}

    report = {role: [feature(item) for item in getattr(spec.description, role[:-1])] for role in ("inputs", "outputs")}
    kind = "image" if (config.io_type or "image") == "image" else "multiArray"
    size = config.input_size or next((f["shape"][-1] for f in report["inputs"]), 0)
    for role, name in (("inputs", INPUT), ("outputs", OUTPUT)):
        if report[role] != [{"name": name, "type": kind, "shape": [1, 3, size, size]}]:
            raise ExportError(
                f"{path}: expected one {kind} {role[:-1]} {name!r} (1, 3, {size}, {size}), got {report[role]}"
            )
    return report


def _program(model):
    load = require("coremltools.converters.mil.frontend.milproto.load").load
    spec = model.get_spec()
    return load(model_spec=spec, specification_version=spec.specificationVersion, file_weights_dir=model.weights_dir)


def _ops(program, path: Path) -> list[str]:
    ops = sorted({op.op_type for function in program.functions.values() for op in function.operations})
    if foreign := sorted(set(ops) - NATIVE_OPS):
        raise ExportError(f"{path}: MIL ops outside the checked native set {sorted(NATIVE_OPS)}: {foreign}")
    return ops


def _consts(model) -> dict[str, np.ndarray]:
    """The program's float constants, keyed like the torch state dict with dots as underscores."""
    consts = {}
    for function in _program(model).functions.values():
        for op in function.operations:
            value = op.outputs[0].val if op.op_type == "const" else None
            if isinstance(value, np.ndarray) and np.issubdtype(value.dtype, np.floating):
                name = _MIL_SUFFIXES.sub("", op.name)
                consts[name[2:] if name[:2] in ("p_", "b_") else name] = value.astype(np.float32)
    return consts


def _match(reference: dict, consts: dict, path: Path) -> dict[str, np.ndarray]:
    """Each torch tensor's constant: by name, else by value (MIL renames the constants it folds or deduplicates)."""
    matched = {key: consts[key] for key in reference if key in consts}
    spare = {name: value for name, value in consts.items() if name not in reference}
    for key in sorted(set(reference) - set(matched)):
        want = reference[key].ravel()
        if np.all(want == 0) or np.all(want == 1):
            continue  # MIL removes multiplications by one and additions of zero
        candidates = [(float(np.abs(v.ravel() - want).max()), n) for n, v in spare.items() if v.size == want.size]
        if not candidates:
            raise ExportError(f"{path}: no Core ML constant holds the torch tensor {key} {tuple(reference[key].shape)}")
        matched[key] = spare[min(candidates)[1]]
    return {key: value.reshape(reference[key].shape) for key, value in matched.items()}


def _round_trip(weights: dict, reference: dict, precision: str, path: Path) -> dict:
    worst, total, count = 0.0, 0.0, 0
    for key, got in weights.items():
        want = reference[key]
        error = np.abs(got - want)
        # Relative to the tensor's scale, floored at float16's smallest normal number: a tensor of near-zero values
        # (a freshly trained bias) is stored as float16 subnormals, exact to 3e-8 but not relative to itself.
        relative = error.max() / max(float(np.abs(want).max()), float(np.finfo(np.float16).tiny))
        if relative > WEIGHT_TOLERANCE[precision]:
            raise ExportError(f"{path}: {key} round-trips with relative error {relative:.3g} ({precision})")
        worst, total, count = max(worst, float(error.max())), total + float(error.sum()), count + error.size
    mean = total / max(count, 1)
    log.info("weights round trip (%s): %d tensors, max %.3g, mean %.3g", precision, len(weights), worst, mean)
    return {"n_tensors": len(weights), "max_abs_error": worst, "mean_abs_error": mean}


def _simulate(module, weights: dict, calibration: np.ndarray, precision: str, io_type: str) -> dict:
    """The torch module with the package's weights (and float16 compute unless fp32) against the original."""
    torch = require("torch")
    simulated = _exportable(module, "tensor")
    state = simulated.state_dict()
    for key in state:
        if (name := key.replace(".", "_")) in weights:
            state[key] = torch.from_numpy(weights[name])
    simulated.load_state_dict(state)
    x = torch.from_numpy(np.asarray(calibration, np.float32))
    if io_type == "image":
        x = torch.round(x * 255) / 255  # the app hands 8-bit pixels
    dtype = torch.float32 if precision == "fp32" else torch.float16
    with torch.no_grad():
        want = module(x)
        got = simulated.to(dtype)(x.to(dtype)).float()
    if io_type == "image":
        got = torch.round(got.clamp(0, 1) * 255) / 255
    error = (got - want).abs()
    return {"max": float(error.max()), "mean": float(error.mean()), "compute": str(dtype).removeprefix("torch.")}
