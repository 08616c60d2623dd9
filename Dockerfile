# nsmckit serving image: ONNX Runtime (and OpenVINO, CPU flavor) + tokenizers + FastAPI, no torch. docker/build.sh builds it with
# Docker, or with podman where no Docker engine or registry is at hand.
#   CPU (default): docker build -t nsmckit:cpu .
#   GPU:           docker build -t nsmckit:gpu --build-arg FLAVOR=gpu .
#   Bake a model:  docker build --build-arg MODEL_SRC=exports/nsmc -t nsmckit:nsmc .
#   Run:           docker run -p 8000:8000 -v $PWD/exports/nsmc:/model:ro nsmckit:cpu
#                  docker run --gpus all -p 8000:8000 -v $PWD/exports/nsmc:/model:ro nsmckit:gpu
#
# One Python base for both flavors, no CUDA base image: onnxruntime-gpu's `cuda` and `cudnn` extras bring
# the CUDA 13 runtime, cuBLAS, cuFFT, cuRAND, NVRTC and cuDNN 9 as pip wheels, which the kit loads at
# start (onnxruntime.preload_dlls). So the GPU image needs only the host's NVIDIA driver (and the
# container toolkit's `--gpus`), pins its CUDA libraries with the rest of its packages, and builds where
# no CUDA base image can be pulled. On a host where CUDA cannot start, `--provider auto` (the default)
# serves on the CPU and /info says so; `--provider cuda` refuses to start.
ARG BASE=python:3.12-slim
FROM ${BASE}

ARG FLAVOR=cpu
ARG ORT_CPU=onnxruntime==1.32.0
ARG ORT_GPU=onnxruntime-gpu[cuda,cudnn]==1.31.1
# The CPU image also runs an export's ov-* variants (faster than ONNX Runtime's int8 where measured).
ARG OPENVINO=openvino==2026.4.1
ARG MODEL_SRC=docker/no-model

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PATH=/opt/venv/bin:$PATH

SHELL ["/bin/bash", "-o", "pipefail", "-c"]

# A base without Python (a distro image) gets it from apt, cache cleaned in the same layer.
# Distro Python is left unpinned on purpose: it should follow the base image's security updates.
# hadolint ignore=DL3008
RUN if ! command -v python3 >/dev/null; then \
        apt-get update \
        && apt-get install -y --no-install-recommends python3 python3-venv \
        && apt-get clean \
        && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin; \
    fi \
    && python3 -m venv /opt/venv

WORKDIR /app
COPY setup.py README.md constraints.txt ./
COPY kit ./kit
RUN if [ "$FLAVOR" = gpu ]; then runtimes=("$ORT_GPU"); else runtimes=("$ORT_CPU" "$OPENVINO"); fi \
    && pip install --no-compile -c constraints.txt ".[serve]" "${runtimes[@]}"

COPY ${MODEL_SRC} /model

RUN useradd --create-home --uid 10001 nsmc
USER 10001

EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=3s --start-period=30s --retries=3 \
    CMD ["python3", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/health', timeout=2)"]

ENTRYPOINT ["nsmckit", "serve", "/model"]
