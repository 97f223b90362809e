"""Django settings. Everything a deployment changes comes from environment variables;
the defaults are safe for the embedded SQLite demo on 127.0.0.1."""

import os
from pathlib import Path

import dj_database_url
from django.conf.locale import LANG_INFO

from civility.web.i18n import register_languages

BASE_DIR = Path(__file__).resolve().parent
DATA_DIR = Path(os.environ.get("CIVILITY_DATA_DIR", Path.cwd() / "var"))

DEBUG = os.environ.get("DEBUG", "0") == "1"


def _flag(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    return (
        default if value is None or value == "" else value.strip().lower() in ("1", "true", "yes")
    )


# Production mode, the default: HSTS, HTTPS redirect and secure cookies (below). Off only with
# DEBUG=1, CIVILITY_PRODUCTION=0, or under `civility demo` (plain HTTP on 127.0.0.1).
PRODUCTION = _flag("CIVILITY_PRODUCTION", not DEBUG)
if PRODUCTION:
    DEBUG = False
DEMO_SECRET_KEY = "civility-demo-only-insecure-secret-key-change-me"  # noqa: S105 - demo default
SECRET_KEY = os.environ.get("SECRET_KEY", DEMO_SECRET_KEY)
ALLOWED_HOSTS = [
    h.strip()
    for h in os.environ.get("ALLOWED_HOSTS", "127.0.0.1,localhost,testserver").split(",")
    if h.strip()
]
CSRF_TRUSTED_ORIGINS = [
    o.strip() for o in os.environ.get("CSRF_TRUSTED_ORIGINS", "").split(",") if o.strip()
]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "civility.web.articles",
    "civility.web.comments",
    "civility.web.commenters",  # verified commenters, their sanctions (issue 16)
    "civility.web.moderation",
    "civility.web.api",
    "civility.web.perspective",
    "civility.web.ratelimit",
    "civility.web.webhooks",
    "civility.web.learning",  # learning from decisions: learn, model versions, shadow
    "civility.web.site",  # site-level commands: serve, demo, worker, reassess, webhook, moderator
    "ninja",  # Swagger UI for /api/v1/docs from the package's own static files, not a CDN
]

MIDDLEWARE = [
    # First: NUL in URLs/cookies refused, and every error on a JSON door in its JSON shape.
    "civility.web.errors.JsonErrorsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "civility.web.middleware.BodySizeLimitMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    # Above the read fast path so its responses get the header too (it only touches responses).
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "civility.web.middleware.ContentSecurityPolicyMiddleware",
    "civility.web.middleware.CachedPublicReadsMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # A signed-in moderator's own language (their preferences), over the browser's.
    "civility.web.moderation.middleware.ModeratorLanguageMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]

ROOT_URLCONF = "civility.web.urls"
CSRF_FAILURE_VIEW = "civility.web.errors.csrf_failure"
WSGI_APPLICATION = "civility.web.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

if not os.environ.get("DATABASE_URL"):
    DATA_DIR.mkdir(parents=True, exist_ok=True)  # the demo's SQLite file lives here
DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", f"sqlite:///{DATA_DIR / 'civility.sqlite3'}"),
        conn_max_age=int(os.environ.get("CONN_MAX_AGE", "60")),
    )
}
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # WAL lets readers run while a comment is written; the timeout rides out short write locks.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"timeout": 20, "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"}
    )

REDIS_URL = os.environ.get("REDIS_URL", "")
# Degraded mode (docs/workers.md, "When Redis fails"): every call to Redis connects and reads
# within this many seconds, without retries; after a failure a process leaves Redis alone for
# CIVILITY_REDIS_RETRY_AFTER seconds (rate limits in the database, pages from the database,
# comments waiting for the sweeper), then tries again.
CIVILITY_REDIS_TIMEOUT = float(os.environ.get("CIVILITY_REDIS_TIMEOUT", "0.5"))
CIVILITY_REDIS_RETRY_AFTER = float(os.environ.get("CIVILITY_REDIS_RETRY_AFTER", "5"))
CACHES = {
    "default": (
        {"BACKEND": "civility.web.degraded.FallbackRedisCache", "LOCATION": REDIS_URL}
        if REDIS_URL
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "civility"}
    )
}

