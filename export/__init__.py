"""Export of the deployable preserver to ONNX, Core ML and TFLite (needs the `[export]` extra)."""
