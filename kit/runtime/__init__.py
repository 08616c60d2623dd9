"""What runs the model: Hugging Face loading, PyTorch and ONNX Runtime backends behind one
interface (`kit.runtime.backend`), their registry, and the torch-free ONNX classifier that
serving and `predict` use."""
