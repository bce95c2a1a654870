"""TFLite (LiteRT) target: litert-torch conversion, ai-edge-quantizer precisions, the manifest in the model metadata.

fp32 is ``litert_torch.convert`` (NHWC I/O through ``to_channel_last_io``). fp16 and int8 start from it:
ai-edge-quantizer stores the op weights (fp16: float16; int8: per-channel int8, activations quantized on the fly by
the kernels: dynamic range), and the float constants it leaves, the anchor features and logits added in the generator
(~41k floats beside ~0.15M weights at 48 px), are stored here in the same precision behind DEQUANTIZE ops (int8:
per-channel asymmetric). Input and output stay float32, named "image" and "obfuscated" as in the ONNX target.

int8 is dynamic range, not full-integer static int8, because it keeps the quality at the same size. Measured on
mobile-w8-48px-for-blackbox-resnet18 over 960 "users" faces (error against PyTorch in [0, 1] pixels; black-box gaze
error on the outputs, PyTorch 11.308 deg; fp32 file 799,604 bytes, ~0.6 ms per face on 1 x86 thread):
- dynamic range + int8 constants (this target): 243,952 bytes (3.28x smaller), mean 0.0006, max 0.040, +0.013 deg;
- static int8 (ai-edge-quantizer a8w8, 128 calibration faces, float I/O): 247,864 bytes (3.23x), mean 0.0019, max
  0.34, +0.13 deg; faster here (~0.25 vs ~0.3 ms) but it spends 40 % of the 0.3 deg gate;
- weight-only int8 + int8 constants: 3.16x, mean 0.0008; dynamic range with float32 constants: only 2.19x.
fp16: 433,728 bytes (1.84x; tensor names do not shrink), mean 2e-5, max 0.0016, +0.001 deg.
"""

from __future__ import annotations

import collections
import contextlib
import logging
import os
from pathlib import Path
from typing import ClassVar

import numpy as np

from privategaze.errors import ExportError, ManifestError, MissingDependencyError
from privategaze.export.targets.base import MANIFEST_KEY, Runner, Target, require

log = logging.getLogger(__name__)
INPUT, OUTPUT = "image", "obfuscated"

_PROGRESS = "LITERT_TORCH_SHOW_PROGRESS"


@contextlib.contextmanager
def _quiet_litert_torch():
    """litert-torch prints its progress to stdout unless this variable is off; the CLI shows its own progress."""
    previous = os.environ.get(_PROGRESS)
    os.environ[_PROGRESS] = "n"
    try:
        yield
    finally:
        if previous is None:
            del os.environ[_PROGRESS]
        else:
            os.environ[_PROGRESS] = previous


def _convert_float(module, size: int, layout: str) -> bytes:
    torch = require("torch")
    litert_torch = require("litert_torch")
    nhwc = layout == "nhwc"
    model = litert_torch.to_channel_last_io(module.eval(), args=[0], outputs=[0]).eval() if nhwc else module.eval()
    example = torch.zeros((1, size, size, 3) if nhwc else (1, 3, size, size))
    with _quiet_litert_torch():
        return bytes(litert_torch.convert(model, (example,)).model_content())


def _quantize_weights(model: bytes, precision: str) -> bytes:
    quantizer = require("ai_edge_quantizer.quantizer")
    qtyping = require("ai_edge_quantizer.qtyping")
    algorithms = require("ai_edge_quantizer.algorithm_manager")
    job = quantizer.Quantizer(model)
    every_op = qtyping.TFLOperationName.ALL_SUPPORTED
    if precision == "fp16":
        job.add_weight_only_config(".*", every_op, 16, algorithm_key=algorithms.AlgorithmName.FLOAT_CASTING)
    else:
        job.add_dynamic_config(".*", every_op, 8)
    return bytes(job.quantize(enable_progress_report=False).quantized_model)