# Assessment off the request path (docs/workers.md). With a broker (REDIS_URL), a post stores
# the comment and Celery workers (`civility worker`) assess it in batches; without one the
# engine runs in the request, as the demo does. CIVILITY_ASSESSMENT=inline keeps the engine
# in the request even with Redis (for a site that uses Redis only as its cache).
CELERY_BROKER_URL = REDIS_URL
CIVILITY_ASSESSMENT = os.environ.get("CIVILITY_ASSESSMENT") or ("worker" if REDIS_URL else "inline")
CIVILITY_ASSESS_BATCH = int(os.environ.get("CIVILITY_ASSESS_BATCH", "64"))
# Seconds a web process gathers posted comments into one message (0: one message per post).
CIVILITY_ENQUEUE_LINGER = float(os.environ.get("CIVILITY_ENQUEUE_LINGER", "0.02"))
# Seconds a worker's claim on a batch holds; a killed worker's batch is taken again after it.
CIVILITY_ASSESS_LEASE = float(os.environ.get("CIVILITY_ASSESS_LEASE", "120"))
# A worker renews its lease while the engine runs, for at most this many seconds per comment
# of the batch; a comment whose assessment failed or overran its lease this many times leaves
# the queue as "needs human review: could not be assessed" instead of being retried forever.
CIVILITY_ASSESS_COMMENT_BUDGET = float(os.environ.get("CIVILITY_ASSESS_COMMENT_BUDGET", "5"))
CIVILITY_ASSESS_MAX_ATTEMPTS = int(os.environ.get("CIVILITY_ASSESS_MAX_ATTEMPTS", "3"))
# Comments waiting longer than this, unclaimed, with too few messages queued for them, get new
# ones from the sweeper that runs in every worker (a lost message or a killed broker).
CIVILITY_SWEEP_AFTER = float(os.environ.get("CIVILITY_SWEEP_AFTER", "60"))
# "module:callable" building the engine instead of Moderator.default() (tests, experiments).
CIVILITY_ENGINE = os.environ.get("CIVILITY_ENGINE", "")
CELERY_TASK_ACKS_LATE = True  # a message is removed only after its task finished
CELERY_TASK_REJECT_ON_WORKER_LOST = True  # and goes back to the queue if the worker died
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
# visibility_timeout: longer than the longest webhook retry delay, so a delayed message is not
# handed out twice. max_retries 0: a post never waits for a broker that is down (its comment
# waits for the sweeper instead); workers reconnect on their own.
# The socket timeouts: a publish to a hung Redis fails instead of waiting forever (the comment
# waits for the sweeper); the workers' own polling reads only what is ready.
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": 3 * 3600,
    "max_retries": 0,
    "socket_connect_timeout": CIVILITY_REDIS_TIMEOUT,
    "socket_timeout": max(2.0, CIVILITY_REDIS_TIMEOUT),
}
CELERY_TASK_ROUTES = {
    "civility.assess": {"queue": "civility.assess"},
    "civility.sweep": {"queue": "civility.assess"},
    "civility.deliver_webhook": {"queue": "civility.webhooks"},
    # Mails and the moderators' digest check are short network calls like webhooks: every
    # worker takes them from the same queue.
    "civility.send_mail": {"queue": "civility.webhooks"},
    "civility.digest": {"queue": "civility.webhooks"},
    # Its own queue, consumed by the `--beat` worker only: a learning run takes minutes and
    # must not hold an assessment slot.
    "civility.learn": {"queue": "civility.learn"},
}


