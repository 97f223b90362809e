"""The accurate tier at run time: fine-tuned multilingual-e5-small, int8 ONNX, no torch.

Reads `models/encoder/`: `encoder.int8.onnx` (the transformer, mean pooling and seven heads in one
graph), `tokenizer.json` (e5's SentencePiece vocabulary pruned to our six languages' scripts) and
`encoder.json` (version, heads, limits, the figures measured at export). Built by
`engine/training/encoder.py` and `export_encoder.py`; docs/model-card.md has the recipe.

Only onnxruntime, tokenizers and numpy are needed. Comments longer than the model's window are
read in overlapping windows and each head takes its highest window, so a threat at the end of a
long comment still counts.
"""

from __future__ import annotations

import json
import os
import re
import unicodedata
from pathlib import Path

import numpy as np

from .text import fold_look_alike_words

SHIPPED_ENCODER = Path(__file__).resolve().parent.parent / "models" / "encoder"
MODEL_FILE = "encoder.int8.onnx"
TOKENIZER_FILE = "tokenizer.json"
META_FILE = "encoder.json"
# Windows over long comments: at most this many per comment (20k characters is the limit).
MAX_WINDOWS = 16
_SPACES = re.compile(r"\s+")


def model_text(text: str) -> str:
    """What the encoder reads: NFKC (fullwidth and styled letters fold to plain ones), format
    characters dropped (zero-width spaces, joiners, bidi controls: they split words into pieces
    the model never saw), Cyrillic/Greek look-alikes folded in words that mix them with Latin
    letters ("уоu іdiоt": evasion the training text barely shows), whitespace collapsed. The
    zero-width non-joiner stays: Persian and Sorani spell with it."""
    text = unicodedata.normalize("NFKC", text)
    if not text.isascii():
        text = "".join(ch for ch in text if ch == "\u200c" or unicodedata.category(ch) != "Cf")
        text = fold_look_alike_words(text)
    return _SPACES.sub(" ", text).strip()


def pad_batch(sequences) -> tuple[np.ndarray, np.ndarray]:
    """Token id lists as (input_ids, attention_mask), padded with <pad> (id 1) to the longest."""
    longest = max(len(seq) for seq in sequences)
    ids = np.ones((len(sequences), longest), np.int64)
    mask = np.zeros((len(sequences), longest), np.int64)
    for row, seq in enumerate(sequences):
        ids[row, : len(seq)] = seq
        mask[row, : len(seq)] = 1
    return ids, mask


def sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(z, -40, 40)))


class EncoderScorer:
    """Per-head logits and probabilities for batches of comments."""

    def __init__(self, folder: str | Path | None = None, threads: int | None = None):
        folder = Path(folder) if folder else SHIPPED_ENCODER
        for name in (MODEL_FILE, TOKENIZER_FILE, META_FILE):
            if not (folder / name).exists():
                raise FileNotFoundError(f"encoder tier: {folder / name} not found")
        try:
            import onnxruntime as ort
            from tokenizers import Tokenizer
        except ImportError as error:
            raise ImportError(
                f"the encoder tier needs onnxruntime and tokenizers: {error}"
            ) from error
        self.meta = json.loads((folder / META_FILE).read_text("utf-8"))
        self.version: str = self.meta["version"]
        self.heads: tuple[str, ...] = tuple(self.meta["heads"])
        self.prefix: str = self.meta["prefix"]
        self.max_tokens: int = int(self.meta["max_tokens"])
        self.tokenizer = Tokenizer.from_file(str(folder / TOKENIZER_FILE))
        self.tokenizer.no_truncation()
        self.tokenizer.no_padding()
        options = ort.SessionOptions()
        # One thread per call: servers run one process per core, and a single comment is
        # too small to split; the batch bench sets more where it wants them.
        options.intra_op_num_threads = threads or int(os.environ.get("CIVILITY_ENCODER_THREADS", 1))
        options.inter_op_num_threads = 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self.session = ort.InferenceSession(
            str(folder / MODEL_FILE), options, providers=["CPUExecutionProvider"]
        )

    def windows(self, text: str) -> list[list[int]]:
        """Token ids of the comment in windows of at most max_tokens, <s> … </s> each."""
        ids = self.tokenizer.encode(self.prefix + model_text(text)).ids
        body = ids[1:-1]  # without <s> and </s>
        width = self.max_tokens - 2
        if len(body) <= width:
            return [ids]
        stride = width * 3 // 4
        starts = list(range(0, len(body) - width + stride, stride))[:MAX_WINDOWS]
        return [[ids[0], *body[s : s + width], ids[-1]] for s in starts]

    def window_logits(self, window: list[int]) -> np.ndarray:
        """One window alone, (n_heads,). Never batched: dynamic int8 quantises activations per
        call, so a window run beside others (and their padding) moved by up to 0.24 in
        probability. Alone, a comment scores the same in any company, and measured on the
        news mix on one core it is no slower (51 against 47 comments/s: no padding)."""
        ids = np.array([window], np.int64)
        feed = {"input_ids": ids, "attention_mask": np.ones_like(ids)}
        return self.session.run(None, feed)[0][0]

    def logits(self, texts: list[str]) -> np.ndarray:
        """(len(texts), n_heads): each head's highest logit over the comment's windows."""
        out = np.full((len(texts), len(self.heads)), -np.inf, np.float32)
        for index, text in enumerate(texts):
            for window in self.windows(text):
                np.maximum(out[index], self.window_logits(window), out=out[index])
        return out

    def score_many(self, texts: list[str]) -> list[dict[str, float]]:
        probabilities = sigmoid(self.logits(texts))
        return [dict(zip(self.heads, map(float, row), strict=True)) for row in probabilities]
