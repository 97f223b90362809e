"""Lexicon detector: our own word and phrase lists per language, matched on the normalised text.

Each list is a small UTF-8 TSV under `engine/lexicons/` (see docs/lexicons-and-promotion.md).
A term is a regular expression over the casefolded, de-evaded text; plain words are the common
case. Matching is whole-word, with each language's common inflections added to single words,
and every span is mapped back to the reader's original text.

Speed matters (this runs on every comment in the fast tier), so patterns are not tried one by
one: `PhraseMatcher` keys each pattern by the first word it can start with and tries only the
patterns whose key is among the comment's words.
"""

from __future__ import annotations

import math
import operator
import os
import re
from dataclasses import dataclass
from functools import cache, lru_cache
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
    "fa": r"(?:ی|ها|های|هایی|ه|ت|م|مو|تو)?",
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
    "ا": "[اأإآ]",
    "أ": "[أاإآ]",
    "إ": "[إاأ]",
    "آ": "[آا]",
    "ە": "[ەه]",
    "\u200c": "[\u200c ]?",
}
_REGEX_META = set("\\()[]{}?*+|.^$")
_MACRO = re.compile(r"\{([A-Z_]+)\}")
_FLEXIBLE_SPACE = "[\\s\u200c]+"  # one or more spaces or zero-width non-joiners
_OPTIONAL_SPACE = "[\\s\u200c]*"
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
        word = "".join(_letter(ch) for ch in expanded.casefold())
        if len(expanded) < 3:  # affixes on two-letter words would reach into ordinary words
            return word
        prefix = fold_letters(_PREFIXES.get(language, ""), double=False)
        return prefix + word + fold_letters(_SUFFIXES.get(language, ""), double=False)
    # " ?" is an optional space (compounds written apart or together); other spaces: 1 or more.
    pattern = re.sub(r" \?", lambda _: _OPTIONAL_SPACE, fold_letters(expanded))
    return re.sub(r" +", lambda _: _FLEXIBLE_SPACE, pattern)


def fold_letters(pattern: str, double: bool = True) -> str:
    """Widen letters to their variants, except inside [...] classes (which list them already)."""
    out, in_class, escaped = [], False, False
    for i, ch in enumerate(pattern):
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
        elif double and ch.isalpha() and pattern[i + 1 : i + 2] not in ("?", "*", "+", "{"):
            out.append(_letter(ch))
        else:
            out.append(_LETTER_VARIANTS.get(ch, ch))
    return "".join(out)


def _letter(ch: str) -> str:
    """One letter of a term: its variants, and a doubled form (normalisation keeps two of a run)."""
    variant = _LETTER_VARIANTS.get(ch, re.escape(ch))
    return variant + "+" if ch.isalpha() else variant


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
            try:
                body = _MACRO.sub(lambda m: macros[m.group(1)], fields[1])
            except KeyError as missing:
                raise LexiconError(f"{where}: macro {missing} is not defined above") from None
            macros[fields[0][1:]] = f"(?:{body})"
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


@cache
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


