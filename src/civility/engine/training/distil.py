"""Distil the fine-tuned encoder (the teacher) into a smaller student, for speed.

    civility train --tier encoder --data ../shared/data --student-of TEACHER \
        [--layers 6] [--frozen-layers 2] [--epochs 2] [--state STUDENT_STATE] [--resume]

1. The teacher's logits for every training row, computed once and kept beside the student's
   state (`teacher_logits.npy`, valid for the teacher and rows it was computed for). TEACHER is
   a training state folder (its cached lower-layer outputs, then its trained upper layers and
   heads) or an exported tier folder such as src/civility/models/encoder (the int8 ONNX model,
   each row's first window: how training reads it).
2. The student, the first `--layers` layers of e5-small with fresh heads, trained like the
   teacher (encoder.train: resumable, same rows, same draw) on a loss that is mostly the
   cross-entropy against the teacher's probabilities on every head (encoder.SOFT_WEIGHT) and
   partly the rows' own labels. The teacher's "soft" scores carry what it learnt about rows a
   source left unlabelled in some category.
Export and cascade fit then run as for the teacher (encoder_tier.py).
"""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path

import numpy as np

from ..encoder import META_FILE, MODEL_FILE, EncoderScorer
from . import encoder, resumable
from .datasets import TARGETS, Row


def cached_logits(out: Path, stamp: dict, compute) -> np.ndarray:
    """`out`/teacher_logits.npy when its stamp (teacher and rows) matches, else `compute()`,
    saved atomically with the stamp."""
    saved, saved_stamp = out / "teacher_logits.npy", out / "teacher_logits.json"
    if saved.exists() and saved_stamp.exists():
        if json.loads(saved_stamp.read_text("utf-8")) == stamp:
            return np.load(saved)
    logits = compute()
    out.mkdir(parents=True, exist_ok=True)
    tmp = out / "teacher_logits.tmp.npy"
    np.save(tmp, logits)
    tmp.replace(saved)
    resumable.write_atomic(saved_stamp, json.dumps(stamp))
    return logits


def teacher_logits(teacher_state: Path, rows: list[Row], out: Path, log=print) -> np.ndarray:
    """rows x heads logits of the teacher in `teacher_state`, cached in `out`."""
    import torch

    model, config, payload = encoder.load_run(teacher_state)
    texts = [encoder.prepare_text(r.text) for r in rows]
    stamp = {
        "teacher_step": int(payload["step"]),
        "teacher_data": config.data_fingerprint,
        "rows": resumable.data_fingerprint(texts, encoder.label_matrix(rows), np.zeros(0)),
    }

    def compute() -> np.ndarray:
        device = "cuda" if torch.cuda.is_available() else "cpu"
        tokenizer = encoder.load_tokenizer()
        encodings = [e.ids for e in tokenizer.encode_batch(texts)]
        keys = [resumable.text_key(t) for t in texts]
        cache = None
        if config.frozen_layers:
            cache = resumable.LayerCache(teacher_state / f"cache-L{config.frozen_layers}")
            encoder.build_cache(cache, keys, encodings, config.frozen_layers, device, log)
        log(f"teacher logits for {len(rows)} rows (step {payload['step']})")
        return encoder.predict_logits(
            model, encodings, device, cache, keys, config.frozen_layers, log=log
        )

    return cached_logits(out, stamp, compute)


def is_exported(teacher: Path) -> bool:
    """A shipped or exported tier folder (ONNX), rather than a training state folder."""
    return (teacher / MODEL_FILE).exists() and not (teacher / "checkpoint.pt").exists()


def exported_teacher_logits(
    folder: Path, rows: list[Row], out: Path, *, threads: int = 2, log=print
) -> np.ndarray:
    """rows x heads logits of an exported teacher (the shipped int8 tier, say), read as training
    reads a row: its first window of MAX_TOKENS tokens, scored alone as the runtime does. Cached
    in `out` like teacher_logits. This is what makes a student possible when the teacher's
    training state is gone: the quantised teacher's scores are what the product ships, so they
    are the ones to imitate."""
    scorer = EncoderScorer(folder, threads=threads)
    if scorer.max_tokens != encoder.MAX_TOKENS or scorer.prefix != encoder.PREFIX:
        raise ValueError(f"{folder}: exported with another window or prefix than training uses")
    if scorer.heads != tuple(TARGETS):
        raise ValueError(f"{folder}: heads {scorer.heads} differ from training's {TARGETS}")
    texts = [encoder.prepare_text(r.text) for r in rows]
    stamp = {
        "teacher_export": scorer.version,
        "teacher_model": hashlib.sha256((folder / MODEL_FILE).read_bytes()).hexdigest()[:16],
        "rows": resumable.data_fingerprint(texts, encoder.label_matrix(rows), np.zeros(0)),
    }

    def compute() -> np.ndarray:
        log(f"teacher logits for {len(rows)} rows from the exported tier {scorer.version}")
        logits = np.empty((len(rows), len(scorer.heads)), np.float32)
        started = time.monotonic()
        for index, row in enumerate(rows):
            logits[index] = scorer.window_logits(scorer.windows(row.text)[0])
            if index % 10000 == 0:
                log(f"  {index}/{len(rows)} rows, {time.monotonic() - started:.0f} s")
        return logits

    return cached_logits(out, stamp, compute)


def distil(
    rows: list[Row],
    teacher_state: Path,
    student_state: Path,
    *,
    layers: int = 6,
    frozen_layers: int = 2,
    epochs: float = 2.0,
    steps: int | None = None,
    resume: bool = False,
    fresh: bool = False,
    checkpoint_minutes: float = 5.0,
    log=print,
) -> dict:
    exported = is_exported(teacher_state)
    if exported:
        teacher_layers = int(json.loads((teacher_state / META_FILE).read_text("utf-8"))["layers"])
    else:
        teacher_layers = resumable.RunConfig.read(teacher_state / "run.json").layers
    if layers >= teacher_layers:
        raise ValueError("the student must have fewer layers than its teacher")
    if exported:
        soft = exported_teacher_logits(teacher_state, rows, student_state, log=log)
    else:
        soft = teacher_logits(teacher_state, rows, student_state, log)
    return encoder.train(
        rows,
        student_state,
        epochs=epochs,
        layers=layers,
        frozen_layers=frozen_layers,
        steps=steps,
        resume=resume,
        fresh=fresh,
        checkpoint_minutes=checkpoint_minutes,
        soft_targets=soft,
        log=log,
    )
