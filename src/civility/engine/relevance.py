"""Relevance of a comment to its article: 0 (off-topic) .. 1 (on-topic), 0.5 = can't tell.

Terms are the matching view's words plus a crude prefix stem of each (so "lanes"/"lane",
"belediyenin"/"belediye" and "والمدينة"/"المدينة" meet), with function words and generic
comment words ("thanks", "agree", "article") left out: those say nothing about the topic.
The IDF is fitted on the article itself (its title and sentences as documents), and the title
is counted several times. Two views of the overlap are combined:

* coverage: the IDF-weighted share of the comment's terms that the article uses;
* cosine: TF-IDF cosine between the comment and the article.

A comment with few content terms carries little evidence, so its score is pulled towards
NEUTRAL ("Great reporting, thanks" goes neither way). Fitted articles sit in an LRU cache keyed
by (title, body), so scoring many comments on one article fits it once.
"""

from __future__ import annotations

import math
import re
import threading
from collections import Counter, OrderedDict
from dataclasses import dataclass

from .language import detect_language
from .text import NormalizedText, normalize

__all__ = ["NEUTRAL", "RelevanceScorer"]

NEUTRAL = 0.5
_TITLE_WEIGHT = 3
_WORD_RE = re.compile(r"[^\W_]{2,}")
_SENTENCE_RE = re.compile(r"(?<=[.!?؟۔])\s+|\n+")
_ARABIC_PREFIX_RE = re.compile(r"^(?:و|ف)?(?:بال|كال|کال|لل|ال)(?=\w{3})")

# Function words of the supported languages (in matching-view form) and generic comment
# vocabulary: neither tells whether a comment is about *this* article.
_STOPWORDS = frozenset(
    normalize(
        """
    the an and or but if of to in on at for with from by as is are was were be been it its this
    that these those you he she we they me him her us them my your our their not no so do does
    did have has had will would can could should just very about what which who how there here
    than then also too more most all any some such only into out up down over why when where
    while because being get got really much many even still well now one like don't it's i'm
    think agree disagree good great bad nice thanks thank article story piece report reporting
    writer author journalist news people someone everyone lol yes yeah ok okay totally said
    say says true exactly absolutely interesting excellent well done
    ve bir bu için çok ama da de ile gibi değil mi ben sen biz siz ne daha en her haber teşekkürler
    güzel harika katılıyorum yazı sağol sağolun
    û ji di bi ku ez tu em ew jî li ev wê wî ye yê ya ne pir spas nûçe baş
    و في من على إلى الى عن أن ان إن هذا هذه التي الذي مع كان لا ما هو هي شكرا مقال جدا
    و در به از که این آن با را است برای هم تا یا خیلی ممنون مقاله خوب
    و لە بە بۆ کە ئەم ئەو لەگەڵ زۆر سوپاس باشە
    """
    ).text.split()
)


def _stem(word: str) -> str:
    """Crude prefix stem: enough for suffixing languages and Arabic's article/conjunctions."""
    if not word.isascii() and "\u0600" <= word[0] <= "\u06ff":
        return _ARABIC_PREFIX_RE.sub("", word)[:4]
    return word[:5]


_WORD_TERMS: dict[str, tuple[str, ...]] = {}  # word -> its terms; bounded below


def _word_terms(word: str) -> tuple[str, ...]:
    stem = _stem(word)
    if word in _STOPWORDS or stem in _STOPWORDS:
        return ()
    return ("w:" + word,) if stem == word else ("w:" + word, "s:" + stem)


def _terms(text: str | NormalizedText) -> Counter[str]:
    """Content words (w:) and their prefix stems (s:) of the matching view."""
    if len(_WORD_TERMS) > 100_000:
        _WORD_TERMS.clear()
    view = text.text if isinstance(text, NormalizedText) else normalize(text).text
    terms: list[str] = []
    for word in _WORD_RE.findall(view):
        found = _WORD_TERMS.get(word)
        if found is None:
            found = _WORD_TERMS[word] = _word_terms(word)
        terms.extend(found)
    return Counter(terms)


@dataclass(frozen=True)
class _ArticleModel:
    idf: dict[str, float]
    vector: dict[str, float]  # unit-length TF-IDF vector of title + body
    unseen_idf: float  # IDF of a term the article never uses
    language: str  # detect_language of title + start of body


