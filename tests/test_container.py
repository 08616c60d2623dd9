"""The serving image, built by `docker/build.sh` and run for real (podman here, Docker where an engine runs):
it answers like `nsmckit predict`, refuses bad requests like the server does, runs as a non-root user,
reports healthy, and finishes in-flight requests when stopped.

Where no container engine can run, these tests are skipped with the reason; CI sets
NSMCKIT_REQUIRE_CONTAINER=1, which turns that skip into a failure.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
import threading
import time

import httpx
import numpy as np
import pytest

from tests.conftest import ROOT, record_figure
from tests.helpers import wait_until
from tests.serving import BAD_REQUESTS, LIMIT_FLAGS, free_port

pytestmark = pytest.mark.slow  # builds and runs the image: minutes

IMAGE = "localhost/nsmckit:cpu"
TEXTS = ["정말 재미있어요 최고", "시간 아깝다 최악", "", "😂 CG는 awesome한데 story가 boring", "감동 " * 300]


def engine_command() -> tuple[list[str] | None, str]:
    """The container CLI that works here, or None and why not."""
    env = container_env()
    if shutil.which("podman"):
        proc = subprocess.run(["podman", "info"], capture_output=True, text=True, env=env)
        if proc.returncode == 0:
            return ["podman"], ""
        return None, f"podman is installed but does not run: {proc.stderr.strip().splitlines()[-1:]}"
    if shutil.which("docker") and subprocess.run(["docker", "info"], capture_output=True).returncode == 0:
        return ["docker"], ""
    return None, "no container engine: install podman (see docker/build.sh) or run a Docker engine"


def container_env() -> dict[str, str]:
    """docker/build.sh's podman settings for this sandbox, unless the caller chose others."""
    env = dict(os.environ)
    if "CONTAINERS_CONF" not in env and shutil.which("runc"):
        env["CONTAINERS_CONF"] = str(ROOT / "docker" / "podman" / "containers.conf")
    return env


@pytest.fixture(scope="module")
def engine():
    command, reason = engine_command()
    if command is None:
        if os.environ.get("NSMCKIT_REQUIRE_CONTAINER") == "1":
            pytest.fail(f"NSMCKIT_REQUIRE_CONTAINER=1 but {reason}")
        pytest.skip(reason)
    return command


def run(engine, *args: str, check: bool = True, timeout: float = 120) -> subprocess.CompletedProcess:
    proc = subprocess.run([*engine, *args], capture_output=True, text=True, env=container_env(), timeout=timeout)
    if check and proc.returncode != 0:
        raise AssertionError(f"{' '.join(engine + list(args))}: {proc.stderr[-2000:]}")
    return proc


