"""`nsmckit tune` and the open-loop load test, on the tiny export and real servers: the offline choice is the
best row of its own bench grid, an impossible budget says so, a serve-mode choice is what a server started
from its serve.env runs, and the open loop keeps its schedule where closed-loop clients wait."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from kit.bench.loadtest import LoadtestConfig, run_loadtest, schedule
from kit.cli import main
from tests.helpers import wait_until
from tests.serving import start_server

TEXTS = ["정말 재미있어요 최고", "시간 아깝다 최악", "배우 연기 좋았다", "그냥 그래요"]


def tune(*args: str):
    return CliRunner().invoke(main, ["tune", *args])


@pytest.mark.slow
def test_offline_chooses_the_best_row_of_its_bench_grid(tiny_export, nsmc_dir, tmp_path):
    out = tmp_path / "tune"
    grid = "--batch-sizes 1,8,32 --strategies bucketed,dynamic --limit 120 --budget-s 120"
    result = tune(
        str(tiny_export.path), "--p99-ms", "100000", "--data-dir", str(nsmc_dir), "--output", str(out), *grid.split()
    )
    assert result.exit_code == 0, result.output
    chosen = json.loads((out / "tune.json").read_text())["best"]["settings"]
    cells = [c for c in json.loads((out / "bench" / "results.json").read_text())["cells"] if c["status"] == "ok"]
    assert len(cells) == 3 * 3 * 2  # variants (fp32, O2, int8) x batch sizes x strategies
    best = max(cells, key=lambda c: c["samples_per_s"])  # every row meets a budget this loose
    assert (chosen["variant"], chosen["batch_size"], chosen["strategy"]) == (
        best["precision"],
        best["batch_size"],
        best["strategy"],
    )
    assert f"--variant {best['precision']} --batch-size {best['batch_size']}" in result.output
    assert (out / "tune.png").read_bytes()[:4] == b"\x89PNG"


def test_an_impossible_budget_names_the_closest_and_exits_1(tiny_export, nsmc_dir, tmp_path):
    out = tmp_path / "tune"
    out.mkdir()
    (out / "serve.env").write_text("NSMC_SERVE_VARIANT=int8\n")  # an earlier run's choice
    flags = "--batch-sizes 1,8 --limit 60 --variants fp32"
    result = tune(
        str(tiny_export.path), "--p99-ms", "0.0001", "--data-dir", str(nsmc_dir), "--output", str(out), *flags.split()
    )
    assert result.exit_code == 1
    last = result.output.strip().splitlines()[-1]
    assert last.startswith("Error: no configuration meets p99 <= 0.0001 ms") and "closest: variant=fp32" in last
    record = json.loads((out / "tune.json").read_text())
    assert record["best"] is None and record["ranking"] and not any(r["feasible"] for r in record["ranking"])
    assert not (out / "serve.env").exists()  # a stale choice must not sit beside a tune.json that found none


@pytest.mark.slow
def test_serve_tuning_writes_the_settings_a_server_then_runs(tiny_export, tmp_path):
    out = tmp_path / "tune"
    texts = tmp_path / "texts.txt"
    texts.write_text("\n".join(TEXTS), encoding="utf-8")
    flags = f"--mode serve --budget-s 20 --trial-s 1 --variants fp32,int8 --input {texts} --output {out}"
    # A budget any configuration meets, however loaded the machine: the test is about what is written and run.
    result = tune(str(tiny_export.path), "--p99-ms", "30000", *flags.split())
    assert result.exit_code == 0, result.output
    record = json.loads((out / "tune.json").read_text())
    best = record["best"]["settings"]
    assert record["best"]["feasible"] and record["best"]["p99_ms"] <= 30000
    env = (out / "serve.env").read_text()
    assert f"NSMC_SERVE_VARIANT={best['variant']}" in env
    proc, url = start_server(tiny_export.path, "--env-file", str(out / "serve.env"))
    try:
        info = httpx.get(f"{url}/info").json()
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
    assert info["variant"] == best["variant"]
    for key in ("max_batch_tokens", "max_wait_ms", "parallel_calls"):
        if key in best:
            assert info["batching"][key] == best[key], key


def test_a_bad_env_file_is_one_line(tiny_export, tmp_path):
    bad = tmp_path / "serve.env"
    bad.write_text("NSMC_SERVE_VARIANT=int8\nVARIANT=int8\n")
    result = CliRunner().invoke(main, ["serve", str(tiny_export.path), "--env-file", str(bad)])
    assert result.exit_code == 2 and "serve.env:2: expected NSMC_SERVE_<FLAG>=value" in result.output


def _queue_depth(url: str) -> float:
    metrics = httpx.get(f"{url}/metrics").text
    return float(next(line.split()[-1] for line in metrics.splitlines() if line.startswith("nsmc_queue_depth ")))


@pytest.mark.slow
def test_open_loop_keeps_its_schedule_while_closed_loop_clients_wait(tiny_export):
    """One review per model call, and a rate well above that capacity. Closed-loop clients wait for their
    answers, so the server never holds more than their count; the open-loop schedule keeps sending whatever
    the server does, so the queue builds. Asserted on counts and the server's queue gauge, not on latencies
    (a loaded machine changes those; the numbers themselves live in bench/)."""
    proc, url = start_server(tiny_export.path, "--max-batch-size", "1", "--no-access-log")
    peaks = {"closed": 0.0, "open": 0.0}
    phase = ["closed"]
    stop = threading.Event()

    def watch():
        while not stop.is_set():
            peaks[phase[0]] = max(peaks[phase[0]], _queue_depth(url))
            stop.wait(0.02)

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        closed = run_loadtest(
            LoadtestConfig(url=url, concurrency=(4,), duration_s=1, texts=tuple(TEXTS)), lambda _: None
        )
        phase[0] = "open"
        rate = 3 * closed.cells[0].samples_per_s  # in flight at the end: about 2 x capacity x 1 s, under the cap
        config = LoadtestConfig(url=url, rates=(rate,), duration_s=1, max_in_flight=4096, texts=tuple(TEXTS))
        opened = run_loadtest(config, lambda _: None)
    finally:
        stop.set()
        watcher.join()
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
    cell = opened.cells[0]
    sent = cell.rows + sum(cell.errors.values())  # answered, refused or still owed at the end: all were sent
    assert sent == round(cell.offered_per_s * config.duration_s) <= len(schedule(config.rates[0], config))
    assert peaks["closed"] <= 4  # the clients never had more than 4 requests out
    assert peaks["open"] > 4  # the schedule kept sending while the server was saturated
    assert cell.offered_per_s > cell.samples_per_s  # offered more than it achieved


def test_rate_options(tiny_export):
    both = CliRunner().invoke(main, ["loadtest", "http://127.0.0.1:9", "--rate", "5", "--rate-range", "1:2:1"])
    assert both.exit_code == 2 and "not both" in both.output
    bad = CliRunner().invoke(
        main, ["loadtest", "http://127.0.0.1:9", "--rate-range", "10:5:1", "--texts-file", __file__]
    )
    assert bad.exit_code == 1 and "needs 0 < LOW <= HIGH" in bad.output


@pytest.mark.slow
def test_sigterm_to_serve_tuning_leaves_no_server_and_no_files(tiny_export, tmp_path):
    """tune --mode serve runs servers of its own: a SIGTERM to it stops the one running and removes its folder."""
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    texts = tmp_path / "texts.txt"
    texts.write_text("\n".join(TEXTS), encoding="utf-8")
    flags = f"--mode serve --p99-ms 30000 --budget-s 120 --trial-s 2 --input {texts} --output {tmp_path / 'out'}"
    command = [sys.executable, "-m", "kit.cli", "tune", str(tiny_export.path), *flags.split()]
    proc = subprocess.Popen(command, env={**os.environ, "TMPDIR": str(scratch)}, stdout=subprocess.PIPE, text=True)

    def servers() -> list[int]:
        found = []
        for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
            try:
                words = cmdline.read_bytes().split(b"\0")
            except OSError:
                continue
            if b"kit.serve.process" in words and str(scratch).encode() in b" ".join(words):
                found.append(int(cmdline.parent.name))
        return found

    try:
        wait_until(lambda: bool(servers()), 120, "a server started by tune")
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 143
    finally:
        proc.kill()
    wait_until(lambda: not servers(), 30, "the tuning server gone")
    assert [p for p in scratch.iterdir() if p.is_dir()] == []  # its temporary folder (config, log) removed


@pytest.mark.slow
def test_an_open_loop_level_ends_and_says_what_went_unanswered(tiny_export):
    """A schedule far beyond what the server (one review per call) and this client can do: the level still
    ends (at twice its duration), reports what it really sent, and counts what never came back."""
    proc, url = start_server(tiny_export.path, "--max-batch-size", "1", "--no-access-log")
    try:
        config = LoadtestConfig(url=url, rates=(20000.0,), duration_s=1, texts=tuple(TEXTS))
        result = run_loadtest(config, lambda _: None)
        # and a schedule with no arrival at all in its level is an empty level, not a crash
        quiet = run_loadtest(LoadtestConfig(url=url, rates=(0.01,), duration_s=0.5, texts=tuple(TEXTS)), print)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
    cell = result.cells[0]
    sent = cell.rows + sum(cell.errors.values())
    assert sent == round(cell.offered_per_s * config.duration_s) < 20000  # what was really offered, reported
    # The level ends at twice its duration: what is unanswered then is counted, not waited for (the same
    # command ran 66 s before, every answer awaited).
    assert set(cell.errors) <= {"unanswered", "429"}
    assert quiet.cells[0].rows == 0 and quiet.cells[0].offered_per_s == 0


def test_a_rate_that_cannot_be_scheduled_is_one_line():
    result = CliRunner().invoke(main, ["loadtest", "http://127.0.0.1:9", "--rate", "1e9", "--texts-file", __file__])
    assert result.exit_code == 1 and "would schedule more than 1,000,000 requests" in result.output


@pytest.mark.slow
def test_a_budget_too_small_for_one_trial_says_why(tiny_export, tmp_path):
    texts = tmp_path / "texts.txt"
    texts.write_text("\n".join(TEXTS), encoding="utf-8")
    flags = f"--mode serve --budget-s 1 --input {texts} --output {tmp_path / 'out'}"
    result = tune(str(tiny_export.path), "--p99-ms", "1000", *flags.split())
    assert result.exit_code == 1 and "no trial fitted in --budget-s 1" in result.output, result.output


def test_an_export_without_fp32_is_tuned_on_what_it_has(tiny_export, nsmc_dir, tmp_path):
    export = tmp_path / "no-fp32"
    shutil.copytree(tiny_export.path, export)
    manifest = json.loads((export / "export.json").read_text())
    manifest["variants"] = [v for v in manifest["variants"] if v["name"] != "fp32"]
    manifest["default_variant"] = manifest["variants"][0]["name"]
    (export / "export.json").write_text(json.dumps(manifest))
    flags = f"--batch-sizes 8 --limit 40 --data-dir {nsmc_dir} --output {tmp_path / 'out'}"
    result = tune(str(export), "--p99-ms", "100000", *flags.split())
    assert result.exit_code == 0, result.output
    assert json.loads((tmp_path / "out" / "tune.json").read_text())["best"]["settings"]["variant"] != "fp32"
