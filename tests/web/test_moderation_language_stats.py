"""The dashboard's per-language figures: decided automatically, agreement between the engine and
moderators, reversals of automatic decisions, per period; the function, the page and the API."""

import re
from datetime import UTC, date, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from civility.web.api.models import ApiToken
from civility.web.comments.models import Assessment, Comment, Decision
from civility.web.moderation import charts
from civility.web.moderation.stats import language_stats

pytestmark = pytest.mark.django_db

# A Wednesday: its week began on Monday 10 March.
NOW = datetime(2025, 3, 12, 12, 0, tzinfo=UTC)
AUTO, HUMAN = "auto", "human"


def comment(article, posted, language="", suggestion=None, model="m1", comment_language=""):
    """A comment posted at `posted`; with an engine suggestion, its assessment."""
    made = Comment.objects.create(
        article=article, author_name="A", body="text", created=posted, language=comment_language
    )
    if suggestion is not None:
        Assessment.objects.create(
            comment=made,
            model_version=model,
            score=0.5,
            suggested_decision=suggestion,
            language=language,
        )
    return made


def decide(made, moderator, *steps):
    """Append decisions in order: (AUTO or HUMAN, action)."""
    for minutes, (who, action) in enumerate(steps, start=1):
        Decision.objects.create(
            comment=made,
            action=action,
            reasons=["other"] if action == "reject" else [],
            actor=moderator if who == HUMAN else None,
            actor_policy_version="" if who == HUMAN else "policy-test",
            created=made.created + timedelta(minutes=minutes),
        )


def build(article, moderator, now):
    """Comments in English, Arabic, Kurmanji and an unknown language over four weeks: this week
    (posted `now`), the three before (their Wednesdays at noon), and one long before."""
    monday = (now - timedelta(days=now.weekday())).replace(hour=12, minute=0, second=0)
    this_week, w1, w2, w3 = (
        now,
        monday - timedelta(days=5),
        monday - timedelta(days=12),
        (monday - timedelta(days=19)),
    )
    # English, last week: automatic approve; automatic approve reversed by a moderator;
    # sent to review and approved; suggested reject and rejected by a moderator (agrees);
    # suggested approve and rejected by a moderator (disagrees); sent to review, still pending.
    decide(comment(article, w1, "en", "approve"), moderator, (AUTO, "approve"))
    decide(comment(article, w1, "en", "approve"), moderator, (AUTO, "approve"), (HUMAN, "reject"))
    decide(comment(article, w1, "en", "review"), moderator, (HUMAN, "approve"))
    decide(comment(article, w1, "en", "reject"), moderator, (HUMAN, "reject"))
    decide(comment(article, w1, "en", "approve"), moderator, (HUMAN, "reject"))
    comment(article, w1, "en", "review")
    # English, two weeks ago, an older model: an automatic reject a moderator confirmed; an
    # automatic approve rejected and then approved again (reversed once, and the moderator's
    # latest decision agrees); a comment the engine failed on, approved by a moderator.
    decide(
        comment(article, w2, "en", "reject", "m0"), moderator, (AUTO, "reject"), (HUMAN, "reject")
    )
    decide(
        comment(article, w2, "en", "approve", "m0"),
        moderator,
        (AUTO, "approve"),
        (HUMAN, "reject"),
        (HUMAN, "approve"),
    )
    decide(comment(article, w2, comment_language="en"), moderator, (HUMAN, "approve"))
    # Arabic, this week, two model versions: an automatic reject; an automatic reject reversed;
    # suggested approve and approved by a moderator; one the engine has not assessed yet, whose
    # language came with the comment.
    decide(comment(article, this_week, "ar", "reject", "m2"), moderator, (AUTO, "reject"))
    decide(
        comment(article, this_week, "ar", "reject", "m1"),
        moderator,
        (AUTO, "reject"),
        (HUMAN, "approve"),
    )
    decide(comment(article, this_week, "ar", "approve", "m2"), moderator, (HUMAN, "approve"))
    comment(article, this_week, comment_language="ar")
    # Kurmanji, three weeks ago: sent to review, pending. No language at all: rejected by hand.
    comment(article, w3, "kmr", "review", "m0")
    decide(comment(article, w3), moderator, (HUMAN, "reject"))
    # Outside every window used here.
    decide(
        comment(article, monday - timedelta(days=70), "en", "approve"), moderator, (AUTO, "approve")
    )