def learning_schedule(environ) -> dict:
    """The beat schedule for periodic learning from CIVILITY_LEARN_EVERY_HOURS (hours, may be
    fractional; unset, empty or 0: none) and CIVILITY_LEARN_AUTO_PROMOTE ("1": promote)."""
    raw = environ.get("CIVILITY_LEARN_EVERY_HOURS", "") or "0"
    try:
        hours = float(raw)
    except ValueError:
        raise ValueError(
            f"CIVILITY_LEARN_EVERY_HOURS must be a number of hours, not {raw!r}"
        ) from None
    if not hours > 0:  # 0, negative or NaN: periodic learning is off
        return {}
    auto_promote = environ.get("CIVILITY_LEARN_AUTO_PROMOTE", "0") == "1"
    return {
        "civility-learn": {
            "task": "civility.learn",
            "schedule": hours * 3600,
            "kwargs": {"auto_promote": auto_promote},
        }
    }


# Periodic learning (opt-in, docs/learning.md): every N hours, `civility worker --beat` (or a
# separate `celery beat`) runs `civility learn`; CIVILITY_LEARN_AUTO_PROMOTE=1 also promotes a
# candidate that is worse in no language. Unset: no schedule (learn from cron or by hand).
CELERY_BEAT_SCHEDULE = learning_schedule(os.environ)


def _minutes(environ, name: str, default: str = "0") -> float:
    raw = environ.get(name, "") or default
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"{name} must be a number of minutes, not {raw!r}") from None
    return value if value > 0 else 0.0  # 0, negative or NaN: off


def digest_schedule(environ) -> dict:
    """The beat schedule of the moderators' digest (docs/web.md): with
    CIVILITY_DIGEST_AGE_MINUTES set, every CIVILITY_DIGEST_CHECK_MINUTES (default 5) the
    `--beat` worker checks the oldest pending comment; unset or 0: no schedule."""
    if not _minutes(environ, "CIVILITY_DIGEST_AGE_MINUTES"):
        return {}
    every = _minutes(environ, "CIVILITY_DIGEST_CHECK_MINUTES", "5") or 5.0
    return {"civility-digest": {"task": "civility.digest", "schedule": every * 60}}


CELERY_BEAT_SCHEDULE.update(digest_schedule(os.environ))

# Webhooks (docs/workers.md): deliveries time out, retry with exponential backoff, and never go
# to loopback, private or link-local addresses unless their network is listed here (CIDRs).
CIVILITY_WEBHOOK_TIMEOUT = float(os.environ.get("CIVILITY_WEBHOOK_TIMEOUT", "5"))
CIVILITY_WEBHOOK_MAX_ATTEMPTS = int(os.environ.get("CIVILITY_WEBHOOK_MAX_ATTEMPTS", "8"))
CIVILITY_WEBHOOK_RETRY_BASE = float(os.environ.get("CIVILITY_WEBHOOK_RETRY_BASE", "30"))
# Without a broker, each process sends webhooks from this many threads, whatever the backlog.
CIVILITY_WEBHOOK_THREADS = int(os.environ.get("CIVILITY_WEBHOOK_THREADS", "4"))
CIVILITY_WEBHOOK_ALLOWED_NETWORKS = [
    n.strip()
    for n in os.environ.get("CIVILITY_WEBHOOK_ALLOWED_NETWORKS", "").split(",")
    if n.strip()
]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/moderation/"

LANGUAGE_CODE = "en"
# English is the source; the others have catalogues in locale/ (docs/translations.md).
# Django has no Kurmanji at all: civility.web.i18n adds ckb and kmr to its LANG_INFO.
LANGUAGES = [
    ("en", "English"),
    ("ar", "العربية"),
    ("fa", "فارسی"),
    ("tr", "Türkçe"),
    ("ckb", "کوردی"),
    ("kmr", "Kurmancî"),
]
register_languages()
LANGUAGES_BIDI = [code for code, _name in LANGUAGES if LANG_INFO[code]["bidi"]]
LOCALE_PATHS = [BASE_DIR / "locale"]
FORMAT_MODULE_PATH = ["civility.web.formats"]  # Kurmanji's dates; Django has the others
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = DATA_DIR / "static"
STATICFILES_DIRS = [BASE_DIR / "static"]
# Serve from the app folders too, so the site works before `collectstatic` (tests, dev).
WHITENOISE_USE_FINDERS = True
try:
    STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # whitenoise warns on every start without it
