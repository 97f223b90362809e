"""Hostile input against every endpoint: the classes an attacker's probe found 500s with, replayed
on every field of every door (run on SQLite and, with DATABASE_URL, on PostgreSQL).

Classes: JSON nested thousands deep, lone surrogates, NUL, Unicode digits, over-long values,
out-of-range integers, wrong types, wrong content types, invalid UTF-8, chunked bodies (as a
WSGI server hands them over: no Content-Length) and bodies shorter than their Content-Length,
NUL in URL paths, query strings and cookies.

Expected: no response is 500 or above, and every error on a JSON door is JSON in that door's
shape (never an HTML page)."""

from __future__ import annotations

import copy
import hashlib
import hmac
import io
import json
import time

import jwt
import pytest
from django.contrib.auth.models import Permission, User
from django.db import transaction
from django.test import Client

from civility.web.api.models import ApiToken
from civility.web.commenters.models import Commenter
from civility.web.comments import appeals
from civility.web.comments.models import Comment
from civility.web.perspective import views as perspective_views
from civility.web.perspective.models import ApiKey

pytestmark = pytest.mark.django_db

CORAL_SECRET = "whsec_fuzz"
SSO_SECRET = "a-shared-secret-for-the-fuzz-suite-0123456789"  # noqa: S105 - test only
DEEP = 5000  # Python's json raises RecursionError from about 1,000 levels
HOSTILE = [
    "\ud800",  # lone surrogate (sent as the JSON escape \ud800)
    "a\x00b",
    "\x00",
    "²",
    "¹",
    "٣",  # Arabic-Indic three: isdigit() but not an ASCII id
    "\u200b\u200b",
    "\u202e\u2066",
    "\x01\x02\x1b",
    "",
    " ",
    "x" * 5000,
    "x" * 60_000,
    2**64,
    -(2**63) - 1,
    -1,
    0,
    1.5,
    True,
    None,
    [],
    {},
    ["x"],
    {"a": "b"},
]


def deep_json(levels: int = DEEP) -> str:
    return "[" * levels + "]" * levels


@pytest.fixture
def world(article, fake_engine, moderator_user, monkeypatch, settings):
    """An article with an approved and a pending comment, tokens, a Perspective key, Coral's
    secret, and limits high enough that rate limiting never hides a deeper failure."""
    monkeypatch.setattr(perspective_views, "_moderator", lambda: fake_engine)
    monkeypatch.setenv("CORAL_SIGNING_SECRET", CORAL_SECRET)
    settings.CIVILITY_POST_LIMIT_PER_IP = (100_000, 60)
    settings.CIVILITY_POST_LIMIT_PER_AUTHOR = (100_000, 60)
    settings.CIVILITY_ASSESS_LIMIT_PER_IP = (100_000, 60)
    settings.CIVILITY_LOGIN_LIMIT_PER_IP = (100_000, 60)
    settings.CIVILITY_LOGIN_LIMIT_PER_ACCOUNT = (100_000, 60)
    from civility.web.comments import services

    approved = services.submit_comment(article, "Ann", "", "A fair point.", ip="10.0.0.1")
    pending = services.submit_comment(article, "Bob", "", "hmm maybe", ip="10.0.0.2")
    staff = User.objects.create_user("editor", "e@example.org", "pw-long-enough", is_staff=True)
    settings.CIVILITY_SSO_SECRET = SSO_SECRET
    # Rejected by the policy: one to appeal (the filing door), one appealed (the decision door).
    to_appeal = services.submit_comment(article, "Cem", "", "You idiot.", ip="10.0.0.3")
    appealed = services.submit_comment(article, "Deniz", "", "What an idiot idea.", ip="10.0.0.4")
    appeal = appeals.file_appeal(appealed, "It was about the idea.")
    # A moderator who may handle personal data: the privacy doors.
    officer = User.objects.create_user("dpo", "dpo@example.org", "pw-long-enough")
    officer.groups.add(services.moderators_group())
    officer.user_permissions.add(Permission.objects.get(codename="handle_personal_data"))
    services.submit_comment(article, "Dana", "dana@example.org", "Dana's point.", ip="10.0.0.5")
    return {
        "commenter": Commenter.objects.create(display_name="Dana", email="dana@example.org"),
        "article": article,
        "approved": approved,
        "pending": pending,
        "mod_token": ApiToken.objects.issue(moderator_user)[1],
        "staff_token": ApiToken.objects.issue(staff)[1],
        "key": ApiKey.create("fuzz", qps=100_000)[1],
        "moderator": moderator_user,
        "to_appeal": to_appeal,
        "appeal": appeal,
        "privacy_token": ApiToken.objects.issue(User.objects.get(pk=officer.pk))[1],
    }


