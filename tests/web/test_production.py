"""Production mode is the default: HSTS, the HTTPS redirect and secure cookies (each
configurable behind a proxy), a strict CSP on every page, `civility check --deploy` clean,
Swagger UI from the package. The demo and the test suite run with it off (plain HTTP)."""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import Client

from civility import cli

CIVILITY = str(Path(sys.executable).with_name("civility"))


def clean_env(tmp_path, **extra) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SECURE_", "CIVILITY_"))}
    env.pop("DEBUG", None)
    env.pop("DATABASE_URL", None)
    env.pop("DJANGO_SETTINGS_MODULE", None)
    return {**env, "CIVILITY_DATA_DIR": str(tmp_path), **extra}


SHOW_SETTINGS = """
import django, os
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "civility.web.settings")
django.setup()
from django.conf import settings as s
print(s.PRODUCTION, s.DEBUG, s.SECURE_SSL_REDIRECT, s.SECURE_HSTS_SECONDS,
      s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.SECURE_PROXY_SSL_HEADER)
"""


def settings_in_a_fresh_process(tmp_path, **env) -> str:
    done = subprocess.run(
        [sys.executable, "-c", SHOW_SETTINGS],
        env=clean_env(tmp_path, **env),
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip()


@pytest.mark.slow
def test_production_is_the_default_and_each_switch_can_be_turned_for_a_proxy(tmp_path):
    assert settings_in_a_fresh_process(tmp_path) == (
        "True False True 31536000 True True ('HTTP_X_FORWARDED_PROTO', 'https')"
    )
    # Behind a proxy that redirects to HTTPS itself and sends no X-Forwarded-Proto:
    assert settings_in_a_fresh_process(
        tmp_path, SECURE_SSL_REDIRECT="0", SECURE_PROXY_SSL_HEADER=""
    ) == ("True False False 31536000 True True None")
    assert settings_in_a_fresh_process(tmp_path, DEBUG="1").startswith("False True False 0 False")


NEWSROOM = "https://news.example.org https://www.news.example.org"


@pytest.mark.slow
def test_check_deploy_runs_djangos_check_and_is_clean(tmp_path):
    key = secrets.token_urlsafe(50)
    done = subprocess.run(
        [CIVILITY, "check", "--deploy", "--fail-level", "WARNING"],
        env=clean_env(tmp_path, SECRET_KEY=key, CIVILITY_EMBED_ANCESTORS=NEWSROOM),
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    assert "System check identified no issues" in done.stdout
    # With the public demo key it fails, naming the problem.
    done = subprocess.run(
        [CIVILITY, "check", "--deploy"], env=clean_env(tmp_path), capture_output=True, text=True
    )
    assert done.returncode != 0
    assert "civility.E001" in done.stderr


def test_the_demo_runs_without_production_mode(monkeypatch):
    seen = {}
    monkeypatch.delenv("CIVILITY_PRODUCTION", raising=False)
    monkeypatch.setattr(
        "django.core.management.execute_from_command_line",
        lambda argv: seen.update(argv=argv, production=os.environ.get("CIVILITY_PRODUCTION")),
    )
    cli.main(["demo", "--no-serve"])
    assert seen == {"argv": ["civility", "demo", "--no-serve"], "production": "0"}
    seen.clear()
    monkeypatch.delenv("CIVILITY_PRODUCTION", raising=False)
    cli.main(["check", "--deploy"])
    assert seen == {"argv": ["civility", "check", "--deploy"], "production": None}


def test_the_engines_verdict_is_civility_assess():
    assert "assess" in cli.ENGINE_COMMANDS
    assert "check" not in cli.ENGINE_COMMANDS


@pytest.fixture
def production(settings):
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_HSTS_SECONDS = 31536000
    settings.SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    settings.SECURE_HSTS_PRELOAD = True
    settings.SESSION_COOKIE_SECURE = settings.CSRF_COOKIE_SECURE = True
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")


@pytest.mark.django_db
def test_production_redirects_http_and_sends_hsts_and_secure_cookies(production, article):
    browser = Client()
    plain = browser.get(f"/articles/{article.slug}/")
    assert plain.status_code == 301
    assert plain["Location"] == f"https://testserver/articles/{article.slug}/"
    proxied = browser.get(f"/articles/{article.slug}/", HTTP_X_FORWARDED_PROTO="https")
    assert proxied.status_code == 200
    assert proxied["Strict-Transport-Security"] == ("max-age=31536000; includeSubDomains; preload")
    assert proxied.cookies["csrftoken"]["secure"] is True


# --- Content-Security-Policy ---------------------------------------------------------------

INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*application/json)[^>]*>", re.I)
INLINE_STYLE = re.compile(r"<style\b|\sstyle\s*=", re.I)
EVENT_HANDLER = re.compile(r"\son[a-z]+\s*=", re.I)


def csp(response) -> dict:
    policy = {}
    for part in response["Content-Security-Policy"].split(";"):
        name, *values = part.split()
        policy[name] = values
    return policy


@pytest.fixture
def pages(article, post, moderator_user):
    comment = post("A fair point.")
    rejected = post("You idiot.")  # its status page has the appeal form
    return {
        "home": "/",
        "article": f"/articles/{article.slug}/",
        "embed": f"/embed/{article.slug}/",
        "status": f"/comments/status/{comment.status_token}/",
        "rejected status": f"/comments/status/{rejected.status_token}/",
        "guidelines": "/guidelines/",
        "login": "/accounts/login/",
        "queue": "/moderation/",
        "dashboard": "/moderation/dashboard/",
        "appeals": "/moderation/appeals/",
        "admin login": "/admin/login/",
        "api docs": "/api/v1/docs",
    }


@pytest.mark.django_db
def test_every_page_has_a_strict_csp_and_nothing_inline_it_would_block(
    pages, moderator_user, client
):
    anonymous = Client()
    client.force_login(moderator_user)
    for name, path in pages.items():
        browser = client if name in ("queue", "dashboard", "appeals") else anonymous
        for _ in range(2):  # the second read of the article page comes from the fast path
            response = browser.get(path)
            assert response.status_code == 200, name
            policy = csp(response)
            assert policy["default-src"] == ["'self'"], name
            assert policy["script-src"] == ["'self'"], name
            assert policy["style-src"] == ["'self'"], name
            assert policy["object-src"] == ["'none'"] and policy["base-uri"] == ["'none'"]
            html = response.content.decode()
            assert not INLINE_SCRIPT.search(html), name
            assert not INLINE_STYLE.search(html), name
            assert not EVENT_HANDLER.search(html), name
        framed = name in ("embed", "status", "rejected status")
        assert policy["frame-ancestors"] == (["*"] if framed else ["'none'"]), name


@pytest.mark.django_db
def test_json_answers_carry_the_policy_too(client, article):
    response = client.get(f"/api/v1/articles/{article.slug}/comments")
    assert csp(response)["default-src"] == ["'self'"]


@pytest.mark.django_db
def test_swagger_ui_comes_from_the_package_not_a_cdn(client):
    html = client.get("/api/v1/docs").content.decode()
    sources = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert sources and all(s.startswith("/static/") for s in sources), sources
    assert "/static/ninja/swagger-ui-bundle.js" in sources
    assert client.get("/static/ninja/swagger-ui-bundle.js").status_code == 200


@pytest.mark.slow
def test_check_deploy_warns_while_any_site_may_frame_the_embed(tmp_path):
    """CIVILITY_EMBED_ANCESTORS defaults to `*`: fine for trying Civility, not for a site."""
    key = secrets.token_urlsafe(50)
    done = subprocess.run(
        [CIVILITY, "check", "--deploy", "--fail-level", "WARNING"],
        env=clean_env(tmp_path, SECRET_KEY=key),
        capture_output=True,
        text=True,
    )
    assert done.returncode != 0
    assert "civility.W001" in done.stderr and "CIVILITY_EMBED_ANCESTORS" in done.stderr
    # Without --fail-level the warning is shown and the check still passes.
    done = subprocess.run(
        [CIVILITY, "check", "--deploy"],
        env=clean_env(tmp_path, SECRET_KEY=key, CIVILITY_EMBED_ANCESTORS="https:"),
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0 and "civility.W001" in done.stderr + done.stdout


@pytest.mark.parametrize(
    "ancestors, production, warned",
    [
        ("*", True, True),
        ("https://news.example.org *", True, True),
        ("https:", True, True),
        ("https://*", True, True),
        (NEWSROOM, True, False),
        ("https://*.news.example.org", True, False),  # the newsroom's own subdomains
        ("*", False, False),  # the demo and development
    ],
)
def test_the_embed_ancestors_check(settings, ancestors, production, warned):
    from civility.web.checks import embed_ancestors

    settings.PRODUCTION = production
    settings.CIVILITY_EMBED_ANCESTORS = ancestors
    found = embed_ancestors(None)
    assert [w.id for w in found] == (["civility.W001"] if warned else [])