except OSError:
    pass
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Request bodies above this get a 413 (comments are capped far lower by their own forms).
DATA_UPLOAD_MAX_MEMORY_SIZE = int(os.environ.get("MAX_REQUEST_BYTES", str(64 * 1024)))

SESSION_COOKIE_HTTPONLY = True
# Cross-site CMS embedding needs "None" here together with secure cookies (HTTPS).
CSRF_COOKIE_SAMESITE = os.environ.get("CSRF_COOKIE_SAMESITE", "Lax")
SESSION_COOKIE_SAMESITE = "Lax"
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
# HTTPS in production, each switch configurable for the proxy in front (docs/web.md).
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = _flag("SECURE_COOKIES", PRODUCTION)
SECURE_SSL_REDIRECT = _flag("SECURE_SSL_REDIRECT", PRODUCTION)
SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS") or (31536000 if PRODUCTION else 0))
SECURE_HSTS_INCLUDE_SUBDOMAINS = _flag("SECURE_HSTS_INCLUDE_SUBDOMAINS", PRODUCTION)
SECURE_HSTS_PRELOAD = _flag("SECURE_HSTS_PRELOAD", PRODUCTION)
# The header a TLS-terminating proxy sets (and strips from clients) to say the request was
# HTTPS; without it every proxied request would look like HTTP and be redirected forever.
# Set SECURE_PROXY_SSL_HEADER= (empty) when the site takes HTTPS itself.
_PROXY_HEADER = os.environ.get(
    "SECURE_PROXY_SSL_HEADER", "HTTP_X_FORWARDED_PROTO" if PRODUCTION else ""
)
SECURE_PROXY_SSL_HEADER = (_PROXY_HEADER, "https") if _PROXY_HEADER else None
# Content-Security-Policy on every response (civility.web.middleware.ContentSecurityPolicy):
# everything from this origin only, no inline script or style. Pages meant to be framed (the
# embed and the status page it shows) may be framed by these origins ("*": any site).
CIVILITY_EMBED_ANCESTORS = os.environ.get("CIVILITY_EMBED_ANCESTORS", "*").replace(",", " ")
# The embed posts with a signed form token bound to the article instead of the CSRF cookie
# (a cookie in a frame on another site is not sent): how long one rendered form stays valid.
CIVILITY_EMBED_FORM_MAX_AGE = int(os.environ.get("CIVILITY_EMBED_FORM_MAX_AGE", str(6 * 3600)))


# Posting limits: (comments, seconds) per client IP and per author name.
def _limit(name: str, default: str) -> tuple[int, int]:
    count, _, seconds = os.environ.get(name, default).partition("/")
    return int(count), int(seconds)


CIVILITY_POST_LIMIT_PER_IP = _limit("CIVILITY_POST_LIMIT_PER_IP", "10/60")
CIVILITY_POST_LIMIT_PER_AUTHOR = _limit("CIVILITY_POST_LIMIT_PER_AUTHOR", "5/60")
CIVILITY_ASSESS_LIMIT_PER_IP = _limit("CIVILITY_ASSESS_LIMIT_PER_IP", "120/60")
# Failed sign-ins (moderators and admin) before further attempts are refused for a while.
CIVILITY_LOGIN_LIMIT_PER_ACCOUNT = _limit("CIVILITY_LOGIN_LIMIT_PER_ACCOUNT", "5/900")
CIVILITY_LOGIN_LIMIT_PER_IP = _limit("CIVILITY_LOGIN_LIMIT_PER_IP", "20/900")
CIVILITY_MAX_COMMENT_CHARS = int(os.environ.get("CIVILITY_MAX_COMMENT_CHARS", "2000"))
USE_X_FORWARDED_FOR = os.environ.get("USE_X_FORWARDED_FOR", "0") == "1"
# Static files are fingerprinted and compressed by whitenoise when collected (civility serve).
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if os.environ.get("CIVILITY_MANIFEST_STATIC", "0") == "1"
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

