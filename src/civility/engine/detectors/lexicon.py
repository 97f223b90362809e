"""Lexicon detector: our own word and phrase lists per language, matched on the normalised text.

Each list is a small UTF-8 TSV under `engine/lexicons/` (see docs/lexicons-and-promotion.md).
A term is a regular expression over the casefolded, de-evaded text; plain words are the common
case. Matching is whole-word, with each language's common inflections added to single words,
and every span is mapped back to the reader's original text.

Speed matters (this runs on every comment in the fast tier), so each language's entries are
compiled into one gate regex that rejects clean comments in a single scan, plus one alternation
per category for the rare comments that pass the gate.
"""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from ..assessment import ABUSE_KINDS

if TYPE_CHECKING:  # only the type; the detector never needs text.py at import time
    from ..text import NormalizedText

LEXICON_CATEGORIES: tuple[str, ...] = (
    "profanity",
    "vulgarity",
    "threat",
    "personal_attack",
    "abuse",
)
LEXICON_LANGUAGES: tuple[str, ...] = ("en", "ar", "fa", "tr", "ckb", "kmr")
LEXICON_DIR = Path(__file__).resolve().parent.parent / "lexicons"
# A newsroom's own lists: a folder of `<lang>.tsv` files in the same format, added to ours.
EXTRA_LEXICON_ENV = "CIVILITY_LEXICON_DIR"

# Which lists are read for a detected language. English swearing turns up in every language;
# Arabic-script and Latin-script neighbours borrow insults from each other, and language ID is
# unsure on short comments, so a neighbour's entries count too, at a discount.
_NEIGHBOURS: dict[str, tuple[str, ...]] = {
    "en": (),
    "ar": ("fa", "ckb"),
    "fa": ("ar", "ckb"),
    "ckb": ("fa", "ar"),
    "tr": ("kmr",),
    "kmr": ("tr",),
}
NEIGHBOUR_WEIGHT = 0.8
# Quoting or condemning a word ("don't call people X") halves the weight of a hit; both: a quarter.
CONTEXT_REDUCTION = 0.5

# Inflections added to single-word terms, per language. Arabic also takes its clitic prefixes.
_SUFFIXES: dict[str, str] = {
    "en": r"(?:s|es)?",
    "tr": r"(?:l[ae]r|[ıiuü]n|[ıiuü]m|s[ıiuü]n|s[ıiuü]n[ıiuü]z|n[ıiuü]n|y[ae]|y[ıiuü]|[ıiuü]|[ae]|d[ıiuü]r|c[ıiuü]|l[ıiuü]k){0,3}",
    "ar": r"(?:ة|ه|ين|ون|ات|ها|هم|ك|كم|ي)?",
    "fa": r"(?:ی|ها|های|هایی|ه|ت)?",
    "ckb": r"(?:ە|ی|یت|ەکە|ەکان|ان|ن|ت)?",
    "kmr": r"(?:ê|î|a|an|ek|ekî|ên|o)?",
}
_PREFIXES: dict[str, str] = {
    "ar": r"(?:[وف]?(?:يا|ال|بال|لل)?)",
}
# Letters readers write interchangeably (keyboard layout, missing diacritics): a term's letter
# also matches its plain or sibling form, so the lists need only one spelling.
_LETTER_VARIANTS: dict[str, str] = {
    "ö": "[öo]",
    "ü": "[üu]",
    "ş": "[şs]",
    "ç": "[çc]",
    "ğ": "[ğg]",
    "ı": "[ıi]",
    "î": "[îi]",
    "ê": "[êe]",
    "û": "[ûu]",
    "ك": "[كک]",
    "ک": "[کك]",
    "ي": "[يیى]",
    "ی": "[یيى]",
    "ى": "[ىيی]",
    "ة": "[ةه]",
    "أ": "[أاإآ]",
    "إ": "[إاأ]",
    "آ": "[آا]",
    "ە": "[ەه]",
    "\u200c": "[\u200c ]?",
}
_REGEX_META = set("\\()[]{}?*+|.^$")
_MACRO = re.compile(r"\{([A-Z_]+)\}")
_FLEXIBLE_SPACE = "[\\s\u200c]+"  # one or more spaces or zero-width non-joiners
_WORD_BEFORE = r"(?<!\w)"
_WORD_AFTER = r"(?!\w)"


