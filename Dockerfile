# nsmckit serving image: ONNX Runtime + tokenizers + FastAPI, no torch.
#   GPU (default): docker build -t nsmckit .
#   CPU:           docker build -t nsmckit:cpu --build-arg BASE=python:3.12-slim --build-arg ORT=onnxruntime==1.32.0 .
#   Bake a model:  docker build --build-arg MODEL_SRC=exports/nsmc -t nsmckit:nsmc .
#   Run:           docker run --gpus all -p 8000:8000 -v $PWD/exports/nsmc:/model nsmckit
ARG BASE=nvidia/cuda:13.0.1-cudnn-runtime-ubuntu24.04
FROM ${BASE}

ARG ORT=onnxruntime-gpu==1.31.1
ARG MODEL_SRC=docker/no-model

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PATH=/opt/venv/bin:$PATH

SHELL ["/bin/bash", "-o", "pipefail", "-c"]

# The CUDA base has no Python; python:3.12-slim has one. Either way, install into a venv.
# Distro Python is left unpinned on purpose: it should follow the base image's security updates.
# hadolint ignore=DL3008
RUN if ! command -v python3 >/dev/null; then \
        apt-get update \
        && apt-get install -y --no-install-recommends python3 python3-venv \
        && rm -rf /var/lib/apt/lists/*; \
    fi \
    && python3 -m venv /opt/venv

WORKDIR /app
COPY setup.py README.md constraints.txt ./
COPY kit ./kit
RUN pip install --no-compile -c constraints.txt ".[serve]" "${ORT}"

COPY ${MODEL_SRC} /model

RUN useradd --create-home --uid 10001 nsmc
USER 10001

EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=3s --start-period=30s --retries=3 \
    CMD ["python3", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/health', timeout=2)"]

ENTRYPOINT ["nsmckit", "serve", "/model"]