# E-mail (sign-in links to commenters): EMAIL_URL, e.g. smtp://user:password@host:587;
# without it mails are printed to the console (the demo).
from civility.web.commenters.email_url import email_settings  # noqa: E402

globals().update(email_settings(os.environ.get("EMAIL_URL", "")))
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "comments@localhost")
# Seconds a commenter's sign-in link stays valid; sign-in links per address per hour.
CIVILITY_SIGN_IN_MAX_AGE = int(os.environ.get("CIVILITY_SIGN_IN_MAX_AGE", str(24 * 3600)))
CIVILITY_SIGN_IN_MAILS = _limit("CIVILITY_SIGN_IN_MAILS", "3/3600")
# Notifications to commenters who tick "e-mail me" (docs/web.md): the site's address for the
# links in mails (empty: the scheme and host the reader posted to), how long an unsubscribe
# link works (seconds), attempts and backoff base (seconds) when the mail server fails, and
# opt-ins recorded per address (comments, seconds) so a typed stranger's address gets few.
CIVILITY_SITE_URL = os.environ.get("CIVILITY_SITE_URL", "").rstrip("/")
CIVILITY_UNSUBSCRIBE_MAX_AGE = int(
    os.environ.get("CIVILITY_UNSUBSCRIBE_MAX_AGE", str(365 * 24 * 3600))
)
CIVILITY_MAIL_MAX_ATTEMPTS = int(os.environ.get("CIVILITY_MAIL_MAX_ATTEMPTS", "8"))
CIVILITY_MAIL_RETRY_BASE = float(os.environ.get("CIVILITY_MAIL_RETRY_BASE", "60"))
CIVILITY_NOTIFY_OPT_INS = _limit("CIVILITY_NOTIFY_OPT_INS", "20/3600")
# The moderators' digest: a mail when the oldest pending comment has waited this many minutes
# (0 or unset: never), at most once per CIVILITY_DIGEST_EVERY_MINUTES, to CIVILITY_DIGEST_TO
# (comma-separated addresses) or else every active moderator with an e-mail address.
CIVILITY_DIGEST_AGE_MINUTES = _minutes(os.environ, "CIVILITY_DIGEST_AGE_MINUTES")
CIVILITY_DIGEST_EVERY_MINUTES = _minutes(os.environ, "CIVILITY_DIGEST_EVERY_MINUTES", "60") or 60.0
CIVILITY_DIGEST_TO = [
    a.strip() for a in os.environ.get("CIVILITY_DIGEST_TO", "").split(",") if a.strip()
]
# Publisher single sign-on (JWT HS256): the secret shared with the CMS (empty: off), the
# audience its tokens name, and the longest lifetime (exp - iat) accepted, in seconds.
CIVILITY_SSO_SECRET = os.environ.get("CIVILITY_SSO_SECRET", "")
CIVILITY_SSO_AUDIENCE = os.environ.get("CIVILITY_SSO_AUDIENCE", "civility")
CIVILITY_SSO_MAX_AGE = int(os.environ.get("CIVILITY_SSO_MAX_AGE", "600"))

# Who may comment (docs/web.md): "open" (the default) takes a comment with a name alone;
# "verified" only from a verified commenter (the e-mail sign-in link or the publisher's
# sign-on): other posts are refused, and the form says how to verify.
CIVILITY_COMMENTERS = os.environ.get("CIVILITY_COMMENTERS", "").strip().lower() or "open"
if CIVILITY_COMMENTERS not in ("open", "verified"):
    raise ValueError(
        f"CIVILITY_COMMENTERS must be 'open' or 'verified', not {CIVILITY_COMMENTERS!r}"
    )

# The moderation policy (TOML) overriding the engine's shipped defaults.
CIVILITY_POLICY = os.environ.get("CIVILITY_POLICY") or None

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "WARNING")},
}
