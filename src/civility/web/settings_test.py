"""Settings for the test suite: the site's settings with production mode off, because the test
client and the live test servers speak plain HTTP. Production mode itself is tested on its
own (tests/web/test_production.py), in-process with its settings and in a fresh process."""

import os

os.environ.setdefault("CIVILITY_PRODUCTION", "0")

from civility.web.settings import *  # noqa: E402, F403