@pytest.fixture(scope="module")
def image(engine, request):
    proc = subprocess.run(
        ["bash", "docker/build.sh"], cwd=ROOT, capture_output=True, text=True, env=container_env(), timeout=1500
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    size = int(proc.stdout.strip().splitlines()[-1].rsplit(":", 1)[1].split()[0])
    record_figure(request.config, f"CPU serving image {IMAGE}: {size / 1e6:,.0f} MB")
    return IMAGE


class Container:
    """One `run -d` of the image with an export mounted read-only at /model and NSMC_SERVE_* settings."""

    def __init__(self, engine, image: str, export, **settings: str):
        self.engine, self.port = engine, free_port()
        env = [f"--env=NSMC_SERVE_{key.upper()}={value}" for key, value in settings.items()]
        volume = [f"--volume={export}:/model:ro"] if export else []
        self.started = time.monotonic()
        self.id = run(engine, "run", "-d", f"--publish=127.0.0.1:{self.port}:8000", *volume, *env, image).stdout
        self.id = self.id.strip()
        self.url = f"http://127.0.0.1:{self.port}"

    def health_statuses(self, timeout: float = 120) -> tuple[list[int], float]:
        """/health answers from the first one until 200, and the seconds from `run` to that 200."""
        statuses: list[int] = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and statuses[-1:] != [200]:
            try:
                statuses.append(httpx.get(f"{self.url}/health", timeout=2).status_code)
            except httpx.HTTPError:
                time.sleep(0.02)
        return statuses, time.monotonic() - self.started

    def inspect(self, field: str) -> str:
        template = "{{.State." + field + "}}"  # a Go template: its braces are not Python's
        return run(self.engine, "inspect", "--format", template, self.id).stdout.strip()

    def exit_code(self) -> int:
        """After the process has exited (waits for it)."""
        wait_until(lambda: self.inspect("Running") == "false", 60, "the container to exit")
        return int(self.inspect("ExitCode"))

    def logs(self) -> str:
        proc = run(self.engine, "logs", self.id, check=False)
        return proc.stdout + proc.stderr

    def remove(self) -> None:
        run(self.engine, "rm", "-f", self.id, check=False)


@pytest.fixture(scope="module")
def served(engine, image, tiny_export, request):
    limits = dict(zip(("max_texts", "max_body_bytes"), LIMIT_FLAGS[1::2]))
    container = Container(engine, image, tiny_export.path, max_wait_ms="10", **limits)
    statuses, seconds = container.health_statuses()
    assert statuses[-1:] == [200], container.logs()[-3000:]
    record_figure(request.config, f"container start to healthy: {seconds:.1f} s (/health answers: {statuses})")
    yield container, statuses
    container.remove()


def test_health_is_never_ready_before_the_model(served):
    _, statuses = served
    assert set(statuses[:-1]) <= {503} and statuses[-1] == 200  # loading: 503; then 200, and only then


def test_predictions_equal_nsmckit_predict(served, tiny_export, tmp_path):
    container, _ = served
    source = tmp_path / "texts.txt"
    source.write_text("\n".join(TEXTS) + "\n", encoding="utf-8")
    out = tmp_path / "scored.jsonl"
    code = "from kit.cli import main; main()"
    args = ["predict", str(tiny_export.path), "--input", str(source), "--output", str(out)]
    assert subprocess.run([sys.executable, "-c", code, *args], capture_output=True).returncode == 0
    expected = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    for text, row in zip(TEXTS, expected):
        answer = httpx.post(f"{container.url}/predict", json={"text": text}).json()
        assert answer["label"] == row["pred_label"] and answer["label_name"] == row["pred_label_name"]
        np.testing.assert_allclose(answer["probabilities"], [row["prob_negative"], row["prob_positive"]], atol=1e-5)


@pytest.mark.parametrize(("request_kwargs", "status", "message"), BAD_REQUESTS)
def test_bad_requests_get_the_servers_answers(served, request_kwargs, status, message):
    container, _ = served
    reply = httpx.post(f"{container.url}/predict", **request_kwargs)
    assert reply.status_code == status and message in reply.json()["error"]


def test_runs_as_a_user_and_reports_healthy(served, engine):
    container, _ = served
    uid = run(engine, "exec", container.id, "python3", "-c", "import os; print(os.getuid())").stdout.strip()
    assert uid == "10001"
    if engine == ["podman"]:
        assert run(engine, "healthcheck", "run", container.id, check=False).returncode == 0  # the image's HEALTHCHECK
    else:
        wait_until(lambda: container.inspect("Health.Status") == "healthy", 60, "a healthy container")


def test_stop_during_a_burst_answers_every_request_in_flight(engine, image, tiny_export):
    container = Container(engine, image, tiny_export.path, max_wait_ms="1500")
    try:
        assert container.health_statuses()[0][-1:] == [200]
        replies = {}

        def burst():
            async def send():
                async with httpx.AsyncClient(base_url=container.url, timeout=60) as client:
                    return await asyncio.gather(*(client.post("/predict", json={"text": t}) for t in TEXTS * 4))

            replies["all"] = asyncio.run(send())

        thread = threading.Thread(target=burst)
        thread.start()
        queued = lambda: "nsmc_queue_depth 0.0" not in httpx.get(f"{container.url}/metrics").text  # noqa: E731
        wait_until(queued, 30, "requests waiting in the batcher")
        run(engine, "stop", "--time", "30", container.id)  # SIGTERM to the entrypoint, PID 1
        thread.join(timeout=60)
        assert [r.status_code for r in replies["all"]] == [200] * len(TEXTS) * 4
        assert container.exit_code() == 0
    finally:
        container.remove()


def test_the_cpu_image_runs_the_openvino_variant_auto_chooses(engine, image, tiny_ov_export):
    container = Container(engine, image, tiny_ov_export.path, variant="auto")
    try:
        statuses, _ = container.health_statuses()
        assert statuses[-1:] == [200], container.logs()[-3000:]
        info = httpx.get(f"{container.url}/info").json()
        assert info["variant_choice"].startswith(f"--variant auto chose {info['variant']}")
        assert httpx.post(f"{container.url}/predict", json={"text": "좋다"}).status_code == 200
        forced = Container(engine, image, tiny_ov_export.path, variant="ov-int8")
        try:
            assert forced.health_statuses()[0][-1:] == [200], forced.logs()[-3000:]
            info = httpx.get(f"{forced.url}/info").json()
            assert info["backend"] == "openvino" and info["providers"] == ["CPU"]
            assert httpx.post(f"{forced.url}/predict", json={"text": "좋다"}).status_code == 200
        finally:
            forced.remove()
    finally:
        container.remove()


def test_without_a_model_it_exits_with_one_line(engine, image):
    container = Container(engine, image, None)
    try:
        assert container.exit_code() == 1
        assert "Error: /model: no export.json" in container.logs()
    finally:
        container.remove()


def test_the_gpu_image_serves_on_the_cpu_and_says_so(engine, tiny_export, request):
    """Only where `bash docker/build.sh --gpu` has built it (its CUDA wheels are ~2 GB: not in CI)."""
    gpu = "localhost/nsmckit:gpu"
    if run(engine, "image", "inspect", gpu, check=False).returncode != 0:
        pytest.skip(f"{gpu} is not built here (bash docker/build.sh --gpu)")
    container = Container(engine, gpu, tiny_export.path)
    try:
        statuses, seconds = container.health_statuses()
        assert statuses[-1:] == [200], container.logs()[-3000:]
        info = httpx.get(f"{container.url}/info").json()
        assert info["provider"] == "cpu" and info["providers"] == ["CPUExecutionProvider"]
        size = run(engine, "image", "inspect", "--format", "{{.Size}}", gpu).stdout.strip()
        record_figure(
            request.config, f"GPU serving image {gpu}: {int(size) / 1e6:,.0f} MB, healthy in {seconds:.1f} s on CPU"
        )
    finally:
        container.remove()
    refused = Container(engine, gpu, tiny_export.path, provider="cuda")
    try:
        assert refused.exit_code() == 1 and "could not start CUDA" in refused.logs()
    finally:
        refused.remove()
