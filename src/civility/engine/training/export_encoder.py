"""Turn a fine-tuned encoder (encoder.py's DIR) into the CPU runtime artifact the engine ships.

    python -m civility.engine.training.export_encoder --checkpoint DIR --data ../shared/data \
        --out src/civility/models/encoder

1. Prune the vocabulary to the pieces our languages use: every piece that tokenising the
   training split produces, plus every single-character piece of the Latin, Arabic and common
   (digits, punctuation, symbols, emoji) scripts, so any text still tokenises without <unk>:
   a word whose piece was dropped falls back to smaller pieces. The coverage lost is measured on
   texts the selection never saw (the dev split and newsroom_dev, Kurdish included).
2. Export to ONNX (mean pooling and the heads inside the graph; opset 17), then int8 dynamic
   per-channel quantisation, checked against fp32 on dev rows (AUC per head).

Writes DIR/encoder.int8.onnx, DIR/tokenizer.json (pruned) and DIR/encoder.json (metadata and
the figures measured here). Needs the `train` extra.
"""

from __future__ import annotations

import argparse
import copy
import json
import re
import unicodedata
from collections import Counter
from pathlib import Path

import numpy as np

from ..encoder import pad_batch
from . import datasets
from .datasets import TARGETS, UNKNOWN
from .e5_weights import tokenizer_file
from .encoder import MAX_TOKENS, PREFIX, EncoderClassifier, prepare_text

SPECIALS = 4  # <s> <pad> </s> <unk> keep ids 0-3


def _script_ok(ch: str) -> bool:
    """Characters of the scripts our six languages write in, plus the shared ones."""
    if ch.isascii():
        return True
    code = ord(ch)
    if 0x00C0 <= code <= 0x024F or 0x1E00 <= code <= 0x1EFF:  # Latin letters with marks
        return True
    if 0x0600 <= code <= 0x06FF or 0x0750 <= code <= 0x08FF or 0xFB50 <= code <= 0xFEFF:
        return True
    category = unicodedata.category(ch)
    return category[0] in "PNSZ"  # punctuation, digits, symbols (emoji), spaces


# Whole pieces kept whatever the corpus says: Arabic-script pieces (Arabic, Persian and Sorani
# share them; Sorani has no training text) and Latin pieces with Kurmanji's circumflexed vowels.
_ARABIC_PIECE = re.compile(
    "^\u2581?[\u0600-\u06ff\u0750-\u077f\u08a0-\u08ff\ufb50-\ufdff\ufe70-\ufeff\u200c]+$"
)
_KURMANJI_PIECE = re.compile(
    "^\u2581?[a-zA-Z\u00e7\u015f\u00ea\u00ee\u00fb\u00ca\u00ce\u00db]*[\u00ea\u00ee\u00fb\u00ca\u00ce\u00db][a-zA-Z\u00e7\u015f\u00ea\u00ee\u00fb]*$"
)


def select_vocabulary(vocab: list, texts: list[str], tokenizer, min_count: int = 2) -> list[int]:
    """Ids to keep, in their original order (so the specials keep ids 0-3): pieces the corpus
    uses at least `min_count` times (once is mostly tweet noise: handles, other scripts), the
    script-wide pieces above, and every single character of our scripts, so that any text
    still tokenises without <unk>."""
    counts: Counter[int] = Counter()
    for start in range(0, len(texts), 4096):
        for encoding in tokenizer.encode_batch(texts[start : start + 4096]):
            counts.update(encoding.ids)
    used = set(range(SPECIALS)) | {i for i, n in counts.items() if n >= min_count}
    for index, (piece, _score) in enumerate(vocab):
        stripped = piece.lstrip("\u2581")
        if len(stripped) <= 1 and all(_script_ok(ch) for ch in stripped):
            used.add(index)
        elif _ARABIC_PIECE.match(piece) or _KURMANJI_PIECE.match(piece):
            used.add(index)
    if vocab[-1][0] == "<mask>":
        used.discard(len(vocab) - 1)
    return sorted(used)


def pruned_tokenizer(full: dict, kept: list[int]) -> dict:
    pruned = copy.deepcopy(full)
    pruned["model"]["vocab"] = [full["model"]["vocab"][i] for i in kept]
    pruned["added_tokens"] = [t for t in full["added_tokens"] if t["id"] < SPECIALS]
    return pruned


def coverage(full, pruned, texts: list[str]) -> dict:
    """How far the pruned tokenizer departs from the full one on these texts."""
    a = full.encode_batch(texts)
    b = pruned.encode_batch(texts)
    same = sum(x.tokens == y.tokens for x, y in zip(a, b, strict=True))
    tokens_full = sum(len(x.ids) for x in a)
    tokens_pruned = sum(len(y.ids) for y in b)
    unk = sum(y.ids.count(3) for y in b)
    return {
        "texts": len(texts),
        "identical_share": round(same / max(1, len(texts)), 4),
        "token_growth": round(tokens_pruned / max(1, tokens_full) - 1, 4),
        "unk_tokens": unk,
    }


def newsroom_texts(data: Path) -> dict[str, list[str]]:
    by_language: dict[str, list[str]] = {}
    for path in sorted((data / "newsroom_dev").glob("*.jsonl")):
        for line in path.read_text("utf-8").splitlines():
            if line.strip():
                row = json.loads(line)
                text = row.get("text") or row.get("comment") or ""
                by_language.setdefault(row.get("language", row.get("lang", "?")), []).append(text)
    return by_language


