"""The encoder tier's runtime (int8 ONNX + pruned tokenizer) and the cascade around it."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from civility.engine import Moderator
from civility.engine.assessment import CATEGORIES
from civility.engine.cascade import HEADS, Cascade
from civility.engine.encoder import SHIPPED_ENCODER, EncoderScorer, model_text
from civility.engine.moderator import _shipped_scorer
from civility.engine.policy import Policy


@pytest.fixture(scope="module")
def encoder():
    return EncoderScorer()


@pytest.fixture(scope="module")
def cascade():
    return Cascade.load()


def test_model_text_drops_invisible_characters_but_keeps_the_persian_half_space():
    assert model_text("f\u200bu\u200dc\u2060k \u202eyou") == "fuck you"
    assert model_text("ｙｏｕ  𝐢𝐝𝐢𝐨𝐭") == "you idiot"
    assert model_text("می\u200cخواهم") == "می\u200cخواهم"


def test_model_text_folds_look_alikes_only_in_words_that_mix_scripts():
    # Cyrillic у, о, і, о among Latin letters: the encoder reads the insult it was trained on.
    assert model_text("\u0443\u043eu \u0456di\u043et") == "you idiot"
    assert model_text("\u0406DI\u041eT") == "IDIOT"  # capitals keep their case
    # Real Russian and Greek words have no Latin letter and stay as written.
    assert model_text("\u0438\u0434\u0438\u043e\u0442 you") == "\u0438\u0434\u0438\u043e\u0442 you"
    assert (
        model_text("\u03b3\u03b5\u03b9\u03ac \u03c3\u03bf\u03c5")
        == "\u03b3\u03b5\u03b9\u03ac \u03c3\u03bf\u03c5"
    )


def test_the_encoder_reads_a_homoglyph_insult_as_the_plain_one(encoder):
    plain, disguised = encoder.logits(["you idiot", "\u0443\u043eu \u0456di\u043et"])
    assert np.array_equal(plain, disguised)


def test_missing_artifact_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="encoder.int8.onnx"):
        EncoderScorer(tmp_path)


def test_heads_are_the_six_categories_and_overall(encoder):
    assert encoder.heads == HEADS


# Our six languages' scripts, digits, punctuation and emoji.
SCRIPT_TEXT = st.text(
    alphabet=st.sampled_from(
        list("abcdefghijklmnopqrstuvwxyzçğışöüêîûABCÇĞİŞ0123456789 .,!?'\"-")
        + list("ابتثجحخدذرسشصضطظعغفقكلمنهويپچژگکیەۆێڵڕ ")
        + ["😀", "👍", "😂", "٣", "۴"]  # (🖕 is unknown to e5 even unpruned)
    ),
    min_size=1,
    max_size=200,
)


@settings(max_examples=200, deadline=None)
@given(SCRIPT_TEXT)
def test_the_pruned_vocabulary_never_falls_back_to_unknown(text):
    ids = EncoderScorer_tokenizer().encode("query: " + model_text(text)).ids
    assert 3 not in ids  # <unk>


_TOKENIZER = None


def EncoderScorer_tokenizer():
    global _TOKENIZER
    if _TOKENIZER is None:
        from tokenizers import Tokenizer

        _TOKENIZER = Tokenizer.from_file(str(SHIPPED_ENCODER / "tokenizer.json"))
    return _TOKENIZER


def test_long_comments_are_read_in_windows_and_each_head_takes_its_highest(encoder):
    long = " ".join(["The council discussed the budget for schools and roads."] * 40)
    windows = encoder.windows(long)
    assert len(windows) > 1
    assert all(len(w) <= encoder.max_tokens for w in windows)
    assert all(w[0] == 0 and w[-1] == 2 for w in windows)  # <s> … </s>
    whole = encoder.logits([long])[0]
    separately = [encoder.window_logits(window) for window in windows]
    assert np.array_equal(whole, np.max(separately, axis=0))


def test_a_comment_scores_the_same_alone_and_in_any_batch(encoder):
    long = (
        "The ministry promised new schools in every district, but the budget says otherwise. " * 12
    )
    texts = ["A careful report, thank you.", "you are a disgusting idiot", "سلام", long]
    batch = encoder.logits(texts)
    singles = np.vstack([encoder.logits([t]) for t in texts])
    # Exactly: dynamic int8 quantises activations per call, and a window scored beside others
    # once moved by up to 0.24 in probability (encoder.window_logits).
    assert np.array_equal(batch, singles)
    assert np.array_equal(encoder.logits(texts[::-1])[::-1], singles)


def test_an_insult_outscores_civil_criticism(encoder):
    civil, insult = encoder.score_many(
        ["This government has failed the teachers again.", "You are a worthless idiot."]
    )
    assert insult["personal_attack"] > civil["personal_attack"] + 0.3


# -- the cascade ---------------------------------------------------------------------------------


class CountingEncoder:
    """The shipped encoder, counting which texts reach it."""

    def __init__(self, inner):
        self.inner = inner
        self.seen: list[str] = []
        self.version, self.heads = inner.version, inner.heads

    def logits(self, texts):
        self.seen.extend(texts)
        return self.inner.logits(texts)


@pytest.fixture
def counted(cascade):
    counting = CountingEncoder(cascade.encoder)
    gated = Cascade(counting, cascade.stacker)
    return Moderator(_shipped_scorer(), Policy.default(), cascade=gated), counting


def test_kurdish_and_unrecognised_languages_always_reach_the_encoder(counted):
    moderator, counting = counted
    moderator.assess("Îro hewa pir xweş e, spas ji bo nûçeyê", lang="kmr")
    moderator.assess("ئەم ڕاپۆرتە زۆر باش بوو")
    assert len(counting.seen) == 2


def test_wordless_comments_skip_the_encoder(counted):
    moderator, counting = counted
    assert moderator.assess("👍👍 !!!").decision == "review"
    assert counting.seen == []


def test_comments_the_fast_tier_settles_skip_the_encoder(cascade):
    """The gate with thresholds set here (not the fitted ones, which move with every fit): a
    clean English comment is settled by the approve gate and a torrent of swearing by the reject
    gate, so neither reaches the encoder; an insult settles neither gate, and a clean Arabic
    comment has no approve gate in this stacker, so both of those do."""
    gate = {
        "reject_above": {"profanity": 0.8},
        "approve_below": {"en": dict.fromkeys(CATEGORIES, 0.3)},
    }
    counting = CountingEncoder(cascade.encoder)
    moderator = Moderator(
        _shipped_scorer(),
        Policy.default(),
        cascade=Cascade(counting, {**cascade.stacker, "gate": gate}),
    )
    comments = [
        ("Thanks, great piece.", "en"),
        ("fuck you, you fucking cunt", "en"),
        ("You are a stupid idiot and everyone here knows it", "en"),
        ("شكرا على هذا التقرير", "ar"),
    ]
    # Fast-only scores, measured with the shipped fast tier and stacker: the thanks at most 0.23
    # (personal attack), the swearing profanity 0.86, the insult personal attack 0.97.
    moderator.assess_many([(text, None, lang) for text, lang in comments])
    assert sorted(counting.seen) == sorted(
        ["You are a stupid idiot and everyone here knows it", "شكرا على هذا التقرير"]
    )


def test_more_encoder_evidence_never_lowers_a_fitted_score(cascade):
    for head, linear in cascade.full.items():
        assert linear.weights[1] > 0, head  # the encoder's own logit for the category


def test_model_version_names_both_tiers_and_the_policy():
    version = Moderator.default().model_version
    fast, encoder, policy = version.split("+")[0], version.split("+")[1], version.split("+")[-1]
    assert fast.startswith("fast-") and encoder.startswith("e5s") and policy.startswith("policy-")


def test_without_the_encoder_the_fast_tier_decides_alone(monkeypatch):
    monkeypatch.setenv("CIVILITY_ENCODER", "0")
    moderator = Moderator.default()
    assert moderator.cascade is None
    assert "e5s" not in moderator.model_version


# -- what the issue asked for, with the shipped models and policy --------------------------------


@pytest.fixture(scope="module")
def default_moderator():
    return Moderator.default()


@pytest.mark.parametrize(
    "text",
    [
        "Thank you for this balanced report on the strategic dialogue.",
        "The Iraq security talks in Baghdad matter for the region.",
        "The parliament voted in January. Like it or not, the elected representatives asked "
        "foreign troops to leave. Respect the vote.",
    ],
)
def test_plain_political_comment_is_approved(default_moderator, text):
    assert default_moderator.assess(text).decision == "approve"


def test_veiled_threat_against_a_reporter_is_not_approved(default_moderator):
    text = (
        "The reporter who wrote this lives in Ainkawa, right? Would be a shame if someone "
        "paid him a visit."
    )
    assert default_moderator.assess(text).decision != "approve"


def test_shipped_stacker_matches_the_shipped_encoder():
    stacker = json.loads((SHIPPED_ENCODER / "stacker.json").read_text("utf-8"))
    meta = json.loads((SHIPPED_ENCODER / "encoder.json").read_text("utf-8"))
    assert set(stacker["heads"]) == set(meta["heads"])
    assert stacker["encoder_languages"] == ["ckb", "kmr", "other"]
