"""Schemathesis against the OpenAPI schema of /api/v1, a bounded number of cases per operation
(in-process, on SQLite and on PostgreSQL): no server errors, answers in the documented status
codes, content types, headers and shapes, and schema-invalid requests refused.

Every check schemathesis runs by default, but one: `positive_data_acceptance` expects every
schema-valid request to succeed, and some rules cannot be written in JSON Schema portably —
text must have a visible letter, digit or emoji and no control characters, a rejection must
cite a reason. Those get a 400 naming the field, which the other checks hold to the schema.
413 counts as refusing schema-invalid input (a value too long to fit a request body)."""

from __future__ import annotations

import pytest
import schemathesis
from django.contrib.auth.models import Permission, User
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from civility.web.api.models import ApiToken
from civility.web.comments import appeals, services
from civility.web.wsgi import application

CASES_PER_OPERATION = 40


# The schema as the site serves it, and the site itself as the app under test (in-process).
CONFIG = schemathesis.Config.from_dict(
    {
        "checks": {
            "negative_data_rejection": {
                "expected-statuses": [400, 401, 403, 404, 405, 406, 409, 413, 415, 422, 429]
            }
        }
    }
)
schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", application, config=CONFIG)
# The token of the current test, set by the `token` fixture. Registered as schemathesis auth
# (not as a header override), so that schemathesis knows every case carries it and does not
# count a request it meant to send without credentials as accepted invalid data.
CURRENT_TOKEN: list[str] = []


@schema.auth(refresh_interval=None)
class BearerToken:
    def get(self, case, context):
        return CURRENT_TOKEN[-1] if CURRENT_TOKEN else "no-token-yet"

    def set(self, case, data, context):
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data}"}


@pytest.fixture
def keep_test_connection():
    """Django's WSGI handler closes old database connections when a request ends, which would
    close the test's transaction on PostgreSQL; Django's test client switches that off too."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def token(article, fake_engine, settings, keep_test_connection):
    """A staff moderator's token (every operation is reachable), an article and comments to
    act on, and posting limits out of the way (429 is documented, but would end the run)."""
    settings.CIVILITY_POST_LIMIT_PER_IP = (100_000, 60)
    settings.CIVILITY_POST_LIMIT_PER_AUTHOR = (100_000, 60)
    settings.CIVILITY_ASSESS_LIMIT_PER_IP = (100_000, 60)
    editor = User.objects.create_user("editor", "e@example.org", "pw-long-enough", is_staff=True)
    editor.groups.add(services.moderators_group())
    # And personal data: the privacy endpoints answer rather than refuse.
    editor.user_permissions.add(Permission.objects.get(codename="handle_personal_data"))
    services.submit_comment(article, "Dana", "dana@example.org", "Dana's point.", ip="10.0.0.7")
    for i in range(3):
        services.submit_comment(article, f"Reader {i}", "", f"hmm point {i}", ip="10.0.0.9")
        # Rejected by the policy and appealed: the appeals endpoints have something to act on.
        rejected = services.submit_comment(article, f"Critic {i}", "", "idiot", ip="10.0.0.8")
        appeals.file_appeal(rejected, f"Appeal {i}")
    issued = ApiToken.objects.issue(User.objects.get(pk=editor.pk))[1]
    CURRENT_TOKEN.append(issued)
    return issued


@schema.parametrize()
@settings(
    max_examples=CASES_PER_OPERATION,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
def test_api_conforms_to_its_schema(case, token):
    case.call_and_validate(excluded_checks=[positive_data_acceptance])
