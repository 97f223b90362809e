"""Band and gate fitting for the cascade, on synthetic scores (no model needed)."""

from __future__ import annotations

from statistics import NormalDist

import numpy as np

from civility.engine.assessment import CATEGORIES
from civility.engine.cascade import HEADS
from civility.engine.training import fit_cascade as fc


def synthetic(n=4000, seed=0):
    rng = np.random.default_rng(seed)
    languages = rng.choice(["en", "ar", "fa", "tr"], size=n)
    y = (rng.random(n) < 0.3).astype(int)
    # Turkish ranks worse than English: noisier scores.
    noise = np.where(languages == "tr", 1.6, 0.8)
    logit = np.where(y == 1, 1.5, -1.5) + rng.normal(0, 1, n) * noise
    full = {h: 1 / (1 + np.exp(-(logit + rng.normal(0, 0.3, n)))) for h in HEADS}
    fast = {h: 1 / (1 + np.exp(-(logit * 0.6 + rng.normal(0, 0.8, n)))) for h in HEADS}
    labels = {h: y.copy() for h in HEADS}
    stacker = {h: {"full": {}, "fast": {}} for h in HEADS}
    for head in fc.HAND_BANDS:  # thin categories: no labels, scores that never trigger
        labels[head] = np.full(n, -1)
        full[head] = fast[head] = np.full(n, 0.001)
        stacker[head] = None
    # Threats: a fifth of the violations, most scored high, some (veiled ones) barely above
    # the clean comments, and a few fast-tier scores lower than the combined ones.
    threat = (y == 1) & (rng.random(n) < 0.2)
    labels["threat"] = threat.astype(int)
    full["threat"] = 1 / (1 + np.exp(-(np.where(threat, 0.5, -4.0) + rng.normal(0, 1.5, n))))
    fast["threat"] = 1 / (1 + np.exp(-(np.where(threat, -1.0, -4.0) + rng.normal(0, 1.5, n))))
    tuning = rng.random(n) < 0.5
    return full, fast, stacker, labels, languages, tuning


def test_every_language_keeps_its_own_miss_limit_on_the_tuning_half():
    full, fast, stacker, labels, languages, tuning = synthetic()
    chosen = fc.choose_bands_and_gate(full, fast, stacker, labels, languages, tuning)
    miss = fc.miss_rates(chosen["decision"], labels["overall"], languages, tuning)
    assert set(miss) == {"en", "ar", "fa", "tr"}
    assert max(miss.values()) <= fc.TARGET_MAX_MISS
    # The better-ranked language gets wider bands than the noisy one.
    en, tr = chosen["approve"]["en"], chosen["approve"]["tr"]
    assert sum(en.values()) > sum(tr.values())


def test_no_threat_of_the_tuning_half_is_approved_not_even_through_the_gate():
    full, fast, stacker, labels, languages, tuning = synthetic(seed=4)
    threats = tuning & (labels["threat"] == 1)
    chosen = fc.choose_bands_and_gate(full, fast, stacker, labels, languages, tuning)
    assert threats.sum() > 100
    assert not (chosen["decision"][threats] == "approve").any()
    band = chosen["threat_band"]
    assert 0 < band <= fc.THREAT_APPROVE_CAP
    open_elsewhere = threats & fc.under_bands(full, chosen["approve"], languages, skip="threat")
    assert band <= full["threat"][open_elsewhere].min() * fc.THREAT_MARGIN
    assert all(bands["threat"] == band for bands in chosen["approve"].values())
    gate = chosen["gate"]["approve_below"]
    gate_open = threats & fc.under_bands(fast, chosen["approve"], languages, skip="threat")
    assert all(bands["threat"] <= fast["threat"][gate_open].min() for bands in gate.values())
    # Clean comments are still approved: the band is not simply closed.
    clean = tuning & (labels["overall"] == 0)
    assert (chosen["decision"][clean] == "approve").mean() > 0.05


