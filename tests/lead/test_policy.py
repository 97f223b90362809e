"""The policy turns calibrated scores into decisions; a newsroom's TOML overrides the defaults."""

import pytest

from civility.engine.assessment import ABUSE_KINDS, CATEGORIES
from civility.engine.policy import Policy, PolicyError


def scores(**overrides):
    base = dict.fromkeys(CATEGORIES, 0.0)
    base.update(overrides)
    return base


NO_KINDS = dict.fromkeys(ABUSE_KINDS, 0.0)


def test_default_policy_has_a_band_for_every_category():
    policy = Policy.default()
    assert set(policy.bands) == set(CATEGORIES)
    for band in policy.bands.values():
        assert 0.0 <= band.approve_below <= band.reject_above <= 1.0


def test_clear_pass_is_approved():
    verdict = Policy.default().decide(scores(), NO_KINDS, None, "en")
    assert verdict.decision == "approve"
    assert verdict.reasons == []


def test_clear_violation_is_rejected_with_plain_words_reason():
    verdict = Policy.default().decide(scores(threat=0.999), NO_KINDS, None, "en")
    assert verdict.decision == "reject"
    assert verdict.reasons == ["Threat of violence"]
    assert verdict.reason_codes == ["threat"]


def test_between_bands_goes_to_review():
    policy = Policy.default()
    band = policy.bands["personal_attack"]
    middle = (band.approve_below + band.reject_above) / 2
    verdict = policy.decide(scores(personal_attack=middle), NO_KINDS, None, "en")
    assert verdict.decision == "review"
    assert verdict.reason_codes == ["personal_attack"]


def test_abuse_reason_names_the_kind():
    kinds = dict(NO_KINDS, xenophobia=0.9)
    verdict = Policy.default().decide(scores(abuse=0.999), kinds, None, "en")
    assert verdict.reasons == ["Abuse of a group (xenophobia)"]


def test_low_relevance_sends_to_review_never_rejects():
    verdict = Policy.default().decide(scores(), NO_KINDS, 0.0, "en")
    assert verdict.decision == "review"
    assert "off_topic" in verdict.reason_codes


@pytest.mark.parametrize("language", ["ckb", "kmr", "other"])
def test_unmodelled_language_is_never_auto_approved(language):
    verdict = Policy.default().decide(scores(), NO_KINDS, None, language)
    assert verdict.decision == "review"
    assert "unsupported_language" in verdict.reason_codes


def test_unmodelled_language_can_still_be_rejected_on_a_clear_violation():
    verdict = Policy.default().decide(scores(profanity=1.0), NO_KINDS, None, "kmr")
    assert verdict.decision == "reject"


def test_newsroom_override_changes_only_the_keys_it_names(tmp_path):
    path = tmp_path / "newsroom.toml"
    path.write_text('version = "gazette-1"\n[bands.threat]\nreject_above = 0.5\n')
    policy = Policy.load(path)
    default = Policy.default()
    assert policy.version == "gazette-1"
    assert policy.bands["threat"].reject_above == 0.5
    assert policy.bands["threat"].approve_below == default.bands["threat"].approve_below
    assert policy.bands["profanity"] == default.bands["profanity"]


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ("[bands.spam]\nreject_above = 0.5\n", "bands.spam: unknown category"),
        ("[bands.threat]\nreject_above = 1.5\n", "bands.threat.reject_above must be a number"),
        ("[bands.threat]\nreject_above = 'high'\n", "bands.threat.reject_above must be a number"),
        ("[bands.threat]\napprove_below = 0.9\nreject_above = 0.1\n", "is above reject_above"),
        ("this is = not toml [", "not valid TOML"),
        ("bands = 3\n", "bands must be a table"),
        ("[bands]\nprofanity = 0.5\n", "bands.profanity must be a table"),
        ("relevance = 3\n", "relevance must be a table"),
        ("[relevance]\nreview_below = 'x'\n", "relevance.review_below must be a number"),
        ("[relevance]\nreview_below = 2\n", "relevance.review_below must be a number"),
        ("[languages]\nmodelled = 'en'\n", "languages.modelled must be a list"),
        ("[languages]\napprove_below = 3\n", "languages.approve_below must be a table"),
        ("[languages.approve_below]\nen = 0.2\n", "languages.approve_below.en must be a table"),
        ("[languages.approve_below.en]\nspam = 0.2\n", "languages.approve_below.en.spam: unknown"),
        (
            "[languages.approve_below.tr]\nthreat = 'x'\n",
            "languages.approve_below.tr.threat must be",
        ),
        ("[languages.approve_below.tr]\nthreat = 1.0\n", "is above bands.threat.reject_above"),
    ],
)
def test_malformed_policy_names_the_problem(tmp_path, toml, message):
    path = tmp_path / "bad.toml"
    path.write_text(toml)
    with pytest.raises(PolicyError, match=message):
        Policy.load(path)


def test_missing_policy_file_is_a_clear_error(tmp_path):
    with pytest.raises(PolicyError, match="cannot read policy file"):
        Policy.load(tmp_path / "nope.toml")


def test_a_language_can_have_its_own_approve_bands(tmp_path):
    path = tmp_path / "newsroom.toml"
    path.write_text(
        "[bands.abuse]\napprove_below = 0.05\nreject_above = 0.9\n"
        "[languages]\nmodelled = ['en', 'xx']\n"
        "[languages.approve_below.en]\nabuse = 0.30\n"
    )
    policy = Policy.load(path)
    assert policy.decide(scores(abuse=0.2), NO_KINDS, None, "en").decision == "approve"
    assert policy.decide(scores(abuse=0.2), NO_KINDS, None, "xx").decision == "review"
    assert policy.approve_below("abuse", "xx") == 0.05  # no bands of its own: the global one
    # A later override keeps the languages and categories it does not name.
    again = tmp_path / "again.toml"
    again.write_text("[languages.approve_below.xx]\nprofanity = 0.01\n")
    merged = Policy.from_toml(again.read_text(), base=policy)
    assert merged.approve_below("abuse", "en") == 0.30
    assert merged.approve_below("profanity", "xx") == 0.01