@dataclass(frozen=True)
class LexiconHit:
    category: str  # "profanity" | "vulgarity" | "threat" | "personal_attack" | "abuse"
    start: int  # offsets into the ORIGINAL text (via NormalizedText.to_original)
    end: int
    term: str  # the lexicon entry matched
    weight: float  # 0..1: how strongly this match alone signals the category
    abuse_kind: str | None  # one of ABUSE_KINDS for category "abuse", else None


@dataclass(frozen=True)
class LexiconEntry:
    term: str
    category: str
    weight: float
    abuse_kind: str | None
    language: str
    pattern: str  # the regex the term compiles to, without word boundaries


class LexiconError(ValueError):
    """A lexicon file is malformed; the message names the file and line."""


def _term_to_pattern(term: str, language: str, macros: dict[str, str]) -> str:
    """Turn one TSV term into a regex: macros expanded, spaces flexible, letters folded."""
    expanded = _MACRO.sub(lambda m: macros[m.group(1)], term)
    if not any(ch in _REGEX_META or ch.isspace() for ch in expanded):
        # A plain word: literal, with the language's inflections.
        word = "".join(_LETTER_VARIANTS.get(ch, re.escape(ch)) for ch in expanded.casefold())
        return _PREFIXES.get(language, "") + word + _SUFFIXES.get(language, "")
    return re.sub(r" +", lambda _: _FLEXIBLE_SPACE, _fold_letters(expanded))


def _fold_letters(pattern: str) -> str:
    """Widen letters to their variants, except inside [...] classes (which list them already)."""
    out, in_class, escaped = [], False, False
    for ch in pattern:
        if escaped:
            out.append(ch)
            escaped = False
        elif ch == "\\":
            out.append(ch)
            escaped = True
        elif in_class:
            out.append(ch)
            in_class = ch != "]"
        elif ch == "[":
            out.append(ch)
            in_class = True
        else:
            out.append(_LETTER_VARIANTS.get(ch, ch))
    return "".join(out)


def parse_lexicon(text: str, language: str, source: str = "<lexicon>") -> list[LexiconEntry]:
    """Read one TSV: `term<TAB>category<TAB>weight<TAB>abuse_kind`; `#` comments;
    `@NAME<TAB>regex` defines a macro usable as `{NAME}` in later terms."""
    entries: list[LexiconEntry] = []
    macros: dict[str, str] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.rstrip("\r\n")
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        fields = line.split("\t")
        where = f"{source}:{number}"
        if fields[0].startswith("@"):
            if len(fields) != 2:
                raise LexiconError(f"{where}: a macro line is '@NAME<TAB>regex'")
            macros[fields[0][1:]] = (
                "(?:" + _MACRO.sub(lambda m: macros[m.group(1)], fields[1]) + ")"
            )
            continue
        if fields[0] == "term":  # header row
            continue
        if len(fields) not in (3, 4):
            raise LexiconError(f"{where}: expected term, category, weight[, abuse_kind]")
        term, category, weight_text = (f.strip() for f in fields[:3])
        abuse_kind = fields[3].strip() if len(fields) == 4 and fields[3].strip() else None
        if category not in LEXICON_CATEGORIES:
            raise LexiconError(f"{where}: unknown category {category!r}")
        if (category == "abuse") != (abuse_kind is not None) or (
            abuse_kind is not None and abuse_kind not in ABUSE_KINDS
        ):
            raise LexiconError(f"{where}: abuse rows need one of {ABUSE_KINDS}, others none")
        try:
            weight = float(weight_text)
        except ValueError:
            raise LexiconError(f"{where}: weight {weight_text!r} is not a number") from None
        if not 0.0 < weight <= 1.0:
            raise LexiconError(f"{where}: weight must be in (0, 1]")
        try:
            pattern = _term_to_pattern(term, language, macros)
            re.compile(pattern)
        except (re.error, KeyError) as exc:
            raise LexiconError(f"{where}: bad term {term!r}: {exc}") from None
        entries.append(LexiconEntry(term, category, weight, abuse_kind, language, pattern))
    return entries


