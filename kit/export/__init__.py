"""ONNX export through Optimum, its optimized and quantized variants, and their validation."""
