"""Webhooks: registration (admin, `civility webhook`), the events, signing and replay
protection, the SSRF guard (after DNS resolution, and again at delivery), timeouts, retries
with exponential backoff and the delivery log. Delivery after a receiver comes back, through
real Celery workers, is in test_workers_live.py."""

from __future__ import annotations

import hashlib
import hmac
import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from io import StringIO

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command

from civility.web.comments import services
from civility.web.webhooks import delivery, events
from civility.web.webhooks.delivery import UnsafeURL, check_url, sign, verify
from civility.web.webhooks.models import Delivery, Webhook

pytestmark = pytest.mark.django_db

HOSTILE = 'Quote " backslash \\ </script><b>x</b>\r\nX-Injected: yes\n\u202eevil \U0001f600'


@pytest.fixture(autouse=True)
def _fresh_subscribers():
    events.forget_subscribers()
    yield
    events.forget_subscribers()


@pytest.fixture
def loopback_allowed(settings):
    settings.CIVILITY_WEBHOOK_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    settings.CIVILITY_WEBHOOK_TIMEOUT = 1.0
    settings.CIVILITY_WEBHOOK_RETRY_BASE = 2


class Receiver:
    """An HTTP receiver on 127.0.0.1 answering with the statuses given, in turn."""

    def __init__(self, statuses=(204,)):
        self.statuses = list(statuses)
        self.requests: list[tuple[dict, bytes]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                outer.requests.append((dict(self.headers), body))
                status = outer.statuses.pop(0) if len(outer.statuses) > 1 else outer.statuses[0]
                self.send_response(status)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    made = []

    def make(statuses=(204,)):
        made.append(Receiver(statuses))
        return made[-1]

    yield make
    for r in made:
        r.close()


def pending_delivery(hook, event="comment.approved", payload='{"event": "x"}'):
    return Delivery.objects.create(webhook=hook, event=event, comment_id=1, payload=payload)


# -- signing ----------------------------------------------------------------------------------


ID = "5b0f6c1e-8a3e-4a57-9d0c-2f1f4e0c9a11"


def test_the_signature_covers_the_timestamp_the_delivery_id_and_the_body():
    body = b'{"event": "comment.approved"}'
    now = int(time.time())
    signature = sign("s3cret", now, ID, body)
    assert signature.startswith("sha256=") and len(signature) == 7 + 64
    # The documented construction, as a receiver in any language writes it.
    expected = hmac.new(b"s3cret", f"{now}.{ID}.".encode() + body, hashlib.sha256).hexdigest()
    assert signature == f"sha256={expected}"
    assert verify("s3cret", body, str(now), ID, signature)
    assert not verify("other", body, str(now), ID, signature)
    assert not verify("s3cret", body + b" ", str(now), ID, signature)
    assert not verify("s3cret", body, str(now + 1), ID, signature)  # the timestamp is signed


def test_a_captured_delivery_replayed_under_a_new_id_is_refused():
    """The receiver dedupes on X-Civility-Delivery; an attacker who captured one delivery
    cannot get it processed again by changing the id, since the id is signed."""
    body = b'{"event": "comment.approved", "comment": {"id": 7}}'
    now = int(time.time())
    captured = sign("s3cret", now, ID, body)
    fresh_id = "0d1e2f3a-0000-4000-8000-000000000000"
    assert not verify("s3cret", body, str(now), fresh_id, captured)
    # Nor by moving the boundary between the id and the body.
    assert not verify("s3cret", ID[-4:].encode() + b"." + body, str(now), ID[:-5], captured)
    assert not verify("s3cret", body, str(now), "", captured)


def test_an_old_timestamp_is_refused_as_a_replay():
    body = b"{}"
    old = int(time.time()) - 3600
    assert not verify("s3cret", body, str(old), ID, sign("s3cret", old, ID, body))
    assert verify("s3cret", body, str(old), ID, sign("s3cret", old, ID, body), now=old + 10)
    assert not verify("s3cret", body, "not-a-number", ID, "sha256=00")


# -- SSRF -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/hook",
        "http://localhost:8000/hook",  # resolves to loopback
        "http://10.0.0.5/hook",
        "http://192.168.1.1/hook",
        "http://172.16.0.1/hook",
        "http://169.254.169.254/latest/meta-data/",  # cloud metadata
        "http://100.64.0.1/hook",  # shared address space
        "http://0.0.0.0/hook",
        "http://[::1]/hook",
        "http://[::ffff:127.0.0.1]/hook",  # loopback dressed as IPv6
        "http://[fe80::1]/hook",
        "http://[fd00::1]/hook",
        "http://224.0.0.1/hook",
        "http://2130706433/hook",  # 127.0.0.1 as one number
        "http://0x7f.1/hook",
        # IPv6 forms that carry a private IPv4 address to where the packet lands:
        "http://[64:ff9b::7f00:1]/hook",  # NAT64 (RFC 6052) of 127.0.0.1
        "http://[64:ff9b::a9fe:a9fe]/latest/meta-data/",  # NAT64 of 169.254.169.254
        "http://[64:ff9b:1::a00:5]/hook",  # local-use NAT64 (RFC 8215) of 10.0.0.5
        "http://[::ffff:0:7f00:1]/hook",  # SIIT IPv4-translated 127.0.0.1
        "http://[::ffff:0:c0a8:101]/hook",  # SIIT of 192.168.1.1
        "http://[2002:7f00:1::]/hook",  # 6to4 of 127.0.0.1
        "http://[2002:a00:5::1]/hook",  # 6to4 of 10.0.0.5
        "http://[::7f00:1]/hook",  # IPv4-compatible ::127.0.0.1
        "http://[::a00:5]/hook",  # IPv4-compatible ::10.0.0.5
        "http://[::ffff:a9fe:a9fe]/hook",  # IPv4-mapped metadata address
        "http://[100::1]/hook",  # discard-only prefix (reserved)
    ],
)
def test_private_loopback_and_link_local_addresses_are_refused(url):
    with pytest.raises(UnsafeURL):
        check_url(url)


