"""Promotion signals: links, contacts and pitches in several languages; weak vs strong evidence."""

import pytest

from civility.engine.detectors.promotion import (
    CONTACT_AND_PITCH_FLOOR,
    PROMOTION_FEATURE_NAMES,
    PromotionSignals,
    promotion_signals,
)
from civility.engine.text import normalize


def signals(text):
    return promotion_signals(normalize(text))


def spanned(text):
    return [text[start:end] for start, end in signals(text).spans]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Call +90 555 123 4567 now", "+90 555 123 4567"),
        ("ring 0555 123 45 67", "0555 123 45 67"),
        ("(212) 555-1234", "(212) 555-1234"),
        ("رقمي ٠٥٥٥١٢٣٤٥٦٧", "٠٥٥٥١٢٣٤٥٦٧"),  # Arabic-Indic digits
        ("شماره ۰۹۱۲۳۴۵۶۷۸۹", "۰۹۱۲۳۴۵۶۷۸۹"),  # Persian digits
        ("mail me: john.doe@example.org", "john.doe@example.org"),
        ("see www.example.com for more", "www.example.com"),
        ("great deals at shopnow.xyz/deals", "shopnow.xyz/deals"),
        ("join https://t.me/cryptosignals", "https://t.me/cryptosignals"),
        ("hxxp://bad[.]site/x", "hxxp://bad[.]site/x"),
        ("visit example dot com", "example dot com"),
        ("go to marketglory . com now", "marketglory . com"),
        ("follow @deals_daily", "@deals_daily"),
    ],
)
def test_contacts_and_links_are_found_with_original_spans(text, expected):
    assert expected in spanned(text)
    assert signals(text).score > 0.0


@pytest.mark.parametrize(
    "text",
    [
        "Earn $500 a day from home, WhatsApp me on +44 7700 900123",
        "Make money online!! DM me for details 0555 123 45 67",
        "للتواصل واتساب 0555123456 الربح من البيت",
        "کسب درآمد دلاری روزانه، عضو کانال تلگرام ما شوید @cash_fa",
        "Evden para kazanın! Bilgi için whatsapp 0532 123 45 67",
        "Bitcoin investment opportunity, guaranteed returns, text me at sales@crypto-gain.io",
    ],
)
def test_contact_plus_pitch_is_strong_evidence(text):
    result = signals(text)
    assert result.score >= CONTACT_AND_PITCH_FLOOR
    assert result.features["promo_contact_and_pitch"] == 1.0


@pytest.mark.parametrize(
    "text",
    [
        "check out my channel for more videos",
        "subscribe to my channel",
        "اشتركوا في قناتي",
        "kanalıma abone olun",
        "لینک در بیو",
        "make $300 a day",
        "please subscribe to my channel",
        "Check out my youtube channel for cool beatboxing",
    ],
)
def test_pitches_are_found_in_several_languages(text):
    result = signals(text)
    assert result.features["promo_pitch_max"] > 0.0
    assert result.spans


def test_one_news_link_is_weak_evidence():
    news = signals("The figures are here: https://www.reuters.com/world/some-report-2026")
    shop = signals("The figures are here: https://www.cheap-watches.shop/sale")
    assert 0.0 < news.score < 0.2
    assert shop.score > news.score
    assert news.features["promo_news_url"] == 1.0


def test_an_amount_per_month_is_weak_but_an_earning_pitch_is_not():
    rent = signals("Rent went up to $550 a month and wages did not")
    pitch = signals("Earn $550 a day with this simple trick")
    assert 0.0 < rent.score < 0.5
    assert pitch.score > rent.score


def test_a_reply_handle_alone_is_weak():
    assert 0.0 < signals("@sam you are right about the budget").score < 0.15


@pytest.mark.parametrize(
    "text",
    [
        "The council approved the budget for 2025 and 2026.",
        "In 1990 2000 2010 and 2020 the census counted more people.",
        "The U.S. economy grew 3.5 percent, e.g. in services.",
        "Version 2.0 is out, costing 1,000,000 dollars in total.",
        "The minister's office said.Then nothing happened",
        "He earned a lot of respect from his colleagues",
        "The signal from the central bank was clear",
    ],
)
def test_ordinary_news_comments_have_no_promotion_evidence(text):
    result = signals(text)
    assert result.score == 0.0
    assert result.spans == []


def test_spans_map_back_through_normalisation():
    text = "Ｗｈａｔｓａｐｐ me\u200b now: +1 415 555 0134"
    result = signals(text)
    pieces = [text[start:end] for start, end in result.spans]
    assert "+1 415 555 0134" in pieces
    assert any("Ｗｈａｔｓａｐｐ" in piece for piece in pieces)


def test_spans_are_sorted_and_do_not_overlap():
    result = signals("DM me DM me on whatsapp whatsapp +44 7700 900123 www.x-deals.com")
    assert result.spans == sorted(result.spans)
    for (_, end), (start, _) in zip(result.spans, result.spans[1:], strict=False):
        assert end <= start


def test_features_have_a_fixed_key_set():
    for text in ["", "plain comment", "call me +44 7700 900123", "🙂"]:
        result = signals(text)
        assert isinstance(result, PromotionSignals)
        assert tuple(result.features) == PROMOTION_FEATURE_NAMES
        assert 0.0 <= result.score <= 1.0


@pytest.mark.parametrize("text", ["", "   ", "🙂🙂🙂🔥", "\u200b\u200d", "!!! ??? ..."])
def test_bad_input_gives_no_evidence(text):
    result = signals(text)
    assert result.score == 0.0
    assert result.spans == []
    assert set(result.features.values()) == {0.0}


def test_huge_text_is_handled():
    text = ("The council met again to debate the budget. " * 500)[
        :19_950
    ] + " dm me at +44 7700 900123"
    result = signals(text)
    assert result.score >= CONTACT_AND_PITCH_FLOOR
    assert text[result.spans[-1][0] : result.spans[-1][1]] == "+44 7700 900123"


@pytest.mark.parametrize(
    "text",
    [
        # "dot" somewhere, then one long run of (styled) letters: the obfuscated-link pattern
        # was tried from every letter of the run (15 s at 20,000 characters)
        "dot " + "".join(chr(0x1D400 + (i * 7) % 52) for i in range(60_000)),
        "dot " + "a" * 60_000,
        # a host that never ends in a top-level domain, separators in brackets (3 s at 20,000)
        "a[.]" * 15_000,
        "x.ab " + "a.1a" * 15_000,
    ],
    ids=["styled-letters", "ascii-run", "bracket-labels", "dot-labels"],
)
def test_long_hostile_runs_are_scanned_in_linear_time(text):
    """The per-comment budget of the rules: no pattern may retry a long run from each of its
    characters. These 60,000-character texts took minutes before (quadratic); linear, each
    takes well under a second here, so 5 s is a bound a loaded machine keeps."""
    import time

    started = time.perf_counter()
    signals(text)
    assert time.perf_counter() - started < 5


def test_links_after_long_runs_are_still_found():
    assert spanned("look...spam-site.com now") == ["spam-site.com"]
    assert spanned("a" * 5000 + " reach me at example.com") == ["example.com"]
    assert spanned("x[.]y" + "z" * 3000 + " dot com")  # the obfuscated form after a run
