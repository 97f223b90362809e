"""normalize(): evasion undone in the matching view, offsets always pointing at the original."""

import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from civility.engine.text import NormalizedText, normalize


def _original_span(norm: NormalizedText, needle: str) -> str:
    """The original text behind the first occurrence of `needle` in the matching view."""
    start = norm.text.index(needle)
    s, e = norm.to_original(start, start + len(needle))
    return norm.original[s:e]


def _check_offsets(norm: NormalizedText) -> None:
    n, m = len(norm.text), len(norm.original)
    assert len(norm.offsets) == n + 1
    assert norm.offsets[-1] == m
    assert all(0 <= o <= m for o in norm.offsets)
    assert all(a <= b for a, b in zip(norm.offsets, norm.offsets[1:]))
    for i in range(n):
        s, e = norm.to_original(i, i + 1)
        assert 0 <= s < e <= m


# --- properties on random text --------------------------------------------------------------

_evasive_alphabet = st.sampled_from(
    list("abcfkstu ._-*!@$0134579")
    + ["\u200b", "\u200d", "\u202e", "\u0336", "\u0301", "с", "о", "υ", "ｆ", "𝐮", "ⓒ", "ß", "İ"]
    + ["ـ", "َ", "ي", "ك", "ێ", "ۆ", "ە", "\u200c", "ﻛ", "ﷲ", "\n"]
)


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_offsets_are_consistent_for_any_unicode(text):
    _check_offsets(normalize(text))


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=_evasive_alphabet, max_size=60))
def test_offsets_are_consistent_for_evasive_text(text):
    _check_offsets(normalize(text))


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=_evasive_alphabet, max_size=60))
def test_full_range_covers_everything_that_was_kept(text):
    norm = normalize(text)
    if not norm.text:
        return
    s, e = norm.to_original(0, len(norm.text))
    # Every original character that produced part of the view lies inside [s, e) ...
    assert all(s <= o < e for o in norm.offsets[:-1])
    # ... and [s, e) is no wider than needed: it starts at the first kept character and
    # ends with the unit of the last one.
    assert s == norm.offsets[0]
    assert e == norm.to_original(len(norm.text) - 1, len(norm.text))[1]


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.characters(codec="ascii"), max_size=80))
def test_ascii_view_is_lowercase_and_never_longer(text):
    norm = normalize(text)
    assert len(norm.text) <= len(text)
    assert norm.text == norm.text.lower()


# --- evasion cases ------------------------------------------------------------------------

EVASIONS = [
    ("fullwidth", "ｆｕｃｋ you", "fuck"),
    ("math bold", "you 𝐟𝐮𝐜𝐤𝐢𝐧𝐠 idiot", "fucking"),
    ("circled", "ⓕⓤⓒⓚ off", "fuck"),
    ("cyrillic es", "fuсk off", "fuck"),
    ("cyrillic mixed", "you ѕһіt", "shit"),
    ("greek upsilon", "fυck", "fuck"),
    ("greek capital rho", "Ρussy", "pussy"),
    ("zero-width space", "fu\u200bck", "fuck"),
    ("zero-width joiner", "id\u200di\u200dot", "idiot"),
    ("bidi override", "\u202efuck\u202c", "fuck"),
    ("combining strike", "f\u0336u\u0336c\u0336k\u0336", "fuck"),
    ("spaced", "f u c k you", "fuck"),
    ("dotted", "what a f.u.c.k.i.n.g mess", "fucking"),
    ("dotted and spaced", "f. u. c. k", "fuck"),
    ("hyphenated", "f-u-c-k", "fuck"),
    ("underscored", "f_u_c_k", "fuck"),
    ("leet digit", "this is sh1t", "shit"),
    ("leet at", "b@stard", "bastard"),
    ("leet bang", "b!tch", "bitch"),
    ("leet leading digit", "4ss", "ass"),
    ("leet dollar", "$hit", "shit"),
    ("leet mixed", "1d10t", "idiot"),
    ("repeated letters", "fuuuuuck", "fuuck"),
    ("uppercase", "IDIOT", "idiot"),
]


@pytest.mark.parametrize(("name", "text", "word"), EVASIONS, ids=[e[0] for e in EVASIONS])
def test_evasion_is_undone_and_maps_back(name, text, word):
    norm = normalize(text)
    assert word in norm.text
    _check_offsets(norm)
    behind = _original_span(norm, word)
    # The span is what the reader wrote for that word: nothing around it, and normalising
    # it alone gives the word again.
    assert behind.strip() == behind
    assert word in normalize(behind).text


def test_span_of_cyrillic_word_points_at_original_characters():
    norm = normalize("well fuсk this")
    assert _original_span(norm, "fuck") == "fuсk"


def test_span_of_zero_width_word_includes_the_hidden_character():
    norm = normalize("you fu\u200bck")
    assert _original_span(norm, "fuck") == "fu\u200bck"


def test_span_of_spaced_word_runs_from_first_to_last_letter():
    norm = normalize("hey f u c k you")
    assert _original_span(norm, "fuck") == "f u c k"


def test_span_of_math_bold_word_covers_the_styled_letters():
    text = "so 𝐟𝐮𝐜𝐤 it"
    norm = normalize(text)
    assert _original_span(norm, "fuck") == "𝐟𝐮𝐜𝐤"