class PhraseMatcher:
    """Finds many whole-word regex phrases in a text quickly.

    A Python regex alternation of a few hundred phrases costs hundreds of microseconds per
    comment, because every word start tries every phrase. Instead, each phrase is reduced to
    what its first word can be: an exact word ("you") or a prefix ("idio", for idiot/idiots),
    with doubled letters collapsed. A comment's words are collected once (shared by every
    matcher through a small cache) and intersected with those keys as sets; only where a key
    hits are the phrases it names tried, anchored at that word.
    """

    def __init__(self, patterns: list[str]):
        self._patterns = patterns
        # Compiled on first use: most phrases are never tried, and compiling all costs seconds.
        self._regexes: list[re.Pattern[str] | None] = [None] * len(patterns)
        self._exact: dict[str, list[int]] = {}
        self._by_prefix: list[dict[str, list[int]]] = [{} for _ in range(_PREFIX_LEN + 1)]
        anywhere: list[int] = []  # phrases whose first word could not be worked out
        for index, pattern in enumerate(patterns):
            keys = _first_word_keys(pattern)
            if keys is None:
                anywhere.append(index)
                continue
            for key, exact in keys:
                table = self._exact if exact else self._by_prefix[len(key)]
                table.setdefault(key, []).append(index)
        self._exact_keys = frozenset(self._exact)
        self._head_keys = frozenset(self._by_prefix[_PREFIX_LEN])
        self._short_prefixes = any(self._by_prefix[:_PREFIX_LEN])
        self._anywhere = anywhere
        self._anywhere_regex = (
            re.compile(
                _WORD_BEFORE
                + "(?:"
                + "|".join(f"(?P<g{i}>{patterns[i]})" for i in anywhere)
                + ")"
                + _WORD_AFTER
            )
            if anywhere
            else None
        )

    def compile_all(self) -> None:
        """Compile every phrase now rather than on first use (a server's start-up)."""
        for index, regex in enumerate(self._regexes):
            if regex is None:
                self._regexes[index] = re.compile(f"(?:{self._patterns[index]}){_WORD_AFTER}")

    def _wanted_words(self, text: str) -> frozenset[str] | set[str]:
        """The (de-doubled) words of `text` that begin some phrase; usually none at all."""
        words, heads = _words_and_heads(text)
        wanted = self._exact_keys & words
        head_hits = self._head_keys & heads
        if head_hits:
            wanted |= {word for word in words if word[:_PREFIX_LEN] in head_hits}
        if self._short_prefixes:
            tables = self._by_prefix
            wanted |= {
                word for word in words if any(word[:n] in tables[n] for n in range(1, _PREFIX_LEN))
            }
        return wanted

    def _candidates(self, word: str) -> list[int]:
        """Phrases that may start with this de-doubled word."""
        found = list(self._exact.get(word, ()))
        for length in range(1, _PREFIX_LEN + 1):
            found += self._by_prefix[length].get(word[:length], ())
        return list(dict.fromkeys(found))  # a phrase may be keyed by both its word and prefix

    def find(self, text: str) -> list[tuple[int, int, int]]:
        """Every (phrase index, start, end) match; phrases may overlap one another."""
        found = []
        wanted = self._wanted_words(text)
        for word in wanted:
            candidates = self._candidates(word)
            for occurrence in _word_finder(word).finditer(text):
                position = occurrence.start()
                for index in candidates:
                    regex = self._regexes[index]
                    if regex is None:
                        regex = self._regexes[index] = re.compile(
                            f"(?:{self._patterns[index]}){_WORD_AFTER}"
                        )
                    match = regex.match(text, position)
                    if match is not None and match.end() > position:
                        found.append((index, position, match.end()))
        if self._anywhere_regex is not None:
            for match in self._anywhere_regex.finditer(text):
                index = self._anywhere[int(match.lastgroup[1:])]
                found.append((index, match.start(), match.end()))
        return found


@lru_cache(maxsize=4096)
def _word_finder(word: str) -> re.Pattern[str]:
    """Finds a de-doubled word (each letter possibly doubled) as a whole word. The boundary
    check comes after the first letter so that re can scan for that letter quickly."""
    first = re.escape(word[0])
    rest = "".join(re.escape(ch) + "+" for ch in word[1:])
    return re.compile(first + r"(?<!\w\w)" + first + "*" + rest + _WORD_AFTER)


@lru_cache(maxsize=64)
def _words_and_heads(text: str) -> tuple[frozenset[str], frozenset[str]]:
    """The de-doubled words of a text and their first _PREFIX_LEN letters. Cached because the
    lexicons and the promotion detector all ask about the same comment in a row."""
    collapsed = _DOUBLED.sub(_FIRST_GROUP, text)
    words = frozenset(_WORD.findall(collapsed))
    return words, frozenset([word[:_PREFIX_LEN] for word in words])


_PREFIX_LEN = 4  # letters of a word's (de-doubled) start used as a key
_RAW_PREFIX_LEN = 7  # letters worked out from a pattern before runs are collapsed
_MAX_PREFIX_STATES = 20_000
_OPEN, _EXACT, _CUT = 0, 1, 2  # first word: still growing / ended by a non-letter / unknown rest
_WORD = re.compile(r"\w+")
_DOUBLED = re.compile(r"(\w)\1+")
_FIRST_GROUP = operator.itemgetter(1)  # a C-level replacement: much faster than r"\1" here
_IS_WORD_CHAR = re.compile(r"\w")
# Letters normalisation always folds away (text.py): keys containing them could never match.
_NEVER_IN_NORMALISED_TEXT = frozenset("يىكأإآٱۀ")


