"""Trust and watch in the policy ([trust]): a verified regular's approve bands are widened, never
for threat nor in a review-only language; a recently rejected commenter always goes to review;
the cascade fit's policy writer keeps the table."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from civility.engine.assessment import CATEGORIES
from civility.engine.policy import Policy, PolicyError, Standing, Trust
from civility.engine.training import fit_cascade as fc

REGULAR = Standing(approved=25, days_since_rejection=None)
NEWCOMER = Standing(approved=2, days_since_rejection=None)
REFORMED = Standing(approved=25, days_since_rejection=200.0)
WATCHED = Standing(approved=25, days_since_rejection=3.0)

POLICY = """
[bands.personal_attack]
approve_below = 0.10
reject_above = 0.90
[bands.threat]
approve_below = 0.10
reject_above = 0.99
[bands.profanity]
approve_below = 0.10
reject_above = 0.30
[languages]
modelled = ["en", "ar"]
[languages.approve_below.en]
personal_attack = 0.10
threat = 0.10
profanity = 0.10
[trust]
min_approved = 10
quiet_days = 60
factor = 2
watch_days = 30
"""


def policy() -> Policy:
    return Policy.from_toml(POLICY, base=Policy.default())


def scores(**overrides) -> dict:
    base = dict.fromkeys(CATEGORIES, 0.0)
    base.update(overrides)
    return base


def decide(standing, language="en", **overrides):
    return policy().decide(scores(**overrides), {}, None, language, standing)


def test_a_trusted_regular_gets_the_widened_band_and_the_reason_says_so():
    assert decide(None, personal_attack=0.15).decision == "review"
    assert decide(NEWCOMER, personal_attack=0.15).decision == "review"
    verdict = decide(REGULAR, personal_attack=0.15)
    assert verdict.decision == "approve"
    assert verdict.reason_codes == ["trusted"]
    assert "widened x2" in verdict.reasons[0]
    # Widened by the factor, no further: 0.10 x 2 = 0.20.
    assert decide(REGULAR, personal_attack=0.21).decision == "review"
    # A rejection long enough ago no longer stands in the way.
    assert decide(REFORMED, personal_attack=0.15).decision == "approve"
    # A comment every band passes anyway needs no trust and names none.
    assert decide(REGULAR, personal_attack=0.05).reason_codes == []


def test_trust_never_widens_threat():
    assert decide(REGULAR, threat=0.15).decision == "review"
    assert decide(REGULAR, threat=0.15, personal_attack=0.15).decision == "review"
    assert policy().trusted_approve_below("threat", "en") == 0.10


@pytest.mark.parametrize("language", ["ckb", "kmr", "other"])
def test_trust_never_widens_in_a_review_only_language(language):
    verdict = decide(REGULAR, language)
    assert verdict.decision == "review"
    assert "unsupported_language" in verdict.reason_codes
    assert policy().trusted_approve_below("personal_attack", language) == 0.10


def test_trust_never_widens_past_the_reject_band_nor_changes_a_rejection():
    assert policy().trusted_approve_below("profanity", "en") == 0.20  # 0.10 x 2
    wide = Policy.from_toml("[trust]\nfactor = 10\n", base=policy())
    assert wide.trusted_approve_below("profanity", "en") == 0.30  # capped at reject_above
    assert decide(REGULAR, profanity=0.5).decision == "reject"


def test_a_watched_commenter_is_always_reviewed_but_still_rejected_on_a_clear_violation():
    verdict = decide(WATCHED)
    assert verdict.decision == "review"
    assert verdict.reason_codes == ["watched"]
    assert "last 30 days" in verdict.reasons[0]
    assert decide(WATCHED, personal_attack=0.95).decision == "reject"
    # Rejected 45 days ago: no longer watched, not yet trusted again (quiet_days 60).
    lapsed = Standing(approved=25, days_since_rejection=45.0)
    assert decide(lapsed).decision == "approve"
    assert decide(lapsed, personal_attack=0.15).decision == "review"


def test_watch_wins_when_both_apply():
    both = Policy.from_toml("[trust]\nquiet_days = 1\nwatch_days = 30\n", base=policy())
    verdict = both.decide(scores(personal_attack=0.15), {}, None, "en", WATCHED)
    assert verdict.decision == "review"
    assert verdict.reason_codes == ["watched"]


def test_trust_off_and_watch_off():
    off = Policy.from_toml("[trust]\nfactor = 1\nwatch_days = 0\n", base=policy())
    assert off.decide(scores(personal_attack=0.15), {}, None, "en", REGULAR).decision == "review"
    assert off.decide(scores(), {}, None, "en", WATCHED).decision == "approve"
    assert replace_trust(policy(), Trust.off()).trust.factor == 1.0


def replace_trust(p: Policy, trust: Trust) -> Policy:
    from dataclasses import replace

    return replace(p, trust=trust)


@dataclass
class Assessed:
    decision: str
    categories: dict
    language: str = "en"
    abuse_kinds: dict = field(default_factory=dict)
    relevance: float | None = None
    reasons: list = field(default_factory=list)
    reason_codes: list = field(default_factory=list)


def test_with_standing_redecides_a_copy_only_when_standing_matters():
    p = policy()
    doubtful = Assessed("review", scores(personal_attack=0.15), reasons=["x"], reason_codes=["x"])
    assert p.with_standing(doubtful, None) is doubtful
    assert p.with_standing(doubtful, NEWCOMER) is doubtful
    trusted = p.with_standing(doubtful, REGULAR)
    assert (trusted.decision, trusted.reason_codes) == ("approve", ["trusted"])
    assert doubtful.decision == "review"  # the engine's own assessment is left as it was
    clean = Assessed("approve", scores())
    watched = p.with_standing(clean, WATCHED)
    assert (watched.decision, watched.reason_codes) == ("review", ["watched"])


def test_the_shipped_policy_has_trust_defaults_and_a_newsroom_overrides_them():
    shipped = Policy.default()
    assert shipped.trust == Trust()
    mine = Policy.from_toml("[trust]\nmin_approved = 3\n", base=shipped)
    assert mine.trust == Trust(min_approved=3)


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ("trust = 3\n", "trust must be a table"),
        ("[trust]\nfactors = 2\n", "trust.factors: unknown key"),
        ("[trust]\nfactor = 0.5\n", "trust.factor must be a number from 1 to 10"),
        ("[trust]\nfactor = nan\n", "trust.factor must be"),
        ("[trust]\nfactor = true\n", "trust.factor must be"),
        ("[trust]\nmin_approved = 0\n", "trust.min_approved must be a whole number"),
        ("[trust]\nmin_approved = 2.5\n", "trust.min_approved must be a whole number"),
        ("[trust]\nquiet_days = -1\n", "trust.quiet_days must be a number of days"),
        ("[trust]\nwatch_days = 'a month'\n", "trust.watch_days must be a number of days"),
    ],
)
def test_a_malformed_trust_table_names_the_problem(toml, message):
    with pytest.raises(PolicyError, match=message):
        Policy.from_toml(toml, base=Policy.default())


# --- the cascade fit's policy writer ---------------------------------------------------------

APPROVE = {lang: dict.fromkeys(CATEGORIES, 0.1) for lang in ("en", "tr")}
REJECT = dict.fromkeys(CATEGORIES, 0.9)
REPORT = {"held_out_half": {"automation": 0.7, "reject_precision": 0.98, "approved_violations": {}}}


def test_the_fit_writes_the_trust_defaults_into_a_new_policy_file(tmp_path):
    out = tmp_path / "policy.toml"
    trust = fc.carried_trust(out)
    written = fc.policy_toml(APPROVE, REJECT, REPORT, "e5s-test", trust)
    assert Policy.from_toml(written).trust == Trust()
    assert "[trust]" in written


def test_a_refit_keeps_the_trust_table_of_the_policy_it_replaces(tmp_path):
    out = tmp_path / "policy.toml"
    kept = Trust(min_approved=4, quiet_days=45, factor=1.25, watch_days=14)
    out.write_text(fc.policy_toml(APPROVE, REJECT, REPORT, "e5s-old", kept))
    trust = fc.carried_trust(out)
    assert trust == kept
    refit = fc.policy_toml(APPROVE, REJECT, REPORT, "e5s-new", trust)
    assert Policy.from_toml(refit).trust == kept
    # A hand-written table (no comments, some keys left out) is kept too.
    out.write_text("[trust]\nfactor = 2\n")
    assert fc.carried_trust(out) == Trust(factor=2.0)


def test_the_shipped_policy_file_round_trips_its_trust_table():
    from importlib import resources

    text = resources.files("civility.policy").joinpath("default.toml").read_text("utf-8")
    assert "[trust]" in text
    assert Trust().to_toml() in text
