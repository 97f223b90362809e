"""The newsroom's decisions as training examples, learning runs, and the model store of this
site (`<CIVILITY_DATA_DIR>/models`, shared by the service, the workers and the CLI)."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from civility.engine.learning import Example, LearnSettings, learn
from civility.engine.learning.examples import latest_per_key
from civility.engine.learning.features import compute_features
from civility.web.engine import base_moderator, model_store  # model_store: callers use it here

log = logging.getLogger(__name__)


def human_examples(limit: int | None = None) -> list[Example]:
    """One example per comment: its latest human decision (a moderator's, or imported history
    that names who decided: `Decision.objects.human()`), never an automatic one. A comment a human reversed counts with the reversal; an automatic
    decision a human then reversed counts with the human's. Oldest first; `limit` keeps the
    most recent. A withdrawal at the author's request says nothing about the text: it is left
    out, so the human decision before it (if any) stays the comment's example."""
    from civility.web.comments.models import Decision
    from civility.web.comments.services import is_withdrawal

    rows = (
        Decision.objects.human()
        .order_by("comment_id", "created", "pk")
        .values_list(
            "comment_id", "action", "reasons", "created", "comment__body", "comment__language"
        )
    )
    examples = [
        Example(
            text=body,
            decision=action,
            reasons=tuple(reasons or ()),
            language=language or None,
            decided_at=created.timestamp(),
            key=str(comment_id),
        )
        for comment_id, action, reasons, created, body, language in rows.iterator()
        if not is_withdrawal(reasons)
    ]
    examples = latest_per_key(examples)
    return examples[-limit:] if limit else examples


class NotEnoughDecisions(ValueError):
    """Too few human decisions to learn from yet."""


@dataclass
class LearnOutcome:
    report: object  # engine.learning.fit.LearnReport
    promoted: bool
    reason: str


def run_learning(
    learn_settings: LearnSettings | None = None,
    auto_promote: bool = False,
    limit: int | None = None,
    min_examples: int = 50,
    shipped_data_dir: str | None = None,
) -> LearnOutcome:
    """Learn a candidate from every human decision (with the shipped model's public data mixed
    in and judging it too, when `shipped_data_dir` is given), store it, and promote it if asked
    and it is worse in no language. Raises ValueError when there is too little to learn from."""
    examples = human_examples(limit)
    if len(examples) < min_examples:
        raise NotEnoughDecisions(
            f"{len(examples)} human decisions; at least {min_examples} are needed to learn"
        )
    base = base_moderator()
    store = model_store()
    active = store.active_adapter()
    features = compute_features(base, [e.text for e in examples], [e.language for e in examples])
    base_rows = dev = None
    if shipped_data_dir:
        from civility.engine.learning.shipped import shipped_data

        base_rows, dev = shipped_data(base, shipped_data_dir)
    adapter, report = learn(
        features,
        examples,
        base.base_policy,
        base.base_version,
        active,
        learn_settings,
        base_rows=base_rows,
        dev=dev,
    )
    store.add(adapter)
    log.info("learnt candidate %s from %d decisions", adapter.version, len(examples))
    if not auto_promote:
        return LearnOutcome(report, False, "auto-promotion is off")
    if report.worse:
        return LearnOutcome(report, False, f"worse in {', '.join(report.worse)}")
    if not report.adapted:
        return LearnOutcome(report, False, "it adapts no language")
    store.promote(adapter.version)
    return LearnOutcome(report, True, "worse in no language")
