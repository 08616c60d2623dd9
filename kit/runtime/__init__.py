"""What runs the model: Hugging Face loading, the PyTorch, ONNX Runtime and OpenVINO backends behind one
interface (`kit.runtime.backend`), their registry, an export's checked variants, and the torch-free text
classifier that serving and `predict` use."""
