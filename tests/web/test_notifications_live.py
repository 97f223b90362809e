"""Notification mails sent by a real worker: `civility serve` and `civility worker` on this
run's Redis, a comment posted through the API with `notify`, approved by the policy in the
worker, and the mail server down when the worker first tries. The worker logs the failure and
retries; once a real SMTP server (aiosmtpd) listens, the mail arrives there, in the page's
language. Nothing is sent from the web process (it has no mail server settings that work).

The database is the one the suite runs on: PostgreSQL under `make test-postgres`, otherwise a
SQLite file."""

from __future__ import annotations

import json
import os
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller

from .conftest import fresh_redis
from .test_webhooks import until

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "tests" / "browser"))
from test_commenters_flow import Inbox  # noqa: E402 - the SMTP server's handler

from load import free_port  # noqa: E402
from scale_out import ARTICLES, Cluster  # noqa: E402

pytestmark = pytest.mark.slow
ADDRESS = "ayse.reader@example.org"


def test_the_worker_retries_while_the_mail_server_is_down_then_the_mail_arrives(redis_url):
    fresh_redis(redis_url)
    smtp_port = free_port()
    database = os.environ.get("DATABASE_URL", "")
    cluster = Cluster(
        database if database.startswith("postgres") else "sqlite",
        redis_url,
        servers=1,
        workers=1,
        scripted_engine_ms=0,
        extra_env={
            "EMAIL_URL": f"smtp://127.0.0.1:{smtp_port}?tls=0&timeout=2",
            "CIVILITY_MAIL_RETRY_BASE": "1",
            "LOG_LEVEL": "WARNING",
        },
    )
    controller = None
    try:
        cluster.start()
        port = cluster.servers[0][0]
        body = {
            "author": "Ayşe",
            "email": ADDRESS,
            "text": "A fair point about the talks.",  # the scripted engine approves it
            "lang": "tr",
            "notify": True,
        }
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/api/v1/articles/{ARTICLES[0]}/comments",
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.status == 201
            comment_id = json.load(response)["id"]

        # Nothing listens on the mail server's port yet: the worker's attempt fails, is logged
        # and retried (1 s, 2 s, …).
        until(
            lambda: "not sent (ConnectionRefusedError" in cluster.worker_log(0),
            30,
            "the worker logs the refused mail",
        )
        inbox = Inbox()
        controller = Controller(inbox, hostname="127.0.0.1", port=smtp_port)
        controller.start()
        recipients, message = inbox.wait_for(1, seconds=30)
        assert recipients == [ADDRESS]
        assert message["Subject"] == "Yorumunuz yayımlandı"
        text = message.get_body(("plain",)).get_content()
        assert f"/articles/{ARTICLES[0]}/?lang=tr#comment-{comment_id}" in text
        assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        time.sleep(1)
        assert len(inbox.messages) == 1  # sent once
        assert "Traceback" not in cluster.worker_log(0)
    finally:
        if controller is not None:
            controller.stop()
        cluster.stop()
