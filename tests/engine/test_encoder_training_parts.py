"""The parts of the encoder recipe that need no torch: weight recovery and vocabulary pruning."""

from __future__ import annotations

import json

import numpy as np
from tokenizers import Tokenizer

from civility.engine.training.e5_weights import BLOCK_BYTES, QK, dequantize_q4_0
from civility.engine.training.export_encoder import pruned_tokenizer, select_vocabulary


def test_q4_0_low_nibbles_are_the_first_half_of_the_block():
    scale = np.array([0.5], np.float16).tobytes()
    packed = bytes(j | ((15 - j) << 4) for j in range(16))  # low nibble j, high 15-j
    block = scale + packed
    assert len(block) == BLOCK_BYTES
    weights = dequantize_q4_0(block, QK)
    np.testing.assert_allclose(weights[:16], [(j - 8) * 0.5 for j in range(16)])
    np.testing.assert_allclose(weights[16:], [(15 - j - 8) * 0.5 for j in range(16)])


def test_dequantize_rejects_a_size_mismatch():
    import pytest

    with pytest.raises(ValueError):
        dequantize_q4_0(bytes(BLOCK_BYTES), QK * 2)


def tiny_unigram() -> dict:
    vocab = [["<s>", 0.0], ["<pad>", 0.0], ["</s>", 0.0], ["<unk>", 0.0]]
    pieces = [
        "\u2581hello",
        "\u2581world",
        "\u2581",
        "h",
        "e",
        "l",
        "o",
        "w",
        "r",
        "d",
        "中",
        "\u2581中文",
    ]
    vocab += [[p, -float(i + 1)] for i, p in enumerate(pieces)]
    vocab.append(["<mask>", 0.0])
    return {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": [
            {
                "id": i,
                "content": t,
                "single_word": False,
                "lstrip": False,
                "rstrip": False,
                "normalized": False,
                "special": True,
            }
            for i, t in enumerate(["<s>", "<pad>", "</s>", "<unk>"])
        ]
        + [
            {
                "id": len(vocab) - 1,
                "content": "<mask>",
                "single_word": False,
                "lstrip": True,
                "rstrip": False,
                "normalized": False,
                "special": True,
            }
        ],
        "normalizer": None,
        "pre_tokenizer": {
            "type": "Metaspace",
            "replacement": "\u2581",
            "prepend_scheme": "always",
            "split": True,
        },
        "post_processor": None,
        "decoder": None,
        "model": {"type": "Unigram", "unk_id": 3, "vocab": vocab, "byte_fallback": False},
    }


def test_pruning_keeps_used_pieces_and_single_characters_of_our_scripts():
    full = tiny_unigram()
    tokenizer = Tokenizer.from_str(json.dumps(full))
    kept = select_vocabulary(full["model"]["vocab"], ["hello", "hello world"], tokenizer)
    pieces = [full["model"]["vocab"][i][0] for i in kept]
    assert pieces[:4] == ["<s>", "<pad>", "</s>", "<unk>"]
    assert "\u2581hello" in pieces  # used by the corpus
    assert "\u2581world" not in pieces  # used once: not enough
    assert {"w", "o", "r", "l", "d"} <= set(pieces)  # letters stay so "world" still tokenises
    assert "中" not in pieces and "<mask>" not in pieces
    pruned = Tokenizer.from_str(json.dumps(pruned_tokenizer(full, kept)))
    assert 3 not in pruned.encode("world").ids
    assert pruned.encode("hello").tokens == tokenizer.encode("hello").tokens
