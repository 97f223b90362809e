"""The comment texts the throughput benches post and queue; every figure they print names the set.

- **news** (the default): the realistic news mix of `bench/cascade.py` (`MIX`: C3 and Civil
  Comments dev rows, 45% and 25%, with Arabic, Persian and Turkish dev rows, 10% each), texts
  of at most 2,000 characters (the site's limit), shuffled with a fixed seed. What a newsroom's
  comments cost the engine: most of them reach the encoder tier.
- **template**: three short English template sentences with a number in them (a civil remark,
  an insult, a question). The fast tier settles much of it cheaply, so figures on it are a
  lower bound on the engine's cost, not what a newsroom sees.
"""

from __future__ import annotations

import random
from pathlib import Path

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
TEXT_SETS = ("news", "template")
# What the tests' scripted engine (and, for these texts, the shipped one) decides: approve,
# reject, leave to a human.
TEMPLATES = (
    "A considered remark number {n} about the talks and what they mean for the region.",
    "You are an idiot, number {n}, and so is everyone who agrees with you.",
    "hmm, number {n}: I wonder whether anyone checked the figures in the report.",
)
MAX_CHARS = 2000


class TextSet:
    """`texts(n)`: the n-th comment of the set (the news mix repeats after its last text)."""

    def __init__(self, name: str, data: str | Path = DEFAULT_DATA, size: int = 3000):
        if name not in TEXT_SETS:
            raise ValueError(f"unknown text set {name!r}: {', '.join(TEXT_SETS)}")
        self.name = name
        self.pool: list[str] = []
        if name == "news":
            from cascade import MIX, mix_texts

            self.pool = [t for t in mix_texts(Path(data), size) if 0 < len(t.strip()) <= MAX_CHARS]
            if not self.pool:
                raise SystemExit(f"no news-mix texts under {data} (--data)")
            random.Random(20261207).shuffle(self.pool)
            self.label = (
                f"news mix ({len(self.pool)} dev comments: "
                + ", ".join(f"{k} {v:.0%}" for k, v in MIX.items())
                + ")"
            )
        else:
            self.pool = list(TEMPLATES)
            self.label = "template sentences (3, short English; a lower bound on engine cost)"

    def __call__(self, index: int, number: int | None = None) -> str:
        """The text at `index` of the pool (cycling); a template gets `number` (default
        `index`) written into it."""
        text = self.pool[index % len(self.pool)]
        if self.name == "template":
            return text.format(n=index if number is None else number)
        return text