def figures(p):
    return {
        "posted": p.posted,
        "decided": p.decided,
        "automatic": p.automatic,
        "human": p.human,
        "compared": p.compared,
        "agreed": p.agreed,
        "review": p.sent_to_review,
        "without": p.without_suggestion,
        "reversed": p.reversed,
        "versions": p.model_versions,
    }


def zero(**changes):
    base = dict.fromkeys(
        ("posted", "decided", "automatic", "human", "compared", "agreed", "review", "without"), 0
    )
    return {**base, "reversed": 0, "versions": [], **changes}


EN_LAST_WEEK = zero(
    posted=6, decided=5, automatic=2, human=4, compared=3, agreed=1, review=1, reversed=1,
    versions=["m1"],
)  # fmt: skip
EN_TWO_WEEKS_AGO = zero(
    posted=3, decided=3, automatic=2, human=3, compared=2, agreed=2, without=1, reversed=1,
    versions=["m0"],
)  # fmt: skip
AR_THIS_WEEK = zero(
    posted=4, decided=3, automatic=2, human=2, compared=2, agreed=1, reversed=1,
    versions=["m1", "m2"],
)  # fmt: skip


def test_weekly_figures_per_language(article, moderator_user):
    build(article, moderator_user, NOW)
    stats = language_stats(21, now=NOW)
    assert stats.period == "week"
    # 21 days back from Wednesday 12 March is Thursday 20 February: its week began on the 17th.
    assert (stats.start, stats.end) == (date(2025, 2, 17), date(2025, 3, 12))
    assert [s.language for s in stats.languages] == ["en", "ar", "kmr", ""]
    en, ar, kmr, unknown = stats.languages
    starts = [date(2025, 2, 17), date(2025, 2, 24), date(2025, 3, 3), date(2025, 3, 10)]
    for series in stats.languages:
        assert [p.start for p in series.periods] == starts
        assert series.periods[-1].end == date(2025, 3, 12)  # the week so far
    assert [figures(p) for p in en.periods] == [zero(), EN_TWO_WEEKS_AGO, EN_LAST_WEEK, zero()]
    assert [figures(p) for p in ar.periods] == [zero(), zero(), zero(), AR_THIS_WEEK]
    assert figures(kmr.periods[0]) == zero(posted=1, versions=["m0"])
    assert figures(unknown.periods[0]) == zero(posted=1, decided=1, human=1, without=1)

    last_week, two_weeks_ago = en.periods[2], en.periods[1]
    assert last_week.automatic_share == pytest.approx(2 / 5)
    assert last_week.agreement == pytest.approx(1 / 3)
    assert last_week.reversal_share == pytest.approx(1 / 2)
    assert two_weeks_ago.agreement == 1.0
    this_week = ar.periods[3]
    assert (this_week.automatic_share, this_week.agreement) == (pytest.approx(2 / 3), 0.5)
    assert this_week.reversal_share == 0.5
    # Nothing to measure is no figure, not zero.
    assert (kmr.periods[0].automatic_share, kmr.periods[0].agreement) == (None, None)
    assert kmr.periods[0].reversal_share is None

    assert figures(en.total) == zero(
        posted=9, decided=8, automatic=4, human=7, compared=5, agreed=3, review=1, without=1,
        reversed=2, versions=["m0", "m1"],
    )  # fmt: skip
    assert (en.total.start, en.total.end) == (date(2025, 2, 17), date(2025, 3, 12))
    assert en.name == "English" and ar.name == "العربية" and unknown.name == "Unknown language"


def test_short_ranges_are_per_day(article, moderator_user):
    build(article, moderator_user, NOW)
    stats = language_stats(7, now=NOW)
    assert stats.period == "day"
    assert stats.start == date(2025, 3, 6)
    assert [s.language for s in stats.languages] == ["ar"]  # last week's Wednesday is outside
    (ar,) = stats.languages
    assert [(p.start, p.end) for p in ar.periods][-1] == (date(2025, 3, 12), date(2025, 3, 12))
    assert len(ar.periods) == 7
    assert figures(ar.periods[-1]) == AR_THIS_WEEK
    assert figures(ar.total) == AR_THIS_WEEK
    assert language_stats(7, now=NOW, period="week").period == "week"


