"""Synthetic Korean movie reviews in the NSMC release format, for tests.

A review's label follows its sentiment words (positive vs negative majority), so a
model that learns reaches clearly-above-chance accuracy; filler words vary length.
"""

from __future__ import annotations

import random
from pathlib import Path

POSITIVE = ["최고", "재밌다", "감동", "추천", "명작", "좋았다", "훌륭하다", "웃겼다", "대박", "사랑스럽다"]
NEGATIVE = ["최악", "지루", "실망", "노잼", "별로", "졸았다", "아깝다", "엉망", "짜증", "후회"]
FILLER = [
    "영화",
    "배우",
    "스토리",
    "진짜",
    "정말",
    "그냥",
    "연기",
    "음악",
    "장면",
    "감독",
    "오늘",
    "주말에",
    "친구랑",
    "봤는데",
    "이번",
    "결말",
    "처음",
    "극장",
    "느낌",
    "ㅋㅋ",
    "...",
    "!!",
]


def review(rng: random.Random, label: int) -> str:
    major, minor = (POSITIVE, NEGATIVE) if label else (NEGATIVE, POSITIVE)
    n_major = rng.randint(1, 3)
    words = [rng.choice(major) for _ in range(n_major)]
    words += [rng.choice(minor) for _ in range(rng.randint(0, n_major - 1))]
    words += [rng.choice(FILLER) for _ in range(rng.choice([2, 3, 5, 8, 12, 20, 40]))]
    rng.shuffle(words)
    return " ".join(words)


def write_nsmc(folder: Path, n_train: int = 600, n_test: int = 200, seed: int = 0) -> Path:
    """Write ratings_train.txt / ratings_test.txt like the release: pandas-style quoting, an empty row each."""
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    for name, n in (("ratings_train.txt", n_train), ("ratings_test.txt", n_test)):
        lines = ["id\tdocument\tlabel"]
        for i in range(n):
            label = i % 2
            text = review(rng, label)
            if i == 3:
                text = ""  # the release has empty documents
            if i == 5:
                text = f'"{text}" 이라고 함'  # and documents with double quotes, which pandas quoted
            if '"' in text:
                text = '"' + text.replace('"', '""') + '"'
            lines.append(f"{1000 + i}\t{text}\t{label}")
        (folder / name).write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder


def corpus(n: int = 2000, seed: int = 1) -> list[str]:
    rng = random.Random(seed)
    return [review(rng, i % 2) for i in range(n)]


NEUTRAL = ["보통", "그럭저럭", "평범", "무난", "애매"]
THREE_CLASSES = ("neg", "neu", "pos")


def three_class_review(rng: random.Random, label: str) -> str:
    words = {"neg": NEGATIVE, "neu": NEUTRAL, "pos": POSITIVE}[label]
    picked = [rng.choice(words) for _ in range(rng.randint(1, 3))]
    picked += [rng.choice(FILLER) for _ in range(rng.choice([2, 3, 5, 8, 12]))]
    rng.shuffle(picked)
    return " ".join(picked)


def write_three_class_csv(path: Path, rows: int, seed: int = 0) -> Path:
    """A CSV of your own reviews: columns review (the text), stars (another column) and sentiment (string
    labels neg/neu/pos), quoted where a text has a comma."""
    import csv

    rng = random.Random(seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["stars", "review", "sentiment"])
        for i in range(rows):
            label = THREE_CLASSES[i % 3]
            text = three_class_review(rng, label) + (", 그래도" if i % 7 == 0 else "")
            writer.writerow([{"neg": 1, "neu": 3, "pos": 5}[label], text, label])
    return path
