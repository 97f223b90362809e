"""Management commands: moderator add, demo --no-serve, serve's argument handling."""

from io import StringIO

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command

from civility.web.api.models import ApiToken
from civility.web.articles.demo.content import ARTICLES, COMMENTS
from civility.web.articles.models import Article
from civility.web.comments.models import Comment

pytestmark = pytest.mark.django_db


def run(*args) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_moderator_add_prints_a_working_token_last(client):
    output = run("moderator", "add", "nadia", "--email", "nadia@example.org")
    token = output.split()[-1]
    user = User.objects.get(username="nadia")
    assert user.email == "nadia@example.org"
    assert user.has_perm("comments.moderate_comment")
    assert ApiToken.objects.authenticate(token) == user
    response = client.get("/api/v1/moderation/queue", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 200


def test_moderator_add_for_existing_user_issues_a_new_token():
    first = run("moderator", "add", "nadia").split()[-1]
    second = run("moderator", "add", "nadia").split()[-1]
    assert first != second
    assert User.objects.filter(username="nadia").count() == 1
    assert ApiToken.objects.authenticate(first) == ApiToken.objects.authenticate(second)


def test_demo_loads_articles_and_comments_through_the_service(fake_engine):
    output = run("demo", "--no-serve")
    assert Article.objects.count() == len(ARTICLES)
    assert Comment.objects.count() == len(COMMENTS) == len(fake_engine.calls)
    assert {lang for *_, lang, _ in COMMENTS} >= {"ar", "fa", "tr", "ckb", "kmr"}
    assert Comment.objects.filter(parent__isnull=False).exists()
    # The fake engine rejects insults; those must show up as automatic rejections.
    assert (
        Comment.objects.with_status()
        .filter(current_status="rejected", decided_automatically=True)
        .exists()
    )
    assert "demo-moderator" in output and "password" in output
    token = output.split()[-1]
    assert ApiToken.objects.authenticate(token).username == "demo-moderator"
    # A second run does not post the comments again.
    run("demo", "--no-serve")
    assert Comment.objects.count() == len(COMMENTS)


def test_demo_with_the_engine_down_keeps_everything_pending(monkeypatch):
    from civility.web.comments import services

    def broken():
        raise FileNotFoundError("no models")

    monkeypatch.setattr(services, "engine_moderator", broken)
    run("demo", "--no-serve")
    assert Comment.objects.pending().count() == len(COMMENTS)


def test_serve_help_lists_host_port_workers():
    from civility.web.site.management.commands.serve import Command

    parser = Command().create_parser("civility", "serve")
    options = parser.parse_args(["--host", "0.0.0.0", "--port", "9000", "--workers", "3"])
    assert (options.host, options.port, options.workers) == ("0.0.0.0", 9000, 3)


def test_serve_refuses_the_public_demo_key_off_loopback(settings):
    from django.core.management import CommandError, call_command

    settings.SECRET_KEY = settings.DEMO_SECRET_KEY
    with pytest.raises(CommandError, match="public demo SECRET_KEY"):
        call_command("serve", host="0.0.0.0")  # noqa: S104 - the refusal is the point


def test_moderator_add_staff_gives_a_cms_token_that_creates_articles(client):
    plain = run("moderator", "add", "nadia").split()[-1]
    cms = run("moderator", "add", "cms", "--staff").split()[-1]
    article = {"slug": "from-the-cms", "title": "From the CMS", "body": "Text."}
    for token, expected in ((plain, 403), (cms, 201)):
        response = client.post(
            "/api/v1/articles",
            article,
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {token}",
        )
        assert response.status_code == expected
    assert User.objects.get(username="cms").is_staff
    assert Article.objects.filter(slug="from-the-cms").exists()


def test_worker_and_serve_with_worker_need_a_broker(settings):
    from django.core.management import CommandError

    settings.CELERY_BROKER_URL = ""
    with pytest.raises(CommandError, match="REDIS_URL"):
        run("worker")
    with pytest.raises(CommandError, match="REDIS_URL"):
        run("serve", "--with-worker")


def test_site_commands_live_together_in_the_site_app():
    from django.core.management import get_commands

    commands = get_commands()
    for name in ("serve", "demo", "worker", "reassess", "webhook", "moderator"):
        assert commands[name] == "civility.web.site", name
