"""NSMC loading: the release format, its quirks, bad files, splits, downloads."""

from __future__ import annotations

import functools
import http.server
import threading
from pathlib import Path

import numpy as np
import pytest

from kit.data.nsmc import download_nsmc, load_test_texts, read_nsmc_file
from kit.data.splits import DataConfig
from kit.data.splits import load_splits as load_nsmc
from kit.errors import DataError
from tests.synthetic import corpus


def test_reads_release_format_with_quotes_and_empty_rows(nsmc_dir):
    split = read_nsmc_file(nsmc_dir / "ratings_train.txt")
    assert len(split.texts) == 600
    assert split.texts[3] == ""
    assert split.texts[5].startswith('"') and split.texts[5].endswith(" 이라고 함")
    assert split.texts[5].count('"') == 2  # pandas doubled the inner quotes; the reader undoes it
    assert set(np.unique(split.labels)) == {0, 1}


def test_validation_split_is_seeded_and_disjoint(nsmc_dir):
    a = load_nsmc(DataConfig(data_dir=str(nsmc_dir), val_ratio=0.25, seed=1))
    b = load_nsmc(DataConfig(data_dir=str(nsmc_dir), val_ratio=0.25, seed=1))
    c = load_nsmc(DataConfig(data_dir=str(nsmc_dir), val_ratio=0.25, seed=2))
    assert (len(a.train), len(a.val), len(a.test)) == (450, 150, 200)
    assert a.val.texts == b.val.texts and a.val.texts != c.val.texts
    assert sorted(a.train.texts + a.val.texts) == sorted(read_nsmc_file(nsmc_dir / "ratings_train.txt").texts)
    assert a.empty == {"train": 1, "test": 1}


def test_limit_caps_every_split(nsmc_dir):
    splits = load_nsmc(DataConfig(data_dir=str(nsmc_dir), limit=50))
    assert (len(splits.train), len(splits.val), len(splits.test)) == (50, 50, 50)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("id\ttext\tlabel\n1\t좋다\t1\n", "header"),
        ("id\tdocument\tlabel\n1\t좋다\t1\n2\t별로\t5\n", ":3: label '5' is not 0 or 1"),
        ("id\tdocument\tlabel\n1\t좋다\t1\n2\t별로\n", ":3: expected 3 tab-separated fields, got 2"),
        ("id\tdocument\tlabel\n", "no rows"),
    ],
)
def test_malformed_files_name_file_and_line(tmp_path, content, message):
    path = tmp_path / "ratings_train.txt"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(DataError, match=message) as err:
        read_nsmc_file(path)
    assert str(path) in str(err.value)


def test_missing_file_and_folder(tmp_path):
    (tmp_path / "ratings_train.txt").write_text("id\tdocument\tlabel\n1\t좋다\t1\n", encoding="utf-8")
    with pytest.raises(DataError, match="ratings_test.txt: no such file"):
        load_nsmc(DataConfig(data_dir=str(tmp_path)))
    with pytest.raises(DataError, match="no such folder"):
        load_nsmc(DataConfig(data_dir=str(tmp_path / "missing")))


@pytest.fixture
def release_server(nsmc_dir):
    """The release files over HTTP on 127.0.0.1, standing in for the public host."""
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(nsmc_dir))
    handler.log_message = lambda *args: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_download_is_cached(release_server, monkeypatch, nsmc_dir):
    import datasets.config

    monkeypatch.setattr(datasets.config, "HF_HUB_OFFLINE", False)
    paths = download_nsmc(release_server)
    assert Path(paths["train"]).read_bytes() == (nsmc_dir / "ratings_train.txt").read_bytes()
    splits = load_nsmc(DataConfig(url=release_server))
    assert len(splits.test) == 200
    assert download_nsmc(release_server) == paths  # served from the cache, same files