def json_doors(world) -> list[tuple[str, dict, dict]]:
    """(path, template body, extra headers) of every JSON POST endpoint."""
    slug, key = world["article"].slug, world["key"]
    mod = {"HTTP_AUTHORIZATION": f"Bearer {world['mod_token']}"}
    staff = {"HTTP_AUTHORIZATION": f"Bearer {world['staff_token']}"}
    privacy = {"HTTP_AUTHORIZATION": f"Bearer {world['privacy_token']}"}
    return [
        (
            "/api/v1/articles",
            {
                "slug": "fuzzed",
                "title": "A title",
                "body": "Body",
                "language": "en",
                "url": "https://news.example/a",
                "comments_open": True,
            },
            staff,
        ),
        (
            f"/api/v1/articles/{slug}/comments",
            {
                "author": "Ann",
                "email": "ann@example.org",
                "text": "A fair point.",
                "parent": world["approved"].pk,
                "lang": "en",
                "notify": True,
            },
            {},
        ),
        (
            f"/api/v1/articles/{slug}/comments",
            {"author": "Ann", "text": "A fair point.", "sso_token": sso_token()},
            {},
        ),
        (
            f"/api/v1/moderation/commenters/{world['commenter'].pk}/sanctions",
            {"action": "suspend", "reason": "Spam under three articles", "days": 3},
            mod,
        ),
        (
            "/api/v1/assess",
            {"text": "A fair point.", "article": {"title": "T", "body": "B"}, "lang": "en"},
            {},
        ),
        (
            "/api/v1/appeals",
            {"status_token": world["to_appeal"].status_token, "text": "Please.", "lang": "en"},
            {},
        ),
        (
            f"/api/v1/moderation/appeals/{world['appeal'].pk}/decision",
            {"outcome": "upheld", "reason": "It insults a reader."},
            mod,
        ),
        *(
            (f"/api/v1/moderation/privacy/{kind}", body, privacy)
            for kind, body in (
                ("export", {"email": "dana@example.org"}),
                ("erase", {"email": "dana@example.org", "withdraw": True}),
                ("withdraw", {"email": "dana@example.org"}),
            )
        ),
        (
            f"/api/v1/moderation/comments/{world['pending'].pk}/decision",
            {"action": "reject", "reasons": ["other"], "note": "a note"},
            mod,
        ),
        (
            f"/v1alpha1/comments:analyze?key={key}",
            {
                "comment": {"text": "A fair point.", "type": "PLAIN_TEXT"},
                "requestedAttributes": {"TOXICITY": {"scoreThreshold": 0.1}},
                "languages": ["en"],
                "clientToken": "token",
                "communityId": "community",
                "context": {"entries": [{"text": "The article."}]},
                "spanAnnotations": True,
                "doNotStore": True,
            },
            {},
        ),
        (
            f"/v1alpha1/comments:suggestscore?key={key}",
            {
                "comment": {"text": "A fair point."},
                "attributeScores": {"TOXICITY": {"summaryScore": {"value": 0.5}}},
                "languages": ["en"],
                "clientToken": "token",
                "communityId": "community",
                "context": {"entries": [{"text": "The article."}]},
            },
            {},
        ),
        (
            "/coral/moderate",
            {
                "comment": {"body": "A fair point."},
                "author": {"role": "COMMENTER"},
                "story": {"url": "https://news.example/a"},
            },
            {},
        ),
    ]


def sso_token() -> str:
    """A valid sign-on token (the first case spends it; the rest are replays)."""
    now = int(time.time())
    claims = {"sub": "fuzz", "name": "Fuzz", "aud": "civility", "iat": now, "exp": now + 60}
    return jwt.encode({**claims, "jti": "fuzz-jti"}, SSO_SECRET, algorithm="HS256")


def leaf_paths(value, prefix=()):
    """Every path into a JSON template, containers included."""
    if isinstance(value, dict):
        for name, child in value.items():
            yield (*prefix, name)
            yield from leaf_paths(child, (*prefix, name))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield (*prefix, index)
            yield from leaf_paths(child, (*prefix, index))


