"""ONNX target: fp32 (torch.onnx dynamo exporter), fp16 (onnxconverter-common), int8 (ONNX Runtime static QDQ).

int8 is ONNX Runtime's static quantization in QDQ format with per-channel weights, calibrated (MinMax) on
representative public faces, after `quant_pre_process` (shape inference and graph optimisation, which folds the
BatchNorms into the convolutions). `reduce_range=True` keeps weights in 7 bits: without it the U8S8 kernels saturate on
x86 CPUs without VNNI and the error doubles (ENVIRONMENT.md). Inputs and outputs stay float32 for every precision.
The exporter hands int8 the mobile preserver's exact space-to-depth form (`traced_module`), faster in these kernels.
"""

from __future__ import annotations

import logging
import shutil
import warnings
from pathlib import Path
from typing import ClassVar

import numpy as np

from privategaze.errors import ExportError, ManifestError, MissingDependencyError
from privategaze.export.targets.base import MANIFEST_KEY, Runner, Target, require

log = logging.getLogger(__name__)
INPUT, OUTPUT = "image", "obfuscated"
OPSET = 20


def _nhwc_io(module):
    """`module` taking and returning NHWC tensors (the transposes become part of the graph)."""
    torch = require("torch")

    class Nhwc(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.inner = module

        def forward(self, x):
            return self.inner(x.permute(0, 3, 1, 2)).permute(0, 2, 3, 1)

    return Nhwc().eval()


def _export_fp32(module, size: int, layout: str, path: Path) -> None:
    torch = require("torch")
    require("onnxscript")
    model = _nhwc_io(module) if layout == "nhwc" else module.eval()
    shape = (1, size, size, 3) if layout == "nhwc" else (1, 3, size, size)
    example = torch.zeros(shape)
    program = torch.onnx.export(
        model,
        (example,),
        dynamo=True,
        external_data=False,
        input_names=[INPUT],
        output_names=[OUTPUT],
        opset_version=OPSET,
        verbose=False,
    )
    program.save(str(path), external_data=False)
    _strip_debug_info(path)


def _strip_debug_info(path: Path) -> None:
    """Drop the exporter's per-node debug metadata (stack traces with this checkout's absolute paths, FX names).

    They make up ~9% of the file and would make the bytes depend on where the code is checked out.
    """
    onnx = require("onnx")
    model = onnx.load(str(path))
    for node in model.graph.node:
        del node.metadata_props[:]
        node.doc_string = ""
    for value in [*model.graph.value_info, *model.graph.input, *model.graph.output]:
        del value.metadata_props[:]
    onnx.save(model, str(path))


def _calibration_reader(calibration: np.ndarray, layout: str):
    quantization = require("onnxruntime.quantization")

    class Reader(quantization.CalibrationDataReader):
        def __init__(self) -> None:
            images = calibration.transpose(0, 2, 3, 1) if layout == "nhwc" else calibration
            self.batches = iter([{INPUT: np.ascontiguousarray(image[None], np.float32)} for image in images])

        def get_next(self):
            return next(self.batches, None)

    return Reader()


def _quantize_int8(fp32: Path, calibration: np.ndarray, layout: str, path: Path) -> None:
    quantization = require("onnxruntime.quantization")
    from onnxruntime.quantization.shape_inference import quant_pre_process

    prepared = path.with_name(path.stem + ".prep.onnx")
    quant_pre_process(str(fp32), str(prepared), skip_symbolic_shape=True)
    quantization.quantize_static(
        str(prepared),
        str(path),
        _calibration_reader(calibration, layout),
        quant_format=quantization.QuantFormat.QDQ,
        per_channel=True,
        reduce_range=True,
        activation_type=quantization.QuantType.QUInt8,
        weight_type=quantization.QuantType.QInt8,
        calibrate_method=quantization.CalibrationMethod.MinMax,
    )
    prepared.unlink()


def _to_fp16(fp32: Path, path: Path) -> None:
    onnx = require("onnx")
    float16 = require("onnxconverter_common.float16")
    with warnings.catch_warnings():
        # Weights below float16's range are clamped to +-1e-7 (the converter's documented behaviour), one warning each.
        warnings.filterwarnings("ignore", message=r"the float32 number .* will be truncated", category=UserWarning)
        model = float16.convert_float_to_float16(onnx.load(str(fp32)), keep_io_types=True)
    onnx.save(model, str(path))


class OnnxTarget(Target):
    name = "onnx"
    suffix = ".onnx"
    precisions = ("fp32", "fp16", "int8")
    calibrated: ClassVar[frozenset[str]] = frozenset({"int8"})
    tools: ClassVar[tuple[str, ...]] = ("onnx", "onnxscript", "onnxconverter-common", "onnxruntime")
    precision_notes: ClassVar[dict[str, str]] = {
        "fp32": "float32 weights and compute",
        "fp16": "float16 weights and compute, float32 input and output",
        "int8": "static QDQ int8 (ONNX Runtime), per-channel int8 weights (reduce_range), uint8 activations "
        "calibrated (MinMax) on representative faces; float32 input and output",
    }

    @staticmethod
    def convert(module, config, calibration: np.ndarray, work_dir: Path) -> Path:
        size = config.input_size or calibration.shape[-1]
        work_dir = Path(work_dir)
        fp32 = work_dir / f"fp32-{config.layout}.onnx"
        path = work_dir / f"{config.precision}-{config.layout}.onnx"
        try:
            _export_fp32(module, size, config.layout, fp32)
            if config.precision == "fp16":
                _to_fp16(fp32, path)
            elif config.precision == "int8":
                _quantize_int8(fp32, calibration, config.layout, path)
        except MissingDependencyError:
            raise
        except Exception as exc:
            raise ExportError(f"onnx {config.precision}: conversion failed: {exc}") from exc
        return path if config.precision != "fp32" else fp32

    @staticmethod
    def embed_manifest(path: Path, manifest_json: str, out: Path) -> Path:
        onnx = require("onnx")
        model = onnx.load(str(path))
        kept = [p for p in model.metadata_props if p.key != MANIFEST_KEY]
        del model.metadata_props[:]
        model.metadata_props.extend(kept)
        model.metadata_props.add(key=MANIFEST_KEY, value=manifest_json)
        model.producer_name, model.doc_string = "privategaze", "PrivateGaze privacy preserver; manifest in metadata"
        tmp = Path(out).with_name(Path(out).name + ".tmp")
        onnx.save(model, str(tmp))
        shutil.move(tmp, out)
        return Path(out)

    @staticmethod
    def read_manifest(path: Path) -> dict:
        import json

        onnx = require("onnx")
        try:
            model = onnx.load(str(path), load_external_data=False)
        except FileNotFoundError as exc:
            raise ManifestError(f"no ONNX model at {path}") from exc
        except Exception as exc:
            raise ManifestError(f"{path} is not a readable ONNX model: {exc}") from exc
        props = {p.key: p.value for p in model.metadata_props}
        if MANIFEST_KEY not in props:
            raise ManifestError(f"{path} has no {MANIFEST_KEY!r} metadata: was it exported by pgz-export?")
        try:
            return json.loads(props[MANIFEST_KEY])
        except json.JSONDecodeError as exc:
            raise ManifestError(f"the manifest in {path} is not valid JSON: {exc}") from exc

    @staticmethod
    def runner(path: Path, config, threads: int = 1) -> Runner:
        ort = require("onnxruntime")
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        nhwc = config.layout == "nhwc"

        def run(images: np.ndarray) -> np.ndarray:
            outputs = []
            for image in images:
                x = image.transpose(1, 2, 0) if nhwc else image
                (y,) = session.run([OUTPUT], {INPUT: np.ascontiguousarray(x[None], np.float32)})
                outputs.append(y[0].transpose(2, 0, 1) if nhwc else y[0])
            return np.stack(outputs).astype(np.float32)

        return run

    @staticmethod
    def inspect(path: Path, config, module=None, calibration: np.ndarray | None = None) -> dict:
        onnx = require("onnx")
        model = onnx.load(str(path))
        try:
            onnx.checker.check_model(model)
        except Exception as exc:
            raise ExportError(f"onnx {config.precision}: the model fails the ONNX checker: {exc}") from exc

        def describe(value) -> dict:
            dims = [d.dim_value for d in value.type.tensor_type.shape.dim]
            dtype = onnx.helper.tensor_dtype_to_np_dtype(value.type.tensor_type.elem_type).name
            return {"name": value.name, "shape": dims, "dtype": dtype}

        size = config.input_size or (calibration.shape[-1] if calibration is not None else None)
        expected = [1, size, size, 3] if config.layout == "nhwc" else [1, 3, size, size]
        for value in [*model.graph.input, *model.graph.output]:
            got = describe(value)
            if (size is not None and got["shape"] != expected) or got["dtype"] != "float32":
                raise ExportError(f"onnx {config.precision}: {got} is not a float32 tensor of shape {expected}")
        return {
            "inputs": [describe(v) for v in model.graph.input],
            "outputs": [describe(v) for v in model.graph.output],
            "ops": sorted({node.op_type for node in model.graph.node}),
            "opset": max(o.version for o in model.opset_import if o.domain in ("", "ai.onnx")),
        }