def _int8_per_channel(values: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Asymmetric int8 along the last axis (channels: TFLite constants are NHWC): data, scales, zero points."""
    axes = tuple(range(values.ndim - 1))
    low, high = np.minimum(values.min(axis=axes), 0), np.maximum(values.max(axis=axes), 0)
    scale = (np.maximum(high - low, 1e-12) / 255).astype(np.float32)
    zero_point = np.clip(np.round(-128 - low / scale), -128, 127).astype(np.int64)
    data = np.clip(np.round(values / scale) + zero_point, -128, 127).astype(np.int8)
    return data, scale, zero_point


def _packed(values: np.ndarray, precision: str):
    """A tensor holding `values` in `precision` (fp16, or per-channel int8), and its data."""
    schema = require("ai_edge_litert.schema_py_generated", "litert")
    tensor = schema.TensorT()
    tensor.shape = list(values.shape)
    if precision == "fp16":
        tensor.type, data = schema.TensorType.FLOAT16, values.astype("<f2")
    else:
        data, scale, zero_point = _int8_per_channel(values)
        tensor.type, tensor.quantization = schema.TensorType.INT8, schema.QuantizationParametersT()
        tensor.quantization.scale, tensor.quantization.zeroPoint = scale.tolist(), zero_point.tolist()
        tensor.quantization.quantizedDimension = values.ndim - 1
    return tensor, np.frombuffer(data.tobytes(), np.uint8)


def _store_constants(model, precision: str) -> int:
    """Store each float32 constant of rank >= 2 left by the quantizer in `precision`, dequantized by a DEQUANTIZE op.

    The float tensor keeps its index and becomes the DEQUANTIZE output, so its consumers are untouched; its buffer
    holds the packed data. 1-D biases and scalars stay float32. Returns how many constants were stored.
    """
    schema = require("ai_edge_litert.schema_py_generated", "litert")
    # DEQUANTIZE is version 3 for float16 input, 5 for per-channel int8 (TFLite's op_version.cc).
    dequantize = _opcode(model, schema.BuiltinOperator.DEQUANTIZE, 3 if precision == "fp16" else 5)
    users = collections.Counter(t.buffer for s in model.subgraphs for t in s.tensors)
    stored = 0
    for subgraph in model.subgraphs:
        loads = []
        for index, tensor in enumerate(list(subgraph.tensors)):
            buffer = model.buffers[tensor.buffer]
            constant = (
                tensor.type == schema.TensorType.FLOAT32 and buffer.data is not None and users[tensor.buffer] == 1
            )
            if not constant or len(tensor.shape) < 2:
                continue
            packed, buffer.data = _packed(np.frombuffer(bytes(buffer.data), "<f4").reshape(tensor.shape), precision)
            packed.name, packed.buffer, tensor.buffer = f"{_text(tensor.name)}_{precision}", tensor.buffer, 0
            subgraph.tensors.append(packed)
            load = schema.OperatorT()
            load.opcodeIndex, load.inputs, load.outputs = dequantize, [len(subgraph.tensors) - 1], [index]
            loads.append(load)
        subgraph.operators = loads + list(subgraph.operators)
        stored += len(loads)
    return stored


def _opcode(model, builtin: int, version: int) -> int:
    """Index of `builtin` in the model's operator codes (added when absent), raised to `version` at least."""
    schema = require("ai_edge_litert.schema_py_generated", "litert")
    codes = [max(code.builtinCode, code.deprecatedBuiltinCode) for code in model.operatorCodes]
    if builtin not in codes:
        code = schema.OperatorCodeT()
        code.builtinCode, code.deprecatedBuiltinCode = builtin, min(builtin, 127)
        model.operatorCodes.append(code)
        codes.append(builtin)
    code = model.operatorCodes[codes.index(builtin)]
    code.version = max(code.version, version)
    return codes.index(builtin)


def _text(name) -> str:
    return name.decode() if isinstance(name, bytes) else str(name or "")


def _name_io(model) -> None:
    """Name the one input and output "image" and "obfuscated", in the tensors and in every signature."""
    subgraph = model.subgraphs[0]
    if len(subgraph.inputs) != 1 or len(subgraph.outputs) != 1:
        raise ExportError(f"expected one input and one output, got {len(subgraph.inputs)} and {len(subgraph.outputs)}")
    subgraph.tensors[subgraph.inputs[0]].name, subgraph.tensors[subgraph.outputs[0]].name = INPUT, OUTPUT
    for signature in model.signatureDefs or []:
        signature.inputs[0].name, signature.outputs[0].name = INPUT, OUTPUT


def _flatbuffers():
    return require("ai_edge_litert.tools.flatbuffer_utils", "litert")


def _finish(data: bytes, precision: str) -> bytes:
    model = _flatbuffers().read_model_from_bytearray(bytearray(data))
    if precision != "fp32":
        stored = _store_constants(model, precision)
        log.debug("tflite %s: %d float constants stored in %s", precision, stored, precision)
    _name_io(model)
    return bytes(_flatbuffers().convert_object_to_bytearray(model))


def _op_names(data: bytes) -> list[str]:
    schema = require("ai_edge_litert.schema_py_generated", "litert")
    names = {v: k for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")}
    model = _flatbuffers().read_model_from_bytearray(bytearray(data))
    codes = [max(code.builtinCode, code.deprecatedBuiltinCode) for code in model.operatorCodes]
    return sorted(
        {names.get(codes[op.opcodeIndex], str(codes[op.opcodeIndex])) for s in model.subgraphs for op in s.operators}
    )


def _interpreter(path: Path, config, threads: int = 1):
    litert = require("ai_edge_litert.interpreter", "litert")
    try:
        interpreter = litert.Interpreter(model_path=str(path), num_threads=threads)
        interpreter.allocate_tensors()
        return interpreter
    except (ValueError, RuntimeError) as exc:
        raise ExportError(f"tflite {config.precision}: LiteRT cannot load {path}: {exc}") from exc


def _describe(detail: dict) -> dict:
    return {"name": detail["name"], "shape": [int(s) for s in detail["shape"]], "dtype": np.dtype(detail["dtype"]).name}


class TfliteTarget(Target):
    name = "tflite"
    suffix = ".tflite"
    precisions = ("fp32", "fp16", "int8")
    layouts = ("nchw", "nhwc")
    options: ClassVar[frozenset[str]] = frozenset()
    calibrated: ClassVar[frozenset[str]] = frozenset()
    tools: ClassVar[tuple[str, ...]] = ("litert-torch", "ai-edge-quantizer", "ai-edge-litert")
    precision_notes: ClassVar[dict[str, str]] = {
        "fp32": "float32 weights and compute",
        "fp16": "float16 weights and anchor constants (dequantized once at load), float32 compute, input and output",
        "int8": "dynamic-range int8: per-channel int8 weights and anchor constants, activations quantized on the fly "
        "(no calibration); float32 input and output",
    }

    @staticmethod
    def convert(module, config, calibration: np.ndarray, work_dir: Path) -> Path:
        size = config.input_size or int(calibration.shape[-1])
        path = Path(work_dir) / f"{config.precision}-{config.layout}.tflite"
        try:
            model = _convert_float(module, size, config.layout)
            if config.precision != "fp32":
                model = _quantize_weights(model, config.precision)
            model = _finish(model, config.precision)
        except (MissingDependencyError, ExportError):
            raise
        except Exception as exc:
            raise ExportError(f"tflite {config.precision}: conversion failed: {exc}") from exc
        path.write_bytes(model)
        return path

    @staticmethod
    def embed_manifest(path: Path, manifest_json: str, out: Path) -> Path:
        schema = require("ai_edge_litert.schema_py_generated", "litert")
        model = _flatbuffers().read_model_from_bytearray(bytearray(Path(path).read_bytes()))
        data = np.frombuffer(manifest_json.encode("utf-8"), np.uint8)
        entry = next((m for m in model.metadata or [] if _text(m.name) == MANIFEST_KEY), None)
        if entry is None:
            entry = schema.MetadataT()
            entry.name, entry.buffer = MANIFEST_KEY, 0
            model.metadata = [*(model.metadata or []), entry]
        if entry.buffer == 0:  # buffer 0 is the shared empty buffer: the entry gets its own
            model.buffers.append(schema.BufferT())
            entry.buffer = len(model.buffers) - 1
        model.buffers[entry.buffer].data = data  # an existing entry is replaced in place: re-embedding is idempotent
        out = Path(out)
        tmp = out.with_name(out.name + ".tmp")
        tmp.write_bytes(bytes(_flatbuffers().convert_object_to_bytearray(model)))
        tmp.replace(out)
        return out

    @staticmethod
    def read_manifest(path: Path) -> dict:
        from privategaze.backends.litert import read_embedded_manifest  # the SDK's reader: one parser for both

        try:
            data = Path(path).read_bytes()
        except OSError as exc:
            raise ManifestError(f"no readable TFLite model at {path}: {exc}") from exc
        return read_embedded_manifest(data, str(path))

    @staticmethod
    def runner(path: Path, config, threads: int = 1) -> Runner:
        interpreter = _interpreter(path, config, threads)
        (source,), (result,) = interpreter.get_input_details(), interpreter.get_output_details()
        nhwc = config.layout == "nhwc"
        empty_shape = (0, *(result["shape"][[3, 1, 2]] if nhwc else result["shape"][1:]))

        def run(images: np.ndarray) -> np.ndarray:
            outputs = []
            for image in np.asarray(images, np.float32):
                x = image.transpose(1, 2, 0) if nhwc else image
                interpreter.set_tensor(source["index"], np.ascontiguousarray(x[None]))
                interpreter.invoke()
                output = interpreter.get_tensor(result["index"])[0]
                outputs.append(output.transpose(2, 0, 1) if nhwc else output)
            return np.stack(outputs).astype(np.float32, copy=False) if outputs else np.zeros(empty_shape, np.float32)

        return run

    @staticmethod
    def inspect(path: Path, config, module=None, calibration: np.ndarray | None = None) -> dict:
        interpreter = _interpreter(path, config)
        inputs = [_describe(d) for d in interpreter.get_input_details()]
        outputs = [_describe(d) for d in interpreter.get_output_details()]
        size = config.input_size or (inputs[0]["shape"][2] if inputs and len(inputs[0]["shape"]) == 4 else 0)
        shape = [1, size, size, 3] if config.layout == "nhwc" else [1, 3, size, size]
        for kind, tensors in (("input", inputs), ("output", outputs)):
            got = [(t["shape"], t["dtype"]) for t in tensors]
            if got != [(shape, "float32")]:
                raise ExportError(
                    f"tflite {config.precision}: expected one float32 {config.layout} {kind} of shape {shape}, "
                    f"got {got}"
                )
        return {"inputs": inputs, "outputs": outputs, "ops": _op_names(Path(path).read_bytes())}