def test_imported_decisions_are_human_without_a_suggestion(article):
    """History imported from another system (`civility import`): decisions with neither a
    moderator nor the policy, whether or not they name who decided. They count as people's
    decisions and, having no assessment, never for or against the engine."""
    for action, decided_by in (("reject", "desk"), ("approve", "")):
        made = comment(article, NOW, comment_language="tr")
        Decision.objects.create(
            comment=made,
            action=action,
            reasons=["other"] if action == "reject" else [],
            imported=True,
            decided_by=decided_by,
            created=NOW,
        )
    (tr,) = language_stats(7, now=NOW).languages
    assert figures(tr.total) == zero(posted=2, decided=2, human=2, without=2)
    assert tr.total.automatic_share == 0.0 and tr.total.agreement is None


def test_empty_range(db):
    stats = language_stats(14, now=NOW)
    assert stats.languages == [] and stats.period == "day"


def test_one_grouped_query(article, moderator_user):
    build(article, moderator_user, NOW)
    with CaptureQueriesContext(connection) as queries:
        language_stats(90, now=NOW)
    reads = [q["sql"] for q in queries.captured_queries if "comments_comment" in q["sql"]]
    assert len(reads) == 1 and "GROUP BY" in reads[0]


def rows_of(html, language):
    section = html.split(f'id="lang-{language}"', 1)[1].split("</section>", 1)[0]
    rows = re.findall(r'<tr data-period="([^"]+)">(.*?)</tr>', section, re.S)
    return section, {period: cells(row) for period, row in rows}


def cells(row):
    found = dict(re.findall(r'<td class="(\w+)">(.*?)</td>', row, re.S))
    return {k: re.sub(r"<[^>]+>", "", v).split() for k, v in found.items()}


def test_dashboard_shows_each_language_per_week(client, moderator_user, article):
    now = timezone.now()
    build(article, moderator_user, now)
    monday = timezone.localdate(now) - timedelta(days=now.weekday())
    client.force_login(moderator_user)
    html = client.get("/moderation/dashboard/", {"days": "30"}).content.decode()
    assert "Week starting" in html

    section, rows = rows_of(html, "en")
    assert '<span lang="en" dir="ltr">English</span>' in section
    assert section.count('<svg class="chart spark"') == 3
    last_week = rows[str(monday - timedelta(days=7))]
    assert last_week == {
        "posted": ["6"],
        "automatic": ["40%", "2/5"],
        "agreement": ["33%", "1/3"],
        "review": ["1"],
        "reversed": ["1", "50%"],
        "versions": ["m1"],
    }
    assert rows[str(monday)] == {
        "posted": ["0"],
        "automatic": ["–", "0/0"],
        "agreement": ["–", "0/0"],
        "review": ["0"],
        "reversed": ["0", "–"],
        "versions": [],
    }
    assert rows["total"]["agreement"] == ["60%", "3/5"]
    assert rows["total"]["versions"] == ["m0,", "m1"]

    section, rows = rows_of(html, "ar")
    assert '<span lang="ar" dir="rtl">العربية</span>' in section
    assert rows[str(monday)]["automatic"] == ["67%", "2/3"]
    assert rows[str(monday)]["versions"] == ["m1,", "m2"]
    assert "Unknown language" in rows_of(html, "unknown")[0]
    # The page's other charts are still there.
    assert html.count('<svg class="chart" role') == 3


def test_dashboard_is_per_day_for_short_ranges_and_in_the_moderator_language(
    client, moderator_user, article
):
    now = timezone.now()
    build(article, moderator_user, now)
    client.force_login(moderator_user)
    html = client.get("/moderation/dashboard/", {"days": "7"}).content.decode()
    _section, rows = rows_of(html, "ar")
    assert len(rows) == 8  # seven days and the total
    assert rows[str(timezone.localdate(now))]["agreement"] == ["50%", "1/2"]
    persian = client.get("/moderation/dashboard/", {"days": "7"}, HTTP_ACCEPT_LANGUAGE="fa")
    _section, rows = rows_of(persian.content.decode(), "ar")
    assert rows[str(timezone.localdate(now))]["agreement"] == ["۵۰٪", "۱/۲"]


