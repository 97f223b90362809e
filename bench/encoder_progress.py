"""How far a fine-tuning run has got, on rows it never trains on, without exporting it.

    .venv/bin/python bench/encoder_progress.py --data ../shared/data [--state DIR] [--per-language 400]

Reads the run's current checkpoint (torch, fp32; needs the `train` extra) and prints:
- the held-out part of our threat set: threat ROC-AUC (threats against hard negatives) per
  language;
- a sample of the public dev split (`--per-language` rows each of en, ar, fa, tr; the same rows
  every time): overall ROC-AUC per language, and per category where the sample has labels.
These are the encoder's own heads, before the cascade's stackers and bands; `bench/cascade.py`
and `bench/threats.py` measure the shipped cascade. Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import hashlib
import os
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "2")


def logits_of(state: Path, texts: list[str]):
    from civility.engine.training import encoder

    model, config, payload = encoder.load_run(state)
    tokenizer = encoder.load_tokenizer()
    ids = [e.ids for e in tokenizer.encode_batch([encoder.prepare_text(t) for t in texts])]
    return encoder.predict_logits(model, ids), int(payload["step"]), config


def auc(y, s):
    from sklearn.metrics import roc_auc_score

    return roc_auc_score(y, s) if 0 < sum(y) < len(y) else float("nan")


def main() -> None:
    import numpy as np

    from civility.engine.training import datasets, resumable, threat_set
    from civility.engine.training.datasets import TARGETS, UNKNOWN

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--state", type=Path, default=None)
    parser.add_argument("--per-language", type=int, default=400)
    parser.add_argument("--shipped", action="store_true", help="the shipped encoder instead")
    args = parser.parse_args()
    state = args.state or resumable.default_state_dir()

    held = [r for r in threat_set.load() if r.split == "heldout"]
    dev = [r for r in datasets.load(args.data) if r.split == "dev"]
    sample = []
    for lang in ("en", "ar", "fa", "tr"):
        mine = sorted(
            (r for r in dev if r.language == lang),
            key=lambda r: hashlib.sha1(r.text.encode(), usedforsecurity=False).hexdigest(),
        )
        sample += mine[: args.per_language]
    rows = held + sample
    if args.shipped:
        from civility.engine.encoder import EncoderScorer

        scorer = EncoderScorer(threads=2)
        logits = scorer.logits([r.text for r in rows])
        print(f"shipped encoder {scorer.version} (int8 ONNX)")
    else:
        logits, step, config = logits_of(state, [r.text for r in rows])
        epochs = step * config.batch_size / config.rows
        print(f"run in {state}: step {step} of {config.planned_steps} ({epochs:.2f} epochs)")
    threat = TARGETS.index("threat")
    print("held-out threat set, threat AUC:")
    for lang in ("en", "ar", "fa", "tr", "ckb", "kmr"):
        idx = [i for i, r in enumerate(held) if r.language == lang]
        y = [held[i].labels["threat"] for i in idx]
        print(f"  {lang:>4}: {auc(y, logits[idx, threat]):.3f} ({len(idx)} rows)")
    y_all = [r.labels["threat"] for r in held]
    print(f"   all: {auc(y_all, logits[: len(held), threat]):.3f}")
    print(f"dev sample ({args.per_language} rows per language), AUC of the encoder's heads:")
    offset = len(held)
    for lang in ("en", "ar", "fa", "tr"):
        idx = [offset + i for i, r in enumerate(sample) if r.language == lang]
        cells = []
        for j, head in enumerate(TARGETS):
            y = np.array([rows[i].labels[head] for i in idx])
            known = y != UNKNOWN
            if known.sum() >= 20 and 5 <= (y[known] == 1).sum() < known.sum():
                cells.append(f"{head} {auc(y[known], logits[np.array(idx)[known], j]):.3f}")
        print(f"  {lang:>4}: " + ", ".join(cells))


if __name__ == "__main__":
    main()
