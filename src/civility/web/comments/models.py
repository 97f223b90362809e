"""Comments, what the engine thought of them, and the append-only trail of decisions.

A comment has no stored status: its status is its latest Decision (none yet = pending).
The body never changes after posting and decisions are never updated or deleted; both rules
hold in the model layer here and in the database (see triggers.py and migration 0002)."""

from __future__ import annotations

import secrets

from django.conf import settings
from django.db import models
from django.db.models import Case, CharField, OuterRef, Q, Subquery, Value, When
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from civility.engine.assessment import CATEGORIES
from civility.web.appendonly import AppendOnlyError, AppendOnlyModel, AppendOnlyQuerySet

from .triggers import APPEAL_OUTCOMES, APPEALS

PENDING, APPROVED, REJECTED = "pending", "approved", "rejected"
STATUSES = (PENDING, APPROVED, REJECTED)
APPROVE, REJECT = "approve", "reject"
ACTION_STATUS = {APPROVE: APPROVED, REJECT: REJECTED}
# The engine's guideline categories are the reason codes a decision may cite.
GUIDELINE_CATEGORIES: tuple[str, ...] = CATEGORIES
# A rejection citing only this withdraws the comment because its author asked (a personal-data
# request, docs/privacy.md): it says nothing about the text, so it is no guideline broken.
AUTHOR_REQUEST = "author_request"
# The codes a decision may cite: the guideline categories plus off-topic, a catch-all and the
# author's request.
REASON_CODES: tuple[str, ...] = (*GUIDELINE_CATEGORIES, "off_topic", "other", AUTHOR_REQUEST)


class ImmutableError(AppendOnlyError):
    """Something tried to change a comment's body or rewrite the decision trail."""


def new_status_token() -> str:
    return secrets.token_urlsafe(24)


class CommentQuerySet(models.QuerySet):
    def with_status(self) -> CommentQuerySet:
        """Annotate `current_status` (pending/approved/rejected), `decided_at` and
        `decided_automatically` from each comment's latest decision."""
        # The trail's order is its id: a monotonic key given at insertion, under the comment's
        # lock (services.record_decision), so "latest" never depends on clock readings.
        latest = Decision.objects.filter(comment=OuterRef("pk")).order_by("-id")
        return self.annotate(
            latest_action=Subquery(latest.values("action")[:1]),
            decided_at=Subquery(latest.values("created")[:1]),
            latest_actor_policy=Subquery(latest.values("actor_policy_version")[:1]),
        ).annotate(
            current_status=Case(
                When(latest_action=APPROVE, then=Value(APPROVED)),
                When(latest_action=REJECT, then=Value(REJECTED)),
                default=Value(PENDING),
                output_field=CharField(),
            ),
            decided_automatically=Case(
                When(Q(latest_action__isnull=False) & ~Q(latest_actor_policy=""), then=True),
                default=False,
                output_field=models.BooleanField(),
            ),
        )

    def with_decision_id(self) -> CommentQuerySet:
        """Annotate `decision_id`: the id of the latest decision (None while pending), the
        state a moderator's page or API client decides on (services.record_decision)."""
        latest = Decision.objects.filter(comment=OuterRef("pk")).order_by("-id")
        return self.annotate(decision_id=Subquery(latest.values("id")[:1]))

    def approved(self) -> CommentQuerySet:
        return self.with_status().filter(current_status=APPROVED)

    def pending(self) -> CommentQuerySet:
        return self.with_status().filter(current_status=PENDING)

    def update(self, **kwargs):
        if "body" in kwargs:
            raise ImmutableError("a comment body is immutable")
        return super().update(**kwargs)