def test_a_faint_threat_that_other_bands_hold_back_does_not_close_the_threat_band():
    full, fast, stacker, labels, languages, tuning = synthetic(seed=4)
    threats = np.flatnonzero(tuning & (labels["threat"] == 1))
    before = fc.choose_bands_and_gate(full, fast, stacker, labels, languages, tuning)
    # One tuning threat scores as faint as any clean comment on threat, but personal attack
    # sees it: the band does not move, and that threat is still not approved.
    outlier = threats[0]
    for scores in (full, fast):
        scores["threat"][outlier] = 1e-6
        scores["personal_attack"][outlier] = 0.99
    after = fc.choose_bands_and_gate(full, fast, stacker, labels, languages, tuning)
    assert after["threat_band"] == before["threat_band"] > 0.001
    assert after["decision"][outlier] != "approve"
    # Unseen by every other category too, it does close the band under itself.
    for scores in (full, fast):
        for c in CATEGORIES:
            scores[c][outlier] = 1e-6
    closed = fc.choose_bands_and_gate(full, fast, stacker, labels, languages, tuning)
    assert closed["threat_band"] == 0.0
    assert closed["decision"][outlier] != "approve"


def test_below_every_keeps_a_margin_under_the_lowest_threat_and_the_cap():
    assert fc.below_every(np.array([0.5, 0.9]), 0.2) == 0.2
    assert fc.below_every(np.array([0.05, 0.9]), 0.2) == 0.04
    assert fc.below_every(np.array([0.002]), 0.2) == 0.0016
    assert fc.below_every(np.array([0.0001]), 0.2) == 0.0  # too faint to tell: approve none
    assert fc.below_every(np.array([]), 0.2) == 0.2


def test_the_threat_band_stays_under_the_fitted_tail_not_only_the_lowest_threat():
    rng = np.random.default_rng(7)
    # 60 threats whose logits spread widely: the lowest of them sits far above where one in
    # 400 would fall, so the fitted tail, not the minimum, sets the band.
    scores = 1 / (1 + np.exp(-rng.normal(1.0, 2.0, 60)))
    band = fc.tail_band(scores, 0.2)
    expected = 1 / (1 + np.exp(-(1.0 + NormalDist().inv_cdf(fc.THREAT_TAIL_SHARE) * 2.0)))
    assert 0 < band < scores.min() * fc.THREAT_MARGIN
    assert expected / 2 < band < expected * 2  # the fit recovers the generating tail
    # Tight, confident threats leave the cap; too few to fit leave it too.
    assert fc.tail_band(1 / (1 + np.exp(-rng.normal(6.0, 0.5, 60))), 0.2) == 0.2
    assert fc.tail_band(np.array([0.01, 0.99]), 0.2) == 0.2


def test_the_gate_never_settles_outside_the_bands_it_was_fitted_for():
    full, fast, stacker, labels, languages, tuning = synthetic(seed=1)
    chosen = fc.choose_bands_and_gate(full, fast, stacker, labels, languages, tuning)
    gate, approve, reject = chosen["gate"], chosen["approve"], chosen["reject"]
    for lang, bands in gate["approve_below"].items():
        for c in CATEGORIES:
            assert bands[c] <= approve[lang][c]
    for c, t in gate["reject_above"].items():
        assert t >= reject[c]


def test_rejections_meet_the_precision_target_on_the_tuning_half():
    full, fast, stacker, labels, languages, tuning = synthetic(seed=2)
    chosen = fc.choose_bands_and_gate(full, fast, stacker, labels, languages, tuning)
    rejected = tuning & (chosen["decision"] == "reject")
    assert rejected.sum() > 50
    assert labels["overall"][rejected].mean() >= 0.95


def test_a_language_without_bands_is_never_approved():
    full, fast, stacker, labels, languages, tuning = synthetic(seed=3)
    languages = languages.copy()
    languages[:100] = "ckb"
    decision = fc.decide(
        full, {"en": dict.fromkeys(CATEGORIES, 1.0)}, dict.fromkeys(CATEGORIES, 1.01), languages
    )
    assert not (decision[:100] == "approve").any()
    assert (decision[languages == "en"] == "approve").all()


def test_policy_file_round_trips_through_the_policy_loader():
    from civility.engine.policy import Policy

    approve = {lang: dict.fromkeys(CATEGORIES, 0.1) for lang in ("en", "tr")}
    approve["en"]["abuse"] = 0.3
    reject = dict.fromkeys(CATEGORIES, 0.9)
    report = {
        "held_out_half": {
            "automation": 0.7,
            "reject_precision": 0.98,
            "approved_violations": {"en": 0.01},
        }
    }
    policy = Policy.from_toml(fc.policy_toml(approve, reject, report, "e5s-test"))
    assert policy.approve_below("abuse", "en") == 0.3
    assert policy.approve_below("abuse", "tr") == 0.1
    assert policy.bands["abuse"].approve_below == 0.1  # the strictest language's
    assert policy.bands["abuse"].reject_above == 0.9