@pytest.mark.parametrize(
    "url",
    [
        "ftp://93.184.215.14/hook",
        "file:///etc/passwd",
        "gopher://93.184.215.14/",
        "http://user:pw@93.184.215.14/hook",
        "http:///hook",
        "http://93.184.215.14/ho ok",
        "https://93.184.215.14:99999/",
    ],
)
def test_other_schemes_credentials_and_malformed_urls_are_refused(url):
    with pytest.raises(UnsafeURL):
        check_url(url)


@pytest.mark.parametrize(
    "address",
    ["64:ff9b::5db8:d70e", "2002:5db8:d70e::1", "::ffff:93.184.215.14", "2606:2800:21f:cb07::1"],
)
def test_ipv6_forms_of_a_public_address_pass(address):
    """NAT64 (DNS64 on an IPv6-only host) and 6to4 of a public IPv4 address still deliver."""
    assert check_url(f"http://[{address}]/hook").addresses == (address,)


def test_allowed_networks_apply_to_the_embedded_address_too(settings):
    settings.CIVILITY_WEBHOOK_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    assert check_url("http://[64:ff9b::7f00:1]/hook").addresses == ("64:ff9b::7f00:1",)
    with pytest.raises(UnsafeURL):
        check_url("http://[64:ff9b::a00:1]/hook")


def test_a_public_address_passes_and_is_the_one_connected_to():
    target = check_url("https://93.184.215.14:8443/hooks?x=1")
    assert target.addresses == ("93.184.215.14",)
    assert (target.scheme, target.port, target.path) == ("https", 8443, "/hooks?x=1")


def test_a_host_whose_dns_answers_private_is_refused(monkeypatch):
    def resolve(host, port, *args, **kwargs):
        assert host == "hooks.newsroom.example"
        return [
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.215.14", port)),
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.1.2.3", port)),
        ]

    monkeypatch.setattr(socket, "getaddrinfo", resolve)
    with pytest.raises(UnsafeURL, match="10.1.2.3"):
        check_url("https://hooks.newsroom.example/civility")


def test_allowed_networks_let_the_tests_deliver_to_loopback(settings):
    settings.CIVILITY_WEBHOOK_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    assert check_url("http://127.0.0.1:9/hook").addresses == ("127.0.0.1",)
    with pytest.raises(UnsafeURL):
        check_url("http://10.0.0.1/hook")  # only what is listed