@lru_cache(maxsize=None)
def load_entries(language: str) -> tuple[LexiconEntry, ...]:
    """Our list for a language plus the newsroom's, if `CIVILITY_LEXICON_DIR` names a folder."""
    entries: list[LexiconEntry] = []
    folders = [LEXICON_DIR]
    extra = os.environ.get(EXTRA_LEXICON_ENV)
    if extra:
        folders.append(Path(extra))
    for folder in folders:
        path = folder / f"{language}.tsv"
        if path.is_file():
            entries += parse_lexicon(path.read_text("utf-8"), language, str(path))
    return tuple(entries)


@dataclass(frozen=True)
class _CompiledCategory:
    regex: re.Pattern[str]
    entries: tuple[LexiconEntry, ...]  # group `g<i>` matched entries[i]
    weights: tuple[float, ...]


@dataclass(frozen=True)
class _CompiledLexicon:
    gate: re.Pattern[str] | None
    categories: tuple[tuple[str, _CompiledCategory], ...]


def _alternation(entries: list[LexiconEntry], named: bool) -> str:
    parts = [
        f"(?P<g{i}>{entry.pattern})" if named else f"(?:{entry.pattern})"
        for i, entry in enumerate(entries)
    ]
    return f"{_WORD_BEFORE}(?:{'|'.join(parts)}){_WORD_AFTER}"


@lru_cache(maxsize=None)
def _compiled(language: str) -> _CompiledLexicon:
    own = language if language in _NEIGHBOURS else "en"
    sources = [(own, 1.0)]
    sources += [(other, NEIGHBOUR_WEIGHT) for other in _NEIGHBOURS[own]]
    if own != "en":
        sources.append(("en", 1.0))
    weighted: list[tuple[LexiconEntry, float]] = [
        (entry, entry.weight * factor) for lang, factor in sources for entry in load_entries(lang)
    ]
    if not weighted:
        return _CompiledLexicon(None, ())
    categories = []
    for category in LEXICON_CATEGORIES:
        chosen = [(e, w) for e, w in weighted if e.category == category]
        if not chosen:
            continue
        # Longer phrases first: the alternation takes the first alternative that matches.
        chosen.sort(key=lambda pair: -len(pair[0].pattern))
        entries = [e for e, _ in chosen]
        compiled = _CompiledCategory(
            re.compile(_alternation(entries, named=True)),
            tuple(entries),
            tuple(w for _, w in chosen),
        )
        categories.append((category, compiled))
    gate = re.compile(_alternation([e for e, _ in weighted], named=False))
    return _CompiledLexicon(gate, tuple(categories))


