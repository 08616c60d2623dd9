"""Texts cut by characters before tokenizing, so one huge text costs no more than the model can use.

Tokenizers truncate only after tokenizing the whole text: a 50 MB review took 119 s and 4.9 GB
before being cut to 128 tokens. Every tokenizing path (training, export validation, bench,
predict, serve) cuts texts here first, at `CHARS_PER_TOKEN` characters per token of
`max_length`: a WordPiece token spans a few characters (NSMC averages under 2), so the cut
never changes the ids of real text (the tests compare against tokenizing the whole text). The cut
keeps the end the tokenizer keeps: a left-truncating task keeps a text's last characters.
"""

from __future__ import annotations

CHARS_PER_TOKEN = 32


def char_limit(max_length: int) -> int:
    """Characters kept of a text that will be truncated to `max_length` tokens."""
    return max_length * CHARS_PER_TOKEN


def cap_texts(texts: list[str], max_length: int, side: str = "right") -> list[str]:
    """`texts` with each cut to `char_limit(max_length)` characters, from the end `side` truncates (the same
    objects when short)."""
    limit = char_limit(max_length)
    if side == "left":
        return [t if len(t) <= limit else t[-limit:] for t in texts]
    return [t if len(t) <= limit else t[:limit] for t in texts]
