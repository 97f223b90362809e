"""Dashboard figures and charts, computed from comments and decisions with known times."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from civility.web.comments.models import Comment, Decision
from civility.web.moderation import charts
from civility.web.moderation.stats import dashboard_stats


def make_comment(article, posted, text="text"):
    return Comment.objects.create(article=article, author_name="A", body=text, created=posted)


def decide(comment, after, action="approve", reasons=(), actor=None):
    return Decision.objects.create(
        comment=comment,
        action=action,
        reasons=list(reasons),
        actor=actor,
        actor_policy_version="" if actor else "policy-test",
        created=comment.created + after,
    )


@pytest.mark.django_db
def test_figures_over_the_window(article, moderator_user):
    now = timezone.now().replace(hour=12, minute=0, second=0, microsecond=0)
    today, yesterday = now, now - timedelta(days=1)
    auto = make_comment(article, today)
    decide(auto, timedelta(seconds=1))
    by_hand = make_comment(article, yesterday)
    decide(by_hand, timedelta(minutes=30), "reject", ["threat", "abuse"], moderator_user)
    reversed_later = make_comment(article, yesterday)
    decide(reversed_later, timedelta(minutes=10), "reject", ["threat"])
    decide(reversed_later, timedelta(hours=5), "approve", actor=moderator_user)
    make_comment(article, today)  # still pending
    make_comment(article, now - timedelta(days=30))  # outside a 7-day window

    stats = dashboard_stats(7, now=now)
    per_day = dict(stats.comments_per_day)
    assert len(stats.comments_per_day) == 7
    assert per_day[today.date()] == 2
    assert per_day[yesterday.date()] == 2
    assert sum(per_day.values()) == 4
    assert stats.pending == 1
    assert stats.decided == 3
    assert stats.decided_automatically == 2  # first decisions by the policy, even if reversed
    assert stats.automatic_share == pytest.approx(2 / 3)
    assert stats.median_to_decision == timedelta(minutes=10)
    assert stats.median_to_human_decision == timedelta(minutes=30)
    reasons = dict(stats.rejections_by_reason)
    assert reasons["threat"] == 2 and reasons["abuse"] == 1 and reasons["profanity"] == 0
    assert (stats.approvals, stats.rejections) == (2, 2)


@pytest.mark.django_db
def test_empty_window_has_no_medians():
    stats = dashboard_stats(14)
    assert stats.decided == 0 and stats.automatic_share == 0.0
    assert stats.median_to_decision is None
    assert [n for _, n in stats.comments_per_day] == [0] * 14


@pytest.mark.django_db
def test_dashboard_page_draws_svg_charts(client, moderator_user, article):
    client.force_login(moderator_user)
    decide(make_comment(article, timezone.now() - timedelta(hours=1)), timedelta(minutes=2))
    html = client.get("/moderation/dashboard/", {"days": "30"}).content.decode()
    assert html.count('<svg class="chart" role') == 3
    assert html.count('<svg class="chart spark"') == 3  # one language: three sparklines
    assert 'id="fig-auto">100%<' in html
    assert 'id="fig-median">2 min<' in html
    assert '<option value="30" selected>' in html
    assert client.get("/moderation/dashboard/", {"days": "9999"}).status_code == 200


def test_charts_escape_labels_and_scale_bars():
    svg = str(charts.bar_chart([("<b>x</b>", 2), ("y", 4)], title="T & <t>"))
    assert "<b>" not in svg and "&lt;b&gt;x&lt;/b&gt;" in svg
    assert "<title>T &amp; &lt;t&gt;</title>" in svg
    widths = [float(w) for w in re.findall(r'class="bar" x="190" y="[\d.]+" width="([\d.]+)"', svg)]
    assert widths[1] == pytest.approx(2 * widths[0])
    columns = str(charts.column_chart([("Mon", 0), ("Tue", 3)], title="c"))
    assert columns.count('class="bar"') == 2
    assert "No data yet" in str(charts.column_chart([], title="c"))
    assert 'width="320.0"' in str(charts.share_bar(0.5, title="s"))