def test_dashboard_escapes_model_versions_and_languages(client, moderator_user, article):
    comment(article, timezone.now(), "<b>x</b>", "review", model="<script>v</script>")
    client.force_login(moderator_user)
    html = client.get("/moderation/dashboard/").content.decode()
    assert "<script>v" not in html and "&lt;script&gt;v&lt;/script&gt;" in html
    assert "<b>x</b>" not in html and "&lt;b&gt;x&lt;/b&gt;" in html


def test_sparkline_scales_shares_and_marks_empty_periods():
    svg = str(charts.share_sparkline([("a", 1.0), ("b", 0.5), ("<c>", None)], title="T <&>"))
    heights = [float(h) for h in re.findall(r'class="bar" [^>]*height="([\d.]+)"', svg)]
    assert heights == [36.0, 18.0]
    assert 'class="none"' in svg and "&lt;c&gt;: –" in svg
    assert "<title>T &lt;&amp;&gt;</title>" in svg


def api_get(client, token, query=""):
    return client.get(
        f"/api/v1/moderation/stats/languages{query}", HTTP_AUTHORIZATION=f"Bearer {token}"
    )


def test_api_returns_the_same_series(client, moderator_user, article):
    now = timezone.now()
    build(article, moderator_user, now)
    monday = timezone.localdate(now) - timedelta(days=now.weekday())
    token = ApiToken.objects.issue(moderator_user)[1]
    body = api_get(client, token, "?days=21").json()
    assert body["period"] == "week"
    assert body["end"] == str(timezone.localdate(now))
    assert [s["language"] for s in body["languages"]] == ["en", "ar", "kmr", ""]
    en = body["languages"][0]
    assert en["name"] == "English"
    last_week = next(p for p in en["periods"] if p["start"] == str(monday - timedelta(days=7)))
    assert last_week == {
        "start": str(monday - timedelta(days=7)),
        "end": str(monday - timedelta(days=1)),
        "posted": 6,
        "decided": 5,
        "automatic": 2,
        "automatic_share": 0.4,
        "human_decided": 4,
        "compared": 3,
        "agreed": 1,
        "agreement": pytest.approx(1 / 3),
        "sent_to_review": 1,
        "without_suggestion": 0,
        "reversed": 1,
        "reversal_share": 0.5,
        "model_versions": ["m1"],
    }
    assert en["total"]["agreed"] == 3 and en["total"]["compared"] == 5
    this_week = body["languages"][1]["periods"][-1]
    assert this_week["start"] == str(monday)
    assert (this_week["automatic"], this_week["agreed"], this_week["reversed"]) == (2, 1, 1)
    kmr = body["languages"][2]["periods"][0]
    assert kmr["automatic_share"] is None and kmr["agreement"] is None

    daily = api_get(client, token, "?days=7").json()
    assert daily["period"] == "day" and len(daily["languages"][0]["periods"]) == 7
    assert api_get(client, token, "?days=7&period=week").json()["period"] == "week"
    # By default the last 84 days, in the weeks that hold them.
    default = api_get(client, token).json()
    first = timezone.localdate(now) - timedelta(days=83)
    assert default["period"] == "week"
    assert default["start"] == str(first - timedelta(days=first.weekday()))


def test_api_needs_a_moderator_token_and_valid_parameters(client, reader_user, moderator_user):
    assert client.get("/api/v1/moderation/stats/languages").status_code == 401
    reader = ApiToken.objects.issue(reader_user)[1]
    assert api_get(client, reader).status_code == 403
    token = ApiToken.objects.issue(moderator_user)[1]
    for query, field in (
        ("?days=0", "days"),
        ("?days=367", "days"),
        ("?period=month", "period"),
        ("?language=en", "language"),
    ):
        response = api_get(client, token, query)
        assert response.status_code == 400, query
        assert response.json()["field"] == field
    assert (
        "/api/v1/moderation/stats/languages" in client.get("/api/v1/openapi.json").json()["paths"]
    )
