"""Relevance of a comment to its article: 0 (off-topic) .. 1 (on-topic).

TF-IDF cosine over the matching view's word unigrams and character 3-5-grams, with the
vocabulary and IDF fitted on the article itself (its title counted several times, so title
words weigh more). Short comments carry little evidence either way, so their score is pulled
towards a neutral prior: "Great reporting, thanks" is neither on- nor off-topic.
Fitted articles are kept in a small LRU cache keyed by a hash of title + body.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections import Counter, OrderedDict
from dataclasses import dataclass

from .text import normalize

__all__ = ["RelevanceScorer"]

NEUTRAL = 0.5
_WORD_RE = re.compile(r"[^\W_]{2,}")
_TITLE_WEIGHT = 3
# Frequent function words in the supported languages: they say nothing about the topic.
_STOPWORDS = frozenset(
    """
    the a an and or but if of to in on at for with from by as is are was were be been it its
    this that these those i you he she we they me him her us them my your our their not no so
    do does did have has had will would can could should just very about what which who how
    there here than then also too more most all any some such only into out up down over
    ve bir bu için çok ama da de ile gibi değil mi ben sen biz siz ne
    û ji di bi ku ez tu em ew jî li ev wê wî ye
    و في من على إلى عن أن ان هذا هذه التي الذي مع كان لا ما هو هي
    و در به از که این آن با را است برای هم تا یا
    """.split()
)


@dataclass(frozen=True)
class _ArticleModel:
    idf: dict[str, float]
    vector: dict[str, float]  # unit-length TF-IDF vector of title + body
    default_idf: float  # weight of a feature the article never uses


def _features(text: str) -> Counter[str]:
    """Word unigrams (w:) and character 3-5-grams of words (c:) of the matching view."""
    view = normalize(text).text
    feats: Counter[str] = Counter()
    for word in _WORD_RE.findall(view):
        if word in _STOPWORDS:
            continue
        feats["w:" + word] += 1
        padded = f" {word} "
        for n in (3, 4, 5):
            for i in range(len(padded) - n + 1):
                feats["c:" + padded[i : i + n]] += 1
    return feats


def _unit(vec: dict[str, float]) -> dict[str, float]:
    norm = math.sqrt(sum(v * v for v in vec.values()))
    return {k: v / norm for k, v in vec.items()} if norm else {}


def _fit_article(title: str, body: str) -> _ArticleModel:
    # "Documents" are the title and the body's paragraphs/sentences, so IDF separates words that
    # run through the whole article from those that appear once.
    chunks = [title] + [c for c in re.split(r"(?<=[.!?؟])\s+|\n+", body) if c.strip()]
    docs = [set(_features(c)) for c in chunks if c.strip()]
    n_docs = max(1, len(docs))
    df: Counter[str] = Counter()
    for d in docs:
        df.update(d)
    idf = {f: math.log((1 + n_docs) / (1 + c)) + 1.0 for f, c in df.items()}
    counts = _features(body)
    for f, c in _features(title).items():
        counts[f] += _TITLE_WEIGHT * c
    vector = _unit({f: (1 + math.log(c)) * idf[f] for f, c in counts.items() if f in idf})
    return _ArticleModel(idf=idf, vector=vector, default_idf=math.log(1 + n_docs) + 1.0)


class RelevanceScorer:
    """Scores how much a comment is about its article (`article` has `.title` and `.body`)."""

    def __init__(self, cache_size: int = 256, short_words: int = 6):
        self.cache_size = cache_size
        self.short_words = short_words
        self._cache: OrderedDict[str, _ArticleModel] = OrderedDict()

    def _model(self, article) -> _ArticleModel:
        title = getattr(article, "title", "") or ""
        body = getattr(article, "body", "") or ""
        key = hashlib.blake2b(f"{title}\x00{body}".encode(), digest_size=16).hexdigest()
        model = self._cache.get(key)
        if model is not None:
            self._cache.move_to_end(key)
            return model
        model = _fit_article(title, body)
        self._cache[key] = model
        if len(self._cache) > self.cache_size:
            self._cache.popitem(last=False)
        return model

    def score(self, text: str, article) -> float:
        """0..1; about NEUTRAL when the comment is too short to tell."""
        model = self._model(article)
        feats = _features(text)
        content_words = sum(1 for f in feats if f.startswith("w:"))
        if not model.vector or content_words == 0:
            return NEUTRAL
        vec = _unit(
            {f: (1 + math.log(c)) * model.idf.get(f, model.default_idf) for f, c in feats.items()}
        )
        cosine = sum(v * model.vector.get(f, 0.0) for f, v in vec.items())
        # Map cosine to 0..1: ~0.15 cosine already means a shared topic for short texts.
        raw = 1.0 - math.exp(-cosine / 0.12)
        # Evidence grows with the number of content words; short comments lean to neutral.
        evidence = min(1.0, content_words / self.short_words)
        return float(min(1.0, max(0.0, evidence * raw + (1 - evidence) * NEUTRAL)))
