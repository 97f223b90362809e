"""Database guarantees for the sanctions trail (as comments/triggers.py does for decisions):
raw SQL, a shell or a bug cannot rewrite or delete a sanction."""

from civility.web.appendonly import Triggers

SANCTIONS = Triggers("commenters_sanction", "sanction", "sanctions")
# The trail of personal-data requests answered (exports and erasures).
PRIVACY_REQUESTS = Triggers("commenters_privacyrequest", "privacy_request", "privacy requests")


def create_statements(vendor: str) -> list[str]:
    return SANCTIONS.create_statements(vendor)


def drop_statements(vendor: str) -> list[str]:
    return SANCTIONS.drop_statements(vendor)