class Comment(models.Model):
    article = models.ForeignKey(
        "articles.Article",
        on_delete=models.PROTECT,
        related_name="comments",
        verbose_name=_("article"),
    )
    parent = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="replies",
        verbose_name=_("in reply to"),
    )
    author_name = models.CharField(_("name"), max_length=80)
    # Private: never shown on public pages or in public API responses.
    author_email = models.EmailField(_("e-mail"), blank=True)
    body = models.TextField(_("comment"))
    language = models.CharField(_("language"), max_length=8, blank=True)
    created = models.DateTimeField(_("posted"), default=timezone.now, db_index=True)
    # Keyed hash of the client IP: enough to group one sender's comments, useless to reverse.
    ip_hash = models.CharField(max_length=64, blank=True, db_index=True)
    # The commenter's private link to see the decision; unguessable, never listed.
    status_token = models.CharField(
        max_length=64, unique=True, default=new_status_token, editable=False
    )
    # Set on comments loaded by `civility import` (history from another system): a checksum of
    # (article slug, author, posted, text), so a second run of the same file adds nothing.
    import_key = models.CharField(max_length=64, null=True, blank=True, unique=True, editable=False)

    objects = CommentQuerySet.as_manager()

    class Meta:
        ordering = ["created", "id"]
        permissions = [("moderate_comment", "Can approve or reject comments")]

    def __str__(self) -> str:
        return f"{self.author_name}: {self.body[:40]}"

    @classmethod
    def from_db(cls, db, field_names, values):
        instance = super().from_db(db, field_names, values)
        instance._loaded_body = instance.__dict__.get("body")
        return instance

    def save(self, *args, **kwargs):
        if self.pk is not None and not self._state.adding:
            original = getattr(self, "_loaded_body", None)
            if original is None:
                original = Comment.objects.filter(pk=self.pk).values_list("body", flat=True).first()
            if original is not None and original != self.body:
                raise ImmutableError("a comment body is immutable")
        super().save(*args, **kwargs)
        self._loaded_body = self.body

    @property
    def status(self) -> str:
        """pending / approved / rejected, from the latest decision."""
        annotated = self.__dict__.get("current_status")
        if annotated is not None:
            return annotated
        latest = self.latest_decision
        return ACTION_STATUS[latest.action] if latest else PENDING

    @property
    def being_assessed(self) -> bool:
        """Pending, with its assessment queued for the workers (not yet stored)."""
        known = self.__dict__.get("being_assessed_now")
        if known is not None:
            return known
        return self.status == PENDING and AwaitingAssessment.objects.filter(comment=self).exists()

    @property
    def latest_decision(self) -> Decision | None:
        return self.decisions.order_by("-id").first()

    def get_status_url(self) -> str:
        return reverse("comments:status", args=[self.status_token])


class Assessment(models.Model):
    """The engine's view of one comment, kept as evidence next to the decisions."""

    comment = models.OneToOneField(Comment, on_delete=models.PROTECT, related_name="assessment")
    model_version = models.CharField(max_length=120)
    categories = models.JSONField(default=dict)
    abuse_kinds = models.JSONField(default=dict)
    spans = models.JSONField(default=list)
    relevance = models.FloatField(null=True, blank=True)
    score = models.FloatField()
    suggested_decision = models.CharField(max_length=10)
    reasons = models.JSONField(default=list)
    reason_codes = models.JSONField(default=list)
    language = models.CharField(max_length=8, blank=True)
    created = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.suggested_decision} ({self.score:.2f}) for comment {self.comment_id}"


class DecisionQuerySet(AppendOnlyQuerySet):
    def human(self) -> DecisionQuerySet:
        """Decisions a person made: a moderator's here, or an imported one that names who
        decided (`decided_by`). Never the policy's, nor an imported one of unknown origin."""
        return self.filter(HUMAN_DECISION)


# A moderator's decision, or an imported one naming the person who made it (see .human()).
HUMAN_DECISION = Q(actor__isnull=False) | (Q(imported=True) & ~Q(decided_by=""))


class Decision(AppendOnlyModel):
    """One approve/reject, by a moderator, by the automatic policy, or imported from the
    newsroom's earlier system (`civility import`). Append-only (ImmutableError); its
    triggers are in triggers.py with the comment body's."""

    append_only_error = ImmutableError

    ACTIONS = [(APPROVE, _("approve")), (REJECT, _("reject"))]

    comment = models.ForeignKey(Comment, on_delete=models.PROTECT, related_name="decisions")
    action = models.CharField(max_length=10, choices=ACTIONS)
    reasons = models.JSONField(default=list, help_text="reason codes, see REASON_CODES")
    note = models.TextField(blank=True)
    # A person, or None with actor_policy_version set when the engine's policy decided.
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    actor_policy_version = models.CharField(max_length=120, blank=True)
    # Imported history: no actor and no policy; `decided_by` is the name the earlier system
    # gave for the person who decided, as text (blank when it named nobody, or a machine).
    imported = models.BooleanField(default=False)
    decided_by = models.CharField(max_length=150, blank=True)
    created = models.DateTimeField(default=timezone.now, db_index=True)

    objects = DecisionQuerySet.as_manager()

    class Meta:
        # Insertion order; `created` follows it within a comment (never earlier than the
        # decision before it), so reading the trail by either gives the same story.
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(action__in=[APPROVE, REJECT]), name="decision_action_valid"
            ),
            models.CheckConstraint(
                condition=Q(actor__isnull=False) | ~Q(actor_policy_version="") | Q(imported=True),
                name="decision_has_actor",
            ),
            # An imported decision has neither a user nor a policy; only it names a decider
            # as text.
            models.CheckConstraint(
                condition=Q(imported=False, decided_by="")
                | Q(imported=True, actor__isnull=True, actor_policy_version=""),
                name="decision_import_fields",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.action} comment {self.comment_id} by {self.actor_label}"

    @property
    def automatic(self) -> bool:
        return self.actor_id is None and not self.imported

    @property
    def actor_label(self) -> str:
        if self.imported:
            return f"{self.decided_by or 'unknown'} (imported)"
        if self.actor_id is None:
            return f"policy {self.actor_policy_version}"
        return self.actor.get_username()