def test_offline_without_local_data_says_what_to_do(monkeypatch, release_server):
    import datasets.config

    monkeypatch.setattr(datasets.config, "HF_HUB_OFFLINE", True)
    with pytest.raises(DataError, match="NSMC_DATA_DIR") as raised:
        load_nsmc(DataConfig(url=release_server))
    assert "offline mode is set" in str(raised.value) and "Error)" not in str(raised.value)


def test_test_texts_need_only_the_test_file(nsmc_dir, tmp_path):
    """A load test sends test reviews: a folder with only ratings_test.txt is enough, and its absence is named."""
    only_test = tmp_path / "only-test"
    only_test.mkdir()
    (only_test / "ratings_test.txt").write_bytes((nsmc_dir / "ratings_test.txt").read_bytes())
    assert load_test_texts(str(only_test)) == tuple(read_nsmc_file(only_test / "ratings_test.txt").texts)
    with pytest.raises(DataError, match="ratings_test.txt: no such file"):
        load_test_texts(str(tmp_path))


# The real release, where CI provides it.


def test_real_nsmc_rows_quotes_and_empties(real_nsmc_dir):
    train = read_nsmc_file(real_nsmc_dir / "ratings_train.txt")
    test = read_nsmc_file(real_nsmc_dir / "ratings_test.txt")
    assert (len(train.texts), len(test.texts)) == (150_000, 50_000)
    assert (int((train.labels == 0).sum()), int((test.labels == 0).sum())) == (75_173, 24_827)
    assert (train.texts.count(""), test.texts.count("")) == (5, 3)
    quoted = [t for t in train.texts if '"' in t]
    assert len(quoted) == 623
    assert '영화 끝나갈때쯤에 멍하다가 다보고나면 한마디 나올거임 "ㅈ같다."' in quoted
    assert not any("\t" in t or "\n" in t for t in train.texts)


@pytest.mark.slow
def test_real_nsmc_klue_token_statistics(real_nsmc_dir, klue_dir):
    from kit.batching import plan_batches
    from kit.data.encoding import encode
    from kit.runtime.hf import load_tokenizer

    train = read_nsmc_file(real_nsmc_dir / "ratings_train.txt")
    lengths = encode(load_tokenizer(str(klue_dir)), train.texts, 512).lengths
    assert lengths.mean() == pytest.approx(22.26, abs=0.05)
    clipped = np.minimum(lengths, 128)
    fixed = plan_batches(clipped, 32, "fixed", 128).padding_efficiency(clipped)
    assert fixed == pytest.approx(0.174, abs=0.005)


def _encode_in_rounds(barrier, model_dir: str, rounds: int, results) -> None:
    from kit.data.encoding import encode
    from kit.runtime.hf import load_tokenizer

    tokenizer = load_tokenizer(model_dir)
    for r in range(rounds):
        texts = [f"{r} {text}" for text in corpus()]  # a new cache entry each round
        barrier.wait()  # every process writes the same entry at the same moment, as DDP ranks do
        try:
            results.put((r, encode(tokenizer, texts, 64).ids.tobytes()))
        except Exception as error:  # reported, so the test fails with the reason instead of waiting
            results.put((r, repr(error)))


@pytest.mark.slow
def test_processes_writing_one_cache_entry_at_once_all_succeed(tiny_model_dir):
    import multiprocessing

    processes, rounds = 4, 8
    ctx = multiprocessing.get_context("fork")
    barrier, results = ctx.Barrier(processes), ctx.Queue()
    args = (barrier, str(tiny_model_dir), rounds, results)
    workers = [ctx.Process(target=_encode_in_rounds, args=args) for _ in range(processes)]
    for worker in workers:
        worker.start()
    outcomes: dict[int, set] = {}
    for _ in range(processes * rounds):
        r, outcome = results.get(timeout=120)
        outcomes.setdefault(r, set()).add(outcome)
    for worker in workers:
        worker.join()
    errors = [o for found in outcomes.values() for o in found if isinstance(o, str)]
    assert errors == []
    assert all(len(found) == 1 for found in outcomes.values())  # every process read the same ids