def test_dns_rebinding_after_registration_is_caught_at_delivery(monkeypatch, receiver):
    """The host was public when registered; at delivery it resolves to loopback, where a
    receiver listens. Nothing may be sent there."""
    listener = receiver()
    hook = Webhook.objects.create(
        url="http://hooks.newsroom.example/x", events=["comment.approved"]
    )
    port = listener.server.server_port
    monkeypatch.setattr(
        socket,
        "getaddrinfo",
        lambda host, p, *a, **k: [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", port))],
    )
    item = pending_delivery(hook)
    assert delivery.attempt(item.pk) is not None  # failed, to be retried
    item.refresh_from_db()
    assert item.last_error.startswith("refused:") and listener.requests == []


def test_the_admin_form_and_the_command_refuse_private_urls(admin_client):
    response = admin_client.post(
        "/admin/webhooks/webhook/add/",
        {
            "url": "http://127.0.0.1:8000/x",
            "events": ["comment.approved"],
            "active": "on",
            "secret": "s" * 40,
        },
    )
    assert response.status_code == 200 and "loopback" in response.content.decode()
    assert not Webhook.objects.exists()
    with pytest.raises(CommandError, match="refused"):
        call_command("webhook", "add", "http://169.254.169.254/", "--events", "all")


# -- registration -----------------------------------------------------------------------------


def test_webhook_add_list_remove(loopback_allowed):
    out = StringIO()
    call_command(
        "webhook",
        "add",
        "http://127.0.0.1:9/h",
        "--events",
        "comment.approved,comment.rejected",
        stdout=out,
    )
    hook = Webhook.objects.get()
    assert hook.events == ["comment.approved", "comment.rejected"]
    assert out.getvalue().split()[-1] == hook.secret and len(hook.secret) >= 40
    listing = StringIO()
    call_command("webhook", "list", stdout=listing)
    assert "http://127.0.0.1:9/h" in listing.getvalue()
    with pytest.raises(CommandError, match="unknown event"):
        call_command("webhook", "add", "http://127.0.0.1:9/h", "--events", "comment.deleted")
    call_command("webhook", "remove", str(hook.pk), stdout=StringIO())
    assert not Webhook.objects.exists()


def test_the_admin_registers_a_webhook_and_shows_the_delivery_log(admin_client, loopback_allowed):
    response = admin_client.post(
        "/admin/webhooks/webhook/add/",
        {
            "url": "http://127.0.0.1:9/x",
            "events": ["comment.created", "comment.needs_review"],
            "active": "on",
            "secret": "s" * 40,
        },
    )
    assert response.status_code == 302
    hook = Webhook.objects.get()
    assert hook.events == ["comment.created", "comment.needs_review"]
    item = pending_delivery(hook, payload=json.dumps({"text": "<script>alert(1)</script>"}))
    page = admin_client.get(f"/admin/webhooks/delivery/{item.pk}/change/").content.decode()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "<script>alert(1)" not in page
    assert admin_client.get("/admin/webhooks/delivery/").status_code == 200


# -- events -----------------------------------------------------------------------------------


def captured_events(
    article, fake_engine, text, hooks_events, django_capture_on_commit_callbacks, monkeypatch
):
    sent = []
    monkeypatch.setattr(delivery, "dispatch", lambda ids: sent.extend(ids))
    for event_list in hooks_events:
        Webhook.objects.create(url="http://127.0.0.1:9/x", events=event_list)
    with django_capture_on_commit_callbacks(execute=True):
        comment = services.submit_comment(article, "Ann", "", text, ip="10.0.0.1")
    return comment, sent


def test_a_post_sends_created_and_its_automatic_decision(
    article, fake_engine, django_capture_on_commit_callbacks, monkeypatch
):
    comment, sent = captured_events(
        article,
        fake_engine,
        HOSTILE + " idiot",
        [["comment.created", "comment.rejected"], ["comment.approved"]],
        django_capture_on_commit_callbacks,
        monkeypatch,
    )
    items = Delivery.objects.filter(pk__in=sent).order_by("pk")
    assert [d.event for d in items] == ["comment.created", "comment.rejected"]
    body = json.loads(items[1].payload)
    assert body["comment"]["text"] == comment.body  # hostile text intact, only inside JSON
    assert body["comment"]["status"] == "rejected"
    assert body["decision"] == {
        "action": "reject",
        "reasons": ["personal_attack"],
        "automatic": True,
        "by": "policy-test",
        "created": body["decision"]["created"],
    }
    assert "author_email" not in items[1].payload and "ip_hash" not in items[1].payload


def test_needs_review_when_the_policy_leaves_it_to_a_human(
    article, fake_engine, django_capture_on_commit_callbacks, monkeypatch
):
    _, sent = captured_events(
        article,
        fake_engine,
        "hmm",
        [["comment.needs_review", "comment.approved"]],
        django_capture_on_commit_callbacks,
        monkeypatch,
    )
    assert list(Delivery.objects.filter(pk__in=sent).values_list("event", flat=True)) == [
        "comment.needs_review"
    ]


def test_a_moderators_decision_is_an_event_too(
    article, fake_engine, moderator_user, django_capture_on_commit_callbacks, monkeypatch
):
    comment, sent = captured_events(
        article,
        fake_engine,
        "hmm",
        [["comment.approved"]],
        django_capture_on_commit_callbacks,
        monkeypatch,
    )
    assert sent == []
    with django_capture_on_commit_callbacks(execute=True):
        services.record_decision(comment, "approve", actor=moderator_user)
    item = Delivery.objects.get(pk__in=sent)
    assert json.loads(item.payload)["decision"]["by"] == "moderator"


def test_no_webhooks_no_deliveries_and_no_query_per_post(
    article, fake_engine, django_assert_max_num_queries, monkeypatch
):
    # Loaded once per process for a few seconds; held for the whole test here, so a loaded
    # machine that stalls between the two lines cannot turn the reload into a query per post.
    monkeypatch.setattr(events, "SUBSCRIBERS_TTL", 3600.0)
    events.subscribers("comment.created")
    # Two rate-limit buckets, the comment, its assessment and decision in one savepoint: the
    # statements a post made before webhooks existed, none more.
    with django_assert_max_num_queries(7):
        services.submit_comment(article, "Ann", "", "fine words", ip="10.0.0.1")
    assert not Delivery.objects.exists()


# -- attempts ---------------------------------------------------------------------------------


def test_a_delivery_is_posted_signed_with_its_headers(receiver, loopback_allowed):
    listener = receiver()
    hook = Webhook.objects.create(url=listener.url, events=["comment.approved"])
    payload = json.dumps({"event": "comment.approved", "comment": {"text": HOSTILE}})
    item = pending_delivery(hook, payload=payload)
    assert delivery.attempt(item.pk) is None
    item.refresh_from_db()
    assert (item.status, item.attempts, item.last_response) == ("delivered", 1, 204)
    headers, body = listener.requests[0]
    assert body == payload.encode()
    assert headers["Content-Type"] == "application/json"
    assert headers["X-Civility-Event"] == "comment.approved"
    assert headers["X-Civility-Delivery"] == str(item.delivery_id)
    assert verify(
        hook.secret,
        body,
        headers["X-Civility-Timestamp"],
        headers["X-Civility-Delivery"],
        headers["X-Civility-Signature"],
    )
    assert "X-Injected" not in headers  # the reader's text never reaches a header


def test_failures_are_retried_with_exponential_backoff_then_given_up(
    receiver, loopback_allowed, settings
):
    settings.CIVILITY_WEBHOOK_MAX_ATTEMPTS = 4
    listener = receiver(statuses=(500,))
    hook = Webhook.objects.create(url=listener.url, events=["comment.approved"])
    item = pending_delivery(hook)
    delays = []
    for _ in range(4):
        Delivery.objects.filter(pk=item.pk).update(next_attempt=item.created)  # due now
        delays.append(delivery.attempt(item.pk))
    assert delays == [2, 4, 8, None]  # base 2 s, doubling; the fourth attempt is the last
    item.refresh_from_db()
    assert (item.status, item.attempts, item.last_response) == ("failed", 4, 500)
    assert [entry["status"] for entry in item.log] == [500] * 4
    assert len(listener.requests) == 4


def test_an_attempt_before_it_is_due_does_nothing(receiver, loopback_allowed):
    listener = receiver(statuses=(500,))
    hook = Webhook.objects.create(url=listener.url, events=["comment.approved"])
    item = pending_delivery(hook)
    assert delivery.attempt(item.pk) == 2
    assert delivery.attempt(item.pk) is None  # a duplicate message: not due yet
    assert len(listener.requests) == 1


def attempt_against(server: socket.socket) -> tuple[float | None, float, Delivery]:
    """One attempt at a receiver listening on `server`: (retry delay, seconds, delivery)."""
    hook = Webhook.objects.create(
        url=f"http://127.0.0.1:{server.getsockname()[1]}/x", events=["comment.approved"]
    )
    item = pending_delivery(hook)
    started = time.monotonic()
    delay = delivery.attempt(item.pk)
    elapsed = time.monotonic() - started
    item.refresh_from_db()
    return delay, elapsed, item


def listening() -> socket.socket:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(5)
    return server


def test_a_receiver_that_never_answers_is_cut_off_at_the_timeout(loopback_allowed):
    silent = listening()  # accepts connections, never reads or answers
    try:
        delay, elapsed, item = attempt_against(silent)
        assert delay == 2 and elapsed < 2.5
        assert "timed out" in item.last_error.lower() or "Timeout" in item.last_error
    finally:
        silent.close()


def test_a_receiver_that_trickles_its_answer_is_cut_off_too(loopback_allowed):
    server = listening()
    stop = threading.Event()

    def trickle():
        connection, _ = server.accept()
        connection.recv(65536)
        for byte in b"HTTP/1.1 200 OK\r\nX-Slow: " + b"a" * 100:
            if stop.is_set():
                break
            connection.send(bytes([byte]))
            time.sleep(0.3)  # each byte well within the per-read timeout
        connection.close()

    threading.Thread(target=trickle, daemon=True).start()
    try:
        delay, elapsed, _ = attempt_against(server)
        assert delay == 2 and elapsed < 2.5
    finally:
        stop.set()
        server.close()


def test_a_deactivated_webhook_gives_its_pending_deliveries_up(receiver, loopback_allowed):
    listener = receiver()
    hook = Webhook.objects.create(url=listener.url, events=["comment.approved"], active=False)
    item = pending_delivery(hook)
    assert delivery.attempt(item.pk) is None
    item.refresh_from_db()
    assert item.status == "failed" and listener.requests == []


def test_the_sweeper_resends_deliveries_whose_message_was_lost(
    loopback_allowed, settings, monkeypatch, django_capture_on_commit_callbacks
):
    settings.CIVILITY_SWEEP_AFTER = 60
    hook = Webhook.objects.create(url="http://127.0.0.1:9/x", events=["comment.approved"])
    fresh = pending_delivery(hook)
    lost = pending_delivery(hook)
    Delivery.objects.filter(pk=lost.pk).update(next_attempt=lost.created.replace(year=2020))
    sent = []
    monkeypatch.setattr(delivery, "dispatch", lambda ids: sent.extend(ids))
    with django_capture_on_commit_callbacks(execute=True):
        assert delivery.sweep() == 1
    assert sent == [lost.pk] and fresh.pk not in sent


# -- without a broker: a fixed pool of threads -------------------------------------------------


@pytest.fixture
def pool(settings):
    """The in-process pool, stopped after the test (the next test starts a fresh one)."""
    settings.CELERY_BROKER_URL = ""
    delivery._pool.stop()
    yield delivery._pool
    delivery._pool.stop()


def until(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while not (value := predicate()):
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout:g} s: {what}")
        time.sleep(0.05)
    return value


@pytest.mark.django_db(transaction=True)
def test_without_a_broker_deliveries_go_out_from_the_pool(receiver, loopback_allowed, pool):
    listener = receiver()
    hook = Webhook.objects.create(url=listener.url, events=["comment.approved"])
    item = pending_delivery(hook)
    delivery.dispatch([item.pk])
    until(lambda: listener.requests, 5, "the delivery is posted")
    assert len(listener.requests) == 1


@pytest.mark.django_db(transaction=True)
def test_the_pool_takes_up_deliveries_an_earlier_process_left_pending(
    receiver, loopback_allowed, pool, settings
):
    """A process that stopped with deliveries on its schedule left them pending; the next
    pool to start sends those that are overdue, then every CIVILITY_SWEEP_AFTER / 2 s."""
    settings.CIVILITY_SWEEP_AFTER = 60
    # One thread: SQLite's in-memory test database locks per table and does not wait, so two
    # threads marking their deliveries at the same instant fail one of them (seen under load).
    settings.CIVILITY_WEBHOOK_THREADS = 1
    listener = receiver()
    hook = Webhook.objects.create(url=listener.url, events=["comment.approved"])
    left = pending_delivery(hook, payload='{"left": true}')
    Delivery.objects.filter(pk=left.pk).update(next_attempt=left.created.replace(year=2020))
    fresh = pending_delivery(hook, payload='{"fresh": true}')
    delivery.dispatch([fresh.pk])
    until(lambda: len(listener.requests) == 2, 10, "both deliveries are posted")
    pool.stop()  # its threads are done writing (SQLite's test database locks per table)
    assert sorted(body for _, body in listener.requests) == [b'{"fresh": true}', b'{"left": true}']
    assert set(Delivery.objects.values_list("status", flat=True)) == {"delivered"}


def test_the_model_refuses_unknown_events():
    hook = Webhook(url="https://93.184.215.14/x", events=["comment.deleted"])
    with pytest.raises(ValidationError):
        hook.full_clean()