class AwaitingAssessment(models.Model):
    """A comment whose assessment waits for the workers (docs/workers.md). Stored with the
    comment (or by `civility reassess`) and deleted in the transaction that stores the
    assessment, so it is the durable record of what remains to assess: a lost Celery message
    or a killed worker costs time, never a comment.

    A worker claims a batch of rows for a while (`claim`, `claimed_until`, epoch seconds; 0 is
    unclaimed) so two workers never assess the same comment at once; a claim that outlives its
    lease (the worker died) may be taken by another."""

    comment = models.OneToOneField(
        Comment, primary_key=True, on_delete=models.CASCADE, related_name="awaiting"
    )
    # Denormalised from the comment so batches can be picked fairly across articles.
    article = models.ForeignKey(
        "articles.Article", on_delete=models.CASCADE, related_name="+", db_index=False
    )
    # The poster's language hint (the API's `lang`), read by the engine only.
    lang_hint = models.CharField(max_length=32, blank=True)
    queued = models.DateTimeField(default=timezone.now, db_index=True)
    claim = models.CharField(max_length=32, blank=True)
    claimed_until = models.FloatField(default=0)
    # Claims so far, and why the last one ended without an assessment (empty: its lease ran
    # out). After CIVILITY_ASSESS_MAX_ATTEMPTS the comment leaves the queue for an
    # AssessmentFailure instead of being claimed again.
    attempts = models.PositiveIntegerField(default=0, db_default=0)
    last_error = models.CharField(max_length=300, blank=True, default="", db_default="")

    class Meta:
        indexes = [models.Index(fields=["article", "comment"], name="awaiting_article_fair")]

    def __str__(self) -> str:
        return f"comment {self.comment_id} awaiting assessment"


class AssessmentFailure(models.Model):
    """A comment the workers gave up on: its assessment failed or overran its lease
    CIVILITY_ASSESS_MAX_ATTEMPTS times. It stays pending and the moderation queue says "needs
    human review: could not be assessed"; it is never claimed again unless queued again
    (`civility reassess`), and an assessment stored later removes this row."""

    comment = models.OneToOneField(
        Comment, primary_key=True, on_delete=models.CASCADE, related_name="assessment_failure"
    )
    attempts = models.PositiveIntegerField()
    reason = models.CharField(max_length=300)
    created = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"comment {self.comment_id} could not be assessed ({self.reason})"


UPHELD, OVERTURNED = "upheld", "overturned"
# The reason code of the approval that an overturned appeal appends to the decision trail.
APPEAL_OVERTURNED = "appeal_overturned"


class Appeal(AppendOnlyModel):
    """A rejected comment's author asks for the rejection to be looked at again, once per
    comment (EU Digital Services Act, article 20). Append-only: its outcome is a row of its
    own (AppealOutcome); pending = no outcome yet."""

    trail_triggers = APPEALS

    comment = models.OneToOneField(Comment, on_delete=models.PROTECT, related_name="appeal")
    # The rejection appealed against (the comment's latest decision when it was filed).
    rejection = models.ForeignKey(Decision, on_delete=models.PROTECT, related_name="+")
    text = models.TextField()
    # The page's language when it was filed: the outcome mail is written in it.
    language = models.CharField(max_length=8, blank=True)
    created = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"appeal {self.pk} of comment {self.comment_id}"


class AppealOutcome(AppendOnlyModel):
    """A moderator other than the one who rejected upholds the rejection or overturns it; an
    overturn appends an approval (`decision`, reason APPEAL_OVERTURNED) to the comment's trail."""

    trail_triggers = APPEAL_OUTCOMES
    OUTCOMES = [(UPHELD, _("upheld")), (OVERTURNED, _("overturned"))]

    appeal = models.OneToOneField(Appeal, on_delete=models.PROTECT, related_name="outcome")
    outcome = models.CharField(max_length=12, choices=OUTCOMES)
    reason = models.TextField()
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    # The approval that published the comment (overturned only).
    decision = models.OneToOneField(
        Decision, null=True, blank=True, on_delete=models.PROTECT, related_name="appeal_outcome"
    )
    created = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(outcome=UPHELD, decision__isnull=True)
                | Q(outcome=OVERTURNED, decision__isnull=False),
                name="appeal_outcome_decision",
            ),
        ]

    def __str__(self) -> str:
        return f"appeal {self.appeal_id} {self.outcome}"