def replaced(template, path, new):
    body = copy.deepcopy(template)
    target = body
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = new
    return body


def signed(path: str, raw: bytes) -> dict:
    if not path.startswith("/coral/"):
        return {}
    digest = hmac.new(CORAL_SECRET.encode(), raw, hashlib.sha256).hexdigest()
    return {"HTTP_X_CORAL_SIGNATURE": f"sha256={digest}"}


class Probe:
    """Sends requests and keeps every answer that breaks the rules."""

    def __init__(self):
        self.client = Client(raise_request_exception=False)
        self.cases = 0
        self.failures: list[str] = []
        self.server_errors = 0

    def summary(self) -> str:
        return f"{self.server_errors} responses >= 500 and {len(self.failures)} failures in {self.cases} cases"

    def send(self, label, method, path, json_door, **kwargs):
        self.cases += 1
        # Each case in its own savepoint: a database error in one (the test runs in one
        # transaction) must not turn every later case into an error too.
        with transaction.atomic():
            response = self.client.generic(method, path, **kwargs)
        status = response.status_code
        if status >= 500:
            self.server_errors += 1
            self.failures.append(f"{status} {label} {method} {path}")
        elif json_door and status >= 400:
            problem = door_shape_problem(path, response)
            if problem:
                self.failures.append(f"{status} {label} {method} {path}: {problem}")
        return response

    def post_json(self, label, path, raw: bytes, headers: dict, content_type="application/json"):
        return self.send(
            label,
            "POST",
            path,
            True,
            data=raw,
            content_type=content_type,
            **headers,
            **signed(path, raw),
        )


def door_shape_problem(path: str, response) -> str | None:
    if "application/json" not in response.get("Content-Type", ""):
        return f"not JSON: {response.get('Content-Type')}"
    payload = json.loads(response.content)
    if path.startswith("/v1alpha1/"):
        ok = isinstance(payload.get("error"), dict) and "message" in payload["error"]
    else:
        ok = isinstance(payload.get("error"), str) and "field" in payload
    return None if ok else f"not in the door's error shape: {payload}"


def test_hostile_json_bodies_never_get_a_500(world):
    probe = Probe()
    for path, template, headers in json_doors(world):
        # Hostile values in every field, nested ones included.
        for where in leaf_paths(template):
            for value in HOSTILE:
                raw = json.dumps(replaced(template, where, value)).encode()
                probe.post_json(f"{'.'.join(map(str, where))}={value!r:.20}", path, raw, headers)
            nested = json.dumps(replaced(template, where, 0)).replace("0", deep_json(), 1)
            probe.post_json(f"{where} nested", path, nested.encode(), headers)
        # Hostile bodies as a whole.
        for raw in (
            deep_json().encode(),
            ('{"a":' * DEEP + "1" + "}" * DEEP).encode(),
            b"\xff\xfe\x00",
            b"",
            b"null",
            b"[]",
            b'"text"',
            b"{",
            json.dumps({"\ud800": 1}).encode(),
        ):
            probe.post_json(f"body {raw[:12]!r}", path, raw, headers)
        good = json.dumps(template).encode()
        for content_type in (
            "text/plain",
            "application/x-www-form-urlencoded",
            "multipart/form-data; boundary=x",
            "application/json; charset=latin-1",
            "",
        ):
            probe.post_json(f"content-type {content_type!r}", path, good, headers, content_type)
    assert probe.failures == [], probe.summary()
    assert probe.cases > 1400