def build_model(checkpoint: Path, meta: dict, kept: list[int]):
    import torch

    model = EncoderClassifier.build(meta["layers"], len(meta["heads"]), attention="eager")
    state = torch.load(checkpoint / "encoder.pt", map_location="cpu")
    model.load_state_dict(state, strict=False)
    full = model.bert.embeddings.word_embeddings.weight.data
    small = torch.nn.Embedding(len(kept), full.shape[1], padding_idx=1)
    small.weight.data = full[torch.tensor(kept)].clone()
    model.bert.embeddings.word_embeddings = small
    model.bert.config.vocab_size = len(kept)
    return model.eval()


def export_onnx(model, path: Path) -> None:
    import torch

    class Graph(torch.nn.Module):
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, input_ids, attention_mask):
            return self.inner(input_ids, attention_mask)

    ids = torch.ones((2, 16), dtype=torch.long)
    mask = torch.ones((2, 16), dtype=torch.long)
    torch.onnx.export(
        Graph(model),
        (ids, mask),
        str(path),
        input_names=["input_ids", "attention_mask"],
        output_names=["logits"],
        dynamic_axes={
            "input_ids": {0: "batch", 1: "tokens"},
            "attention_mask": {0: "batch", 1: "tokens"},
            "logits": {0: "batch"},
        },
        opset_version=17,
        dynamo=False,
    )


def quantize(fp32: Path, int8: Path) -> None:
    from onnxruntime.quantization import QuantType, quantize_dynamic

    quantize_dynamic(str(fp32), str(int8), weight_type=QuantType.QInt8, per_channel=True)


def onnx_logits(path: Path, tokenizer, texts: list[str]) -> np.ndarray:
    import onnxruntime as ort

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    encodings = tokenizer.encode_batch([prepare_text(t) for t in texts])
    order = np.argsort([len(e.ids) for e in encodings])
    out = np.zeros((len(texts), len(TARGETS)), np.float32)
    for start in range(0, len(order), 32):
        group = order[start : start + 32]
        ids, mask = pad_batch([encodings[i].ids for i in group])
        out[group] = session.run(None, {"input_ids": ids, "attention_mask": mask})[0]
    return out


def auc_per_head(logits: np.ndarray, rows) -> dict[str, float]:
    from sklearn.metrics import roc_auc_score

    result = {}
    for j, head in enumerate(TARGETS):
        y = np.array([r.labels[head] for r in rows])
        known = y != UNKNOWN
        if known.sum() and 0 < y[known].sum() < known.sum():
            result[head] = round(float(roc_auc_score(y[known], logits[known, j])), 4)
    return result


def export(checkpoint: Path, data: Path, out: Path, sample: int = 3000, log=print) -> dict:
    from tokenizers import Tokenizer

    out.mkdir(parents=True, exist_ok=True)
    meta = json.loads((checkpoint / "encoder.json").read_text("utf-8"))
    full_json = json.loads(tokenizer_file().read_text("utf-8"))
    full = Tokenizer.from_str(json.dumps(full_json))
    full.enable_truncation(MAX_TOKENS)
    rows = datasets.load(data, frozenset(datasets.READERS))
    train_texts = [prepare_text(r.text) for r in rows if r.split == "train"]
    kept = select_vocabulary(full_json["model"]["vocab"], train_texts, full)
    pruned_json = pruned_tokenizer(full_json, kept)
    pruned = Tokenizer.from_str(json.dumps(pruned_json))
    pruned.enable_truncation(MAX_TOKENS)
    dev = [r for r in rows if r.split == "dev" and r.source in datasets.TRAINABLE]
    rng = np.random.default_rng(0)
    dev = [dev[i] for i in sorted(rng.choice(len(dev), min(sample, len(dev)), replace=False))]
    cover = {"dev_split": coverage(full, pruned, [prepare_text(r.text) for r in dev])}
    for language, texts in newsroom_texts(data).items():
        cover[f"newsroom_{language}"] = coverage(full, pruned, [prepare_text(t) for t in texts])
    log(f"vocabulary {len(full_json['model']['vocab'])} -> {len(kept)} pieces; {cover}")

    model = build_model(checkpoint, meta, kept)
    fp32 = out / "encoder.fp32.onnx"
    int8 = out / "encoder.int8.onnx"
    export_onnx(model, fp32)
    quantize(fp32, int8)
    (out / "tokenizer.json").write_text(json.dumps(pruned_json, ensure_ascii=False), "utf-8")
    texts = [r.text for r in dev]
    auc_fp32 = auc_per_head(onnx_logits(fp32, pruned, texts), dev)
    auc_int8 = auc_per_head(onnx_logits(int8, pruned, texts), dev)
    log(f"dev AUC fp32 {auc_fp32}\n        int8 {auc_int8}")
    fp32.unlink()
    figures = {
        "vocabulary": {"full": len(full_json["model"]["vocab"]), "kept": len(kept)},
        "coverage": cover,
        "dev_auc_fp32_pruned": auc_fp32,
        "dev_auc_int8_pruned": auc_int8,
        "dev_sample": len(dev),
        "int8_bytes": int8.stat().st_size,
    }
    runtime_meta = {
        **{k: meta[k] for k in ("base", "layers", "heads", "steps", "batch_size", "seed")},
        # A run in several sittings also says how far it got (encoder.write_checkpoint).
        **{
            k: meta[k]
            for k in ("frozen_layers", "planned_steps", "epochs", "rows", "data_fingerprint")
            if k in meta
        },
        "max_tokens": MAX_TOKENS,
        "prefix": PREFIX,
        "version": f"e5s{meta['layers']}-{meta['steps']}",
        "export": figures,
    }
    (out / "encoder.json").write_text(json.dumps(runtime_meta, indent=2), "utf-8")
    return runtime_meta


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", type=Path, required=True)
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--sample", type=int, default=3000)
    args = parser.parse_args(argv)
    export(args.checkpoint, args.data, args.out, args.sample)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
