"""A newsroom moving from Perspective changes one URL: Google's own Python client library
(google-api-python-client) builds its client from Civility's discovery document and then
analyzes, suggests scores and gets Perspective's errors from this server, over HTTP. Also the
X-Goog-Api-Key header, and the access log's redaction of keys."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from googleapiclient import discovery
from googleapiclient.errors import HttpError

from civility.web.perspective.models import ApiKey, FeedbackExample
from civility.web.serving import redact

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_perspective_analyze import engine  # noqa: E402, F401 - the scripted engine fixture

DOCUMENT = "/$discovery/rest?version=v1alpha1"
ANALYZE = "/v1alpha1/comments:analyze"


@pytest.fixture
def server(live_server):
    """pytest-django's live server. On SQLite its threads use the test's in-memory connection,
    which Django's own LiveServerTestCase marks as shared between threads; so here."""
    from django.db import connection

    shared = connection.vendor == "sqlite" and connection.is_in_memory_db()
    if shared:
        connection.inc_thread_sharing()
    yield live_server
    if shared:
        connection.dec_thread_sharing()


def google_client(server_url: str, key: str):
    """What Google's Python quickstart does, with Civility's address in place of Google's."""
    return discovery.build(
        "commentanalyzer",
        "v1alpha1",
        developerKey=key,
        discoveryServiceUrl=f"{server_url}{DOCUMENT}",
        static_discovery=False,
        cache_discovery=False,
    )


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("engine")
def test_googles_client_library_analyzes_suggests_and_gets_errors(server):
    _, key = ApiKey.create("newsroom", qps=50)
    client = google_client(server.url, key)

    analyzed = (
        client.comments()
        .analyze(
            body={
                "comment": {"text": "You are an idiot, damn it."},
                "requestedAttributes": {"TOXICITY": {}, "INSULT": {}, "PROFANITY": {}},
                "languages": ["en"],
                "clientToken": "t-1",
            }
        )
        .execute()
    )
    assert analyzed == {
        "attributeScores": {
            "TOXICITY": {"summaryScore": {"value": 0.91, "type": "PROBABILITY"}},
            "INSULT": {"summaryScore": {"value": 0.91, "type": "PROBABILITY"}},
            "PROFANITY": {"summaryScore": {"value": 0.62, "type": "PROBABILITY"}},
        },
        "languages": ["en"],
        "detectedLanguages": ["en"],
        "clientToken": "t-1",
    }

    suggested = (
        client.comments()
        .suggestscore(
            body={
                "comment": {"text": "A harmless remark."},
                "attributeScores": {"TOXICITY": {"summaryScore": {"value": 0.0}}},
                "clientToken": "t-2",
            }
        )
        .execute()
    )
    assert suggested == {"clientToken": "t-2"}
    example = FeedbackExample.objects.get()
    assert (example.text, example.attribute, example.score) == ("A harmless remark.", "TOXICITY", 0)

    with pytest.raises(HttpError) as bad:
        client.comments().analyze(body={"comment": {"text": "hi"}}).execute()
    assert bad.value.status_code == 400
    assert json.loads(bad.value.content)["error"]["status"] == "INVALID_ARGUMENT"
    assert "requestedAttributes" in bad.value.reason

    stranger = google_client(server.url, "cvl_not-a-key")
    with pytest.raises(HttpError) as refused:
        stranger.comments().analyze(body={"comment": {"text": "hi"}}).execute()
    assert refused.value.status_code == 403
    assert refused.value.reason == "API key not valid. Please pass a valid API key."
    assert json.loads(refused.value.content)["error"]["status"] == "PERMISSION_DENIED"
    client.close()  # its kept-alive connections end while the server still shares the database
    stranger.close()


def test_the_document_names_this_server_as_its_root(client, settings):
    settings.ALLOWED_HOSTS = ["comments.news.example"]
    document = client.get(DOCUMENT, HTTP_HOST="comments.news.example").json()
    assert document["rootUrl"] == document["baseUrl"] == "http://comments.news.example/"
    assert document["servicePath"] == ""
    methods = document["resources"]["comments"]["methods"]
    assert {name: m["path"] for name, m in methods.items()} == {
        "analyze": "v1alpha1/comments:analyze",
        "suggestscore": "v1alpha1/comments:suggestscore",
    }
    for method in methods.values():
        assert method["httpMethod"] == "POST"
        assert method["request"]["$ref"] in document["schemas"]
        assert method["response"]["$ref"] in document["schemas"]


def test_behind_a_tls_proxy_the_root_is_https(client, settings):
    settings.ALLOWED_HOSTS = ["comments.news.example"]
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    document = client.get(
        DOCUMENT, HTTP_HOST="comments.news.example", HTTP_X_FORWARDED_PROTO="https"
    ).json()
    assert document["rootUrl"] == "https://comments.news.example/"


@pytest.mark.parametrize("query", ["", "?version=v1", "?version=v1alpha2"])
def test_other_versions_are_not_found_in_googles_error_shape(client, query):
    response = client.get(f"/$discovery/rest{query}")
    assert response.status_code == 404
    assert response.json()["error"]["status"] == "NOT_FOUND"


# -- X-Goog-Api-Key ---------------------------------------------------------------------------

BODY = json.dumps({"comment": {"text": "damn"}, "requestedAttributes": {"PROFANITY": {}}})


@pytest.mark.django_db
@pytest.mark.usefixtures("engine")
def test_the_key_may_come_in_the_x_goog_api_key_header(client):
    _, key = ApiKey.create("newsroom", qps=50)
    post = lambda path, **headers: client.post(  # noqa: E731
        path, BODY, content_type="application/json", **headers
    )
    answer = post(ANALYZE, HTTP_X_GOOG_API_KEY=key)
    assert answer.status_code == 200
    assert answer.json()["attributeScores"]["PROFANITY"]["summaryScore"]["value"] == 0.62
    assert post(f"{ANALYZE}?key={key}", HTTP_X_GOOG_API_KEY=key).status_code == 200
    wrong = post(ANALYZE, HTTP_X_GOOG_API_KEY="cvl_wrong")
    assert wrong.status_code == 403
    assert wrong.json()["error"]["status"] == "PERMISSION_DENIED"
    _, other = ApiKey.create("other", qps=50)
    both = post(f"{ANALYZE}?key={other}", HTTP_X_GOOG_API_KEY=key)
    assert both.status_code == 400
    assert "Two different API keys" in both.json()["error"]["message"]


# -- the access log ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "line, expected",
    [
        (
            "POST /v1alpha1/comments:analyze?key=cvl_abc&alt=json HTTP/1.1",
            "POST /v1alpha1/comments:analyze?key=[redacted]&alt=json HTTP/1.1",
        ),
        ("alt=json&KEY=cvl_abc", "alt=json&KEY=[redacted]"),
        ("key=cvl_abc", "key=[redacted]"),
        ("/x?monkey=banana&key=", "/x?monkey=banana&key=[redacted]"),  # only the key itself
        ("/next=%2Fa%3Fkey%3Dcvl_abc", "/next=%2Fa%3Fkey%3D[redacted]"),
        ("/x?access_token=t0k&page=2", "/x?access_token=[redacted]&page=2"),
    ],
)
def test_redact(line, expected):
    assert redact(line) == expected