def _unit(vec: dict[str, float]) -> dict[str, float]:
    norm = math.sqrt(sum(v * v for v in vec.values()))
    return {k: v / norm for k, v in vec.items()} if norm else {}


def _fit_article(title: str, body: str) -> _ArticleModel:
    chunks = [c for c in (title, *_SENTENCE_RE.split(body)) if c and c.strip()]
    chunk_terms = [_terms(c) for c in chunks]
    n_docs = max(1, len(chunks))
    df: Counter[str] = Counter()
    for terms in chunk_terms:
        df.update(terms.keys())
    idf = {t: math.log((1 + n_docs) / (1 + c)) + 1.0 for t, c in df.items()}
    counts: Counter[str] = Counter()
    for i, terms in enumerate(chunk_terms):
        weight = _TITLE_WEIGHT if i == 0 and title.strip() else 1
        for t, c in terms.items():
            counts[t] += weight * c
    vector = _unit({t: (1 + math.log(c)) * idf[t] for t, c in counts.items()})
    language = detect_language(f"{title}. {body[:1000]}")
    return _ArticleModel(
        idf=idf, vector=vector, unseen_idf=math.log(1 + n_docs) + 1.0, language=language
    )


class RelevanceScorer:
    """How much a comment is about its article (`article` has `.title` and `.body`)."""

    def __init__(self, cache_size: int = 256, full_evidence_terms: int = 4):
        self.cache_size = cache_size
        # Content words a comment needs before its score may leave the neutral prior fully.
        self.full_evidence_terms = full_evidence_terms
        self._cache: OrderedDict[tuple[str, str], _ArticleModel] = OrderedDict()
        self._lock = threading.Lock()

    def _model(self, article) -> _ArticleModel:
        key = (getattr(article, "title", "") or "", getattr(article, "body", "") or "")
        with self._lock:  # web servers may share one scorer between threads
            model = self._cache.get(key)
            if model is not None:
                self._cache.move_to_end(key)
                return model
        model = _fit_article(*key)  # outside the lock: a rare double fit is harmless
        with self._lock:
            self._cache[key] = model
            while len(self._cache) > self.cache_size:
                self._cache.popitem(last=False)
        return model

    def score(self, text: str | NormalizedText, article, language: str | None = None) -> float:
        """0..1; NEUTRAL when the comment (or the article) gives nothing to compare.

        `text` may be the comment or its NormalizedText (saves normalising it again).
        `language` is the comment's language if the caller already knows it; it is only
        needed (and otherwise detected) when the comment looks off-topic."""
        model = self._model(article)
        terms = _terms(text)
        words = sum(c for t, c in terms.items() if t[0] == "w")
        if not model.vector or words == 0:
            return NEUTRAL
        # One pass: IDF-weighted coverage (stems count half: a weaker sign of the same topic
        # than the word itself) and the TF-IDF dot product with the article's unit vector.
        seen = total = dot = squares = 0.0
        idf_of, article_weight, unseen = model.idf.get, model.vector.get, model.unseen_idf
        for term, count in terms.items():
            idf = idf_of(term)
            weight = (1.0 + math.log(count)) * (unseen if idf is None else idf)
            share = weight if term[0] == "w" else 0.5 * weight
            total += share
            squares += weight * weight
            if idf is not None:
                seen += share
                dot += weight * article_weight(term, 0.0)
        coverage = seen / total
        cosine = dot / math.sqrt(squares)
        # A third of a comment's content in the article is already a clear shared topic, and
        # so is a cosine of ~0.25 between a comment and a whole article: both are scaled up.
        raw = max(1.0 - math.exp(-3.0 * coverage), min(1.0, cosine / 0.25))
        evidence = min(1.0, words / self.full_evidence_terms)
        result = min(1.0, max(0.0, evidence * raw + (1.0 - evidence) * NEUTRAL))
        if result < NEUTRAL and model.language != "other":
            # Word overlap cannot judge a comment written in another language than the
            # article: it may be relevant (shared names lift it), but never off-topic.
            original = text.original if isinstance(text, NormalizedText) else text
            comment_language = language or detect_language(original)
            if comment_language != model.language:
                return NEUTRAL
        return float(result)