def _collapse_runs(word: str) -> str:
    return _DOUBLED.sub(_FIRST_GROUP, word)


def _first_word_keys(pattern: str) -> set[tuple[str, bool]] | None:
    """(key, exact) pairs covering every match's first word, de-doubled: exact keys are the
    whole word, others a prefix of up to _PREFIX_LEN letters. None when unknowable."""
    try:  # the stdlib's own parser, only read; should it ever change, match the slow way
        from re import _parser

        states = _walk(list(_parser.parse(pattern)), {("", _OPEN)})
    except (ImportError, AttributeError, TypeError, ValueError):
        return None
    if states is None:
        return None
    keys = set()
    for prefix, status in states:
        if status == _OPEN and len(prefix) < _RAW_PREFIX_LEN:
            status = _EXACT  # the pattern ended: its word boundary ends the word here
        word = _collapse_runs(prefix)
        if status == _EXACT and word:
            keys.add((word, True))
        elif word:
            keys.add((word[:_PREFIX_LEN], False))
        else:
            return None
    return keys


def _walk(items: list, states: set[tuple[str, int]]) -> set[tuple[str, int]] | None:
    from re import _constants as c

    _SPACE_CATEGORIES = (c.CATEGORY_SPACE, c.CATEGORY_UNI_SPACE)
    for op, arg in items:
        if all(status != _OPEN or len(prefix) >= _RAW_PREFIX_LEN for prefix, status in states):
            break
        if op == c.LITERAL:
            states = _extend(states, [chr(arg)])
        elif op == c.IN:
            chars: list[str] | None = []
            for item_op, item_arg in arg:
                if item_op == c.LITERAL:
                    chars.append(chr(item_arg))
                elif item_op == c.CATEGORY and item_arg in _SPACE_CATEGORIES:
                    chars.append(" ")  # whitespace ends the first word like any non-letter
                elif item_op == c.RANGE and item_arg[1] - item_arg[0] < 64:
                    chars += [chr(code) for code in range(item_arg[0], item_arg[1] + 1)]
                else:  # a category or negation: any letter may come here
                    chars = None
                    break
            states = _cut(states) if chars is None else _extend(states, chars)
        elif op == c.BRANCH:
            union: set[tuple[str, int]] = set()
            for alternative in arg[1]:
                result = _walk(list(alternative), states)
                if result is None:
                    return None
                union |= result
            states = union
        elif op == c.SUBPATTERN:
            result = _walk(list(arg[-1]), states)
            if result is None:
                return None
            states = result
        elif op in (c.MAX_REPEAT, c.MIN_REPEAT):
            low, high, body = arg
            once = _walk(list(body), states)
            if once is None:
                return None
            single_char = len(body) == 1 and body[0][0] in (c.LITERAL, c.IN)
            if high != 1 and not single_char:  # a longer piece repeated: stop after one
                once = _cut(once)
            states = (states | once) if low == 0 else once
        elif op in (c.AT, c.ASSERT, c.ASSERT_NOT):
            continue  # zero-width
        else:  # wildcard, category, back-reference: nothing more is known
            states = _cut(states)
        if len(states) > _MAX_PREFIX_STATES:
            return None
    return states


def _extend(states: set[tuple[str, int]], chars: list[str]) -> set[tuple[str, int]]:
    out = set()
    for prefix, status in states:
        if status != _OPEN or len(prefix) >= _RAW_PREFIX_LEN:
            out.add((prefix, status))
            continue
        for ch in chars:
            if ch in _NEVER_IN_NORMALISED_TEXT:
                continue
            # A non-word character ends the first word: the word is then known exactly.
            out.add((prefix + ch, _OPEN) if _IS_WORD_CHAR.match(ch) else (prefix, _EXACT))
    return out


def _cut(states: set[tuple[str, int]]) -> set[tuple[str, int]]:
    return {(prefix, _CUT if status == _OPEN else status) for prefix, status in states}


@dataclass(frozen=True)
class _CompiledList:
    """One language's list, compiled once and shared by every language that reads it."""

    matcher: PhraseMatcher
    entries: tuple[LexiconEntry, ...]