def test_chunked_and_truncated_bodies_never_get_a_500(world):
    probe = Probe()
    for path, template, headers in json_doors(world):
        good = json.dumps(template).encode()
        # A WSGI server hands a chunked body over already decoded, without Content-Length.
        probe.send(
            "chunked",
            "POST",
            path,
            True,
            CONTENT_TYPE="application/json",
            CONTENT_LENGTH="",
            HTTP_TRANSFER_ENCODING="chunked",
            **{"wsgi.input": io.BytesIO(good)},
            **headers,
            **signed(path, good),
        )
        # The client promised more than it sent, then went away.
        for cut in (1, len(good) // 2):
            probe.send(
                f"truncated at {cut}",
                "POST",
                path,
                True,
                CONTENT_TYPE="application/json",
                CONTENT_LENGTH=str(len(good) + 1000),
                **{"wsgi.input": io.BytesIO(good[:cut])},
                **headers,
            )
    assert probe.failures == [], probe.summary()


def test_hostile_urls_queries_forms_and_cookies_never_get_a_500(world, client):
    probe = Probe()
    probe.client.force_login(world["moderator"])
    slug, pending = world["article"].slug, world["pending"]
    token = world["approved"].status_token
    mod = {"HTTP_AUTHORIZATION": f"Bearer {world['mod_token']}"}
    values = [
        "²",
        "¹",
        "٣",
        "%00",
        "a%00b",
        "%ED%A0%80",
        "99999999999999999999999",
        "-1",
        "x" * 3000,
    ]
    for value in values:
        for path in (
            f"/articles/{slug}/?reply_to={value}",
            f"/embed/{slug}/?reply_to={value}",
            f"/moderation/?q={value}&article={value}&status={value}&page={value}",
            f"/moderation/?category={value}&language={value}&order={value}",
            f"/moderation/dashboard/?days={value}",
            f"/articles/{value}/",
            f"/embed/{value}/",
            f"/comments/status/{value}/",
            f"/api/v1/articles/{value}/comments",
            f"/moderation/comments/{value}/decide/",
            f"/moderation/appeals/?status={value}&page={value}",
            f"/api/v1/moderation/appeals?status={value}&limit={value}",
            f"/api/v1/moderation/stats/appeals?days={value}",
            f"/commenters/unsubscribe/?token={value}&lang={value}",
        ):
            probe.send(f"GET {value!r:.20}", "GET", path, path.startswith("/api/"))
        for query in ("q", "status", "article", "language", "category", "order", "limit"):
            path = f"/api/v1/moderation/queue?{query}={value}"
            probe.send(f"queue {query}", "GET", path, True, **mod)
        form = {
            "author": value,
            "email": value,
            "text": value,
            "parent": value,
            "notify": value,
        }
        probe.send(
            "form",
            "POST",
            f"/articles/{slug}/comments/",
            False,
            data=_urlencoded(form),
            content_type="application/x-www-form-urlencoded",
        )
        decision = {"action": value, "reasons": value, "note": value, "next": value}
        for path in (f"/moderation/comments/{pending.pk}/decide/", "/moderation/bulk/"):
            probe.send(
                "moderation form",
                "POST",
                path,
                False,
                data=_urlencoded({**decision, "comment_ids": value}),
                content_type="application/x-www-form-urlencoded",
                HTTP_ACCEPT="application/json",
            )
        probe.send(
            "unsubscribe form",
            "POST",
            f"/commenters/unsubscribe/?lang={value}",
            False,
            data=_urlencoded({"token": value}),
            content_type="application/x-www-form-urlencoded",
        )
        appeal_path = f"/comments/status/{world['to_appeal'].status_token}/appeal/"
        for path, fields in (
            (f"{appeal_path}?lang={value}&embed={value}", {"text": value}),
            (
                f"/moderation/appeals/{world['appeal'].pk}/decide/",
                {"outcome": value, "reason": value, "next": value},
            ),
        ):
            probe.send(
                "appeal form",
                "POST",
                path,
                False,
                data=_urlencoded(fields),
                content_type="application/x-www-form-urlencoded",
            )
        login = _urlencoded({"username": value, "password": value})
        probe.send(
            "login",
            "POST",
            "/accounts/login/",
            False,
            data=login,
            content_type="application/x-www-form-urlencoded",
        )
    for cookie in ('"abcdefgh\\000"', '"a\\000b"', "x" * 5000):
        anonymous = Client(raise_request_exception=False)
        header = f"sessionid={cookie}; csrftoken={cookie}"
        for path in (f"/articles/{slug}/", f"/comments/status/{token}/", "/moderation/"):
            probe.cases += 1
            if anonymous.get(path, HTTP_COOKIE=header).status_code >= 500:
                probe.server_errors += 1
                probe.failures.append(f"cookie {cookie!r:.20} GET {path}")
    assert probe.failures == [], probe.summary()
    stored = Comment.objects.values_list("author_name", "body")
    assert not any("\x00" in name + body for name, body in stored)


def _urlencoded(fields: dict) -> str:
    # Values are sent as typed, percent-escapes included, the way a hostile client would.
    return "&".join(f"{name}={value}" for name, value in fields.items())