def test_span_of_repeated_letters_includes_the_whole_run():
    norm = normalize("fuuuuuck off")
    assert _original_span(norm, "fuuck") == "fuuuuuck"


def test_decomposed_accents_survive_in_kurmanji_and_turkish():
    decomposed = unicodedata.normalize("NFD", "Ez ê werim, çima nê? Şimdi değil")
    assert normalize(decomposed).text == "ez ê werim, çima nê? şimdi değil"


@pytest.mark.parametrize(
    "text",
    [
        "In 2024 the 1st and 2nd votes failed by 35 to 47.",
        "Meet at 5pm, bring 10kg and a 4x4.",
        "Covid19 and mp3 and G7 summit",
        "Email me at jo3@example.com or follow @al1ce",
        "Wow!! Really?! Great!",
        "Call 0800 123 4567 now",
    ],
)
def test_numbers_ordinals_units_emails_and_handles_are_left_alone(text):
    assert normalize(text).text == text.lower()


@pytest.mark.parametrize(
    "text",
    [
        "I saw a man and a dog.",
        "Is it a b or a c?",
        "The U.S. and the E.U. agreed.",
        "Vote a, b or c",
    ],
)
def test_ordinary_short_words_are_not_glued(text):
    assert normalize(text).text == text.lower()


def test_runs_of_single_vowel_words_are_not_glued():
    assert normalize("I a o").text == "i a o"


def test_only_the_spelled_out_word_is_glued():
    assert normalize("what a f.u.c.k.i.n.g mess").text == "what a fucking mess"


def test_repeated_letters_collapse_to_two_and_keep_real_doubles():
    assert normalize("Sooooo goooood").text == "soo good"
    assert normalize("kill the ass").text == "kill the ass"
    assert normalize("!!!! 1000").text == "!!!! 1000"


# --- Arabic script --------------------------------------------------------------------------


def test_arabic_harakat_and_tatweel_are_removed():
    norm = normalize("سَلامٌ عـــلیکم")
    assert norm.text == "سلام علیکم"
    assert _original_span(norm, "علیکم") == "عـــلیکم"
    assert _original_span(norm, "سلام") == "سَلامٌ"


def test_arabic_letter_variants_are_folded():
    assert normalize("كلب").text == "کلب"  # Arabic kaf -> keheh
    assert normalize("علي").text == "علی"  # Arabic yeh -> Farsi yeh
    assert normalize("أحمد إلى آخر").text == "احمد الی اخر"
    assert normalize("ﻛﻠﺐ").text == "کلب"  # presentation forms


def test_sorani_letters_are_kept():
    text = "ئەم ڕۆژە زۆر خۆشە، سوپاس بۆ وتارەکەت، ڤیان، ێ ڵ"
    assert normalize(text).text == text


def test_zero_width_non_joiner_is_dropped_in_persian():
    norm = normalize("می\u200cخواهم")
    assert norm.text == "میخواهم"
    _check_offsets(norm)


def test_mixed_rtl_and_latin_text_maps_back():
    text = "\u200fهذا fu\u200bck كلب\u200f"
    norm = normalize(text)
    assert "fuck" in norm.text and "کلب" in norm.text
    assert _original_span(norm, "fuck") == "fu\u200bck"
    assert _original_span(norm, "کلب") == "كلب"


def test_arabic_digits_become_ascii_digits():
    assert normalize("١٢٣ ۴۵۶").text == "123 456"


# --- the NormalizedText contract --------------------------------------------------------------


def test_empty_text():
    norm = normalize("")
    assert norm.text == "" and norm.offsets == (0,)
    assert norm.to_original(0, 0) == (0, 0)


def test_to_original_without_ends_still_covers_the_characters():
    # Callers may build a NormalizedText from the three contract fields only.
    full = normalize("a ｆｕｃｋ b")
    bare = NormalizedText(full.original, full.text, full.offsets)
    for i in range(len(full.text)):
        s, e = bare.to_original(i, i + 1)
        assert s <= full.offsets[i] < e


def test_to_original_clamps_out_of_range_indices():
    norm = normalize("hello")
    assert norm.to_original(-3, 99) == (0, 5)
    assert norm.to_original(4, 2) == (4, 4)


def test_spelled_out_arabic_script_word_is_glued():
    norm = normalize("انت ك ل ب")
    assert norm.text == "انت کلب"
    assert _original_span(norm, "کلب") == "ك ل ب"


@pytest.mark.parametrize(
    "text",
    [
        "fu\u200b\u0336ck",  # a mark hung on a zero-width space
        "ｆ\u0336uck",  # on a fullwidth letter
        "𝐟\u0336𝐮ck",  # on a math-bold letter
        "fu\u0441\u0301k",  # on a Cyrillic look-alike
        "\u0301fuck",  # with no base at all
    ],
)
def test_decorative_marks_go_whatever_they_hang_on(text):
    norm = normalize(text)
    assert norm.text == "fuck"
    _check_offsets(norm)


def test_marks_that_are_vowels_in_other_scripts_are_kept():
    for word in ("नमस्ते", "שָׁלוֹם"):
        assert normalize(word).text == word