@cache
def _compiled_list(language: str) -> _CompiledList:
    entries = load_entries(language)
    return _CompiledList(PhraseMatcher([entry.pattern for entry in entries]), entries)


def _sources(language: str) -> list[tuple[str, float]]:
    """The lists read for a detected language, each with its weight factor."""
    own = language if language in _NEIGHBOURS else "en"
    sources = [(own, 1.0)] + [(other, NEIGHBOUR_WEIGHT) for other in _NEIGHBOURS[own]]
    if own != "en":
        sources.append(("en", 1.0))
    return sources


def preload() -> None:
    """Build and compile every language's list now (about a second), so that the first
    comments in each language do not pay for it."""
    for language in LEXICON_LANGUAGES:
        _compiled_list(language).matcher.compile_all()


def _clear_caches() -> None:
    """Forget loaded lists (after a newsroom changes its folder; used by tests)."""
    load_entries.cache_clear()
    _compiled_list.cache_clear()


# Condemning or reporting a word rather than using it. Checked only around actual hits.
_CONDEMN_BEFORE = re.compile(
    r"(?:(?:do ?n[o']?t|never|stop|should ?n[o']?t|should not|not|wrong to|nobody should)"
    r"\s+(?:call|calling|say|saying|use|using|write|writing)"
    r"|(?:calling|call)\s+(?:someone|people|anyone|somebody|others|women|men|them)"
    r"|(?:words?|terms?|slurs?|insults?)\s+(?:like|such as)"
    # Reporting what someone else says or believes ("it says that women are inferior").
    r"|(?:it|he|she|they|who|which|people|someone|somebody|the\s+\w+)(?:\s+\w+ly)?\s+(?:says?|said|claims?|claimed|believes?|believed"
    r"|thinks?|thought|argues?|argued|teaches|preaches|chanted|shouted)\s+(?:that\s+)?"
    r"|لا\s+(?:تقل|تقولوا|تقولي|تسمي|تسموا|تنادي)|من\s+العيب|عيب\s+ان"
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
_QUOTE_CHARS = re.compile('["“«„]')
_QUOTED = re.compile(r"\"[^\"\n]{1,300}\"|“[^”\n]{1,300}”|«[^»\n]{1,300}»|„[^“”\n]{1,300}[“”]")


def _quoted_spans(text: str) -> list[tuple[int, int]]:
    """Stretches in quotation marks, except one wrapping (nearly) the whole comment: that is
    how some sites and exports store a comment, not the reader quoting someone."""
    spans = [m.span() for m in _QUOTED.finditer(text)]
    return [(s, e) for s, e in spans if (e - s) < 0.8 * len(text.strip())]


def _context_factor(text: str, start: int, end: int, quoted: list[tuple[int, int]]) -> float:
    factor = 1.0
    if any(qs < start and end < qe for qs, qe in quoted):
        factor *= CONTEXT_REDUCTION
    window_before = text[max(0, start - 80) : start]
    if _CONDEMN_BEFORE.search(window_before) or _CONDEMN_AFTER.search(text[end : end + 40]):
        factor *= CONTEXT_REDUCTION
    return factor


def find_hits(norm: NormalizedText, language: str) -> list[LexiconHit]:
    """Every lexicon match in the comment, with weights reduced for quoting or condemnation.

    Within a category, overlapping matches keep the longest (then the earliest) one."""
    text = norm.text
    if not text:
        return []
    matches: list[tuple[LexiconEntry, float, int, int]] = []
    for source, factor in _sources(language):
        compiled = _compiled_list(source)
        for index, start, end in compiled.matcher.find(text):
            entry = compiled.entries[index]
            matches.append((entry, entry.weight * factor, start, end))
    if not matches:
        return []
    quoted = _quoted_spans(text) if _QUOTE_CHARS.search(text) else []
    # Longest first at each position, then heaviest (own language before a neighbour's).
    matches.sort(key=lambda m: (m[2], m[2] - m[3], -m[1]))
    taken_until: dict[str, int] = {}
    hits: list[LexiconHit] = []
    for entry, base_weight, start, end in matches:
        if start < taken_until.get(entry.category, 0):
            continue
        taken_until[entry.category] = end
        weight = base_weight * _context_factor(text, start, end, quoted)
        orig_start, orig_end = norm.to_original(start, end)
        hits.append(
            LexiconHit(
                category=entry.category,
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