# Condemning or reporting a word rather than using it. Checked only around actual hits.
_CONDEMN_BEFORE = re.compile(
    r"(?:(?:do ?n[o']?t|never|stop|should ?n[o']?t|should not|not|wrong to|nobody should)"
    r"\s+(?:call|calling|say|saying|use|using|write|writing)"
    r"|(?:calling|call)\s+(?:someone|people|anyone|somebody|others|women|men|them)"
    r"|(?:words?|terms?|slurs?|insults?)\s+(?:like|such as)"
    r"|لا\s+(?:تقل|تقولوا|تقولي|تسمي|تسموا|تنادي)|من\s+العيب|عيب\s+أن"
    r"|demeyin|demeyiniz|deme\b|demek\s+yanl[ıi]ş"
    r"|نگو|نگویید|نگید|نگین)"
    r"[^.!?\n]{0,40}$"
)
_CONDEMN_AFTER = re.compile(
    r"^[\"'”»]?\s*[,:]?\s*(?:is|are|was|were)\s+(?:wrong|unacceptable|not\s+ok(?:ay)?|racist|sexist"
    r"|homophobic|hateful|offensive|a\s+slur|disgusting|never\s+ok(?:ay)?)"
    r"|^\W*(?:demek|diye|demesi)\s+\w*\s*yanl[ıi]ş|^\W*(?:خطأ|عيب|غير\s+مقبول)"
    r"|^\W*(?:گفتن\s+)?(?:اشتباه|زشت|توهین\S*)"
)
_QUOTED = re.compile(r"\"[^\"\n]{1,300}\"|“[^”\n]{1,300}”|«[^»\n]{1,300}»|„[^“”\n]{1,300}[“”]")


def _context_factor(text: str, start: int, end: int, quoted: list[tuple[int, int]]) -> float:
    factor = 1.0
    if any(qs < start and end < qe for qs, qe in quoted):
        factor *= CONTEXT_REDUCTION
    window_before = text[max(0, start - 80) : start]
    if _CONDEMN_BEFORE.search(window_before) or _CONDEMN_AFTER.search(text[end : end + 40]):
        factor *= CONTEXT_REDUCTION
    return factor


def find_hits(norm: NormalizedText, language: str) -> list[LexiconHit]:
    """Every lexicon match in the comment, with weights reduced for quoting or condemnation."""
    text = norm.text
    if not text:
        return []
    lexicon = _compiled(language)
    if lexicon.gate is None or lexicon.gate.search(text) is None:
        return []
    quoted = (
        [m.span() for m in _QUOTED.finditer(text)]
        if '"' in text or "“" in text or "«" in text or "„" in text
        else []
    )
    hits: list[LexiconHit] = []
    for category, compiled in lexicon.categories:
        for match in compiled.regex.finditer(text):
            index = int(match.lastgroup[1:])
            entry = compiled.entries[index]
            start, end = match.span()
            weight = compiled.weights[index] * _context_factor(text, start, end, quoted)
            orig_start, orig_end = norm.to_original(start, end)
            hits.append(
                LexiconHit(
                    category=category,
                    start=orig_start,
                    end=orig_end,
                    term=entry.term,
                    weight=round(weight, 4),
                    abuse_kind=entry.abuse_kind,
                )
            )
    hits.sort(key=lambda hit: (hit.start, hit.end, hit.category))
    return hits


LEXICON_FEATURE_NAMES: tuple[str, ...] = (
    tuple(f"lex_{category}_{stat}" for category in LEXICON_CATEGORIES for stat in ("max", "count"))
    + tuple(f"lex_abuse_{kind}_max" for kind in ABUSE_KINDS)
    + ("lex_any_max",)
)


def lexicon_features(hits: list[LexiconHit]) -> dict[str, float]:
    """Fixed-key features: per category the max weight and log1p(count), per abuse kind the max."""
    features = dict.fromkeys(LEXICON_FEATURE_NAMES, 0.0)
    counts = dict.fromkeys(LEXICON_CATEGORIES, 0)
    for hit in hits:
        max_key = f"lex_{hit.category}_max"
        if max_key not in features:  # a category we do not model; ignore rather than grow keys
            continue
        counts[hit.category] += 1
        features[max_key] = max(features[max_key], hit.weight)
        if hit.abuse_kind is not None:
            kind_key = f"lex_abuse_{hit.abuse_kind}_max"
            features[kind_key] = max(features[kind_key], hit.weight)
        features["lex_any_max"] = max(features["lex_any_max"], hit.weight)
    for category, count in counts.items():
        features[f"lex_{category}_count"] = math.log1p(count)
    return features
