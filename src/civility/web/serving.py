"""What `civility serve` adds to gunicorn: an access log without secrets, and workers that
exit cleanly.

Access log: Perspective clients send their API key as `?key=` (Google's convention), so
gunicorn's request line, query string and referer would write it to the log. Values of the
query parameters in SECRET_PARAMETERS and of the headers in SECRET_HEADERS are replaced by
"[redacted]" before a line is written, whatever the log format asks for.

Exit: a worker is a fork of the master, which loaded the engine before forking, and ONNX
Runtime starts a thread of its own when it is imported. The worker has the library's state but
not that thread, so when the worker's interpreter exits normally, the C++ exit handlers the
library registered try to join or wake a thread that is not there: the worker aborted with
`terminate called after throwing an instance of 'std::system_error'` (SIGABRT) or hung until
the master killed it at the end of its 30 s graceful timeout. `exit_worker` ends a worker as
multiprocessing ends its forked children: Python's own exit handlers run (logging flushed,
database connections closed), then os._exit skips the inherited C-level ones."""

from __future__ import annotations

import atexit
import logging
import os
import re
import sys

from gunicorn.glogging import Logger

REDACTED = "[redacted]"
SECRET_PARAMETERS = ("key", "api_key", "apikey", "access_token", "token")
SECRET_HEADERS = ("x-goog-api-key", "authorization", "cookie", "x-coral-signature")
# A secret parameter's value: after "?" or "&" (or their percent-encoded forms), up to the next
# separator. Parameter names are matched case-insensitively.
_PARAMETER = re.compile(
    r"(?i)((?:^|[?&;]|%3f|%26)(?:" + "|".join(SECRET_PARAMETERS) + r")(?:=|%3d))[^&;#\s\"]*"
)
_HEADER_ATOMS = {f"{{{name}}}i" for name in SECRET_HEADERS} | {
    "{http_" + name.replace("-", "_") + "}e" for name in SECRET_HEADERS
}


def redact(text: str) -> str:
    """`text` (a request line, path, query string or URL) with secret parameters' values
    replaced."""
    return _PARAMETER.sub(lambda m: m.group(1) + REDACTED, text)


class RedactingLogger(Logger):
    """gunicorn's logger, with secrets taken out of every access-log atom."""

    def atoms(self, resp, req, environ, request_time):
        atoms = super().atoms(resp, req, environ, request_time)
        for name, value in atoms.items():
            if name.lower() in _HEADER_ATOMS:
                atoms[name] = REDACTED
            elif isinstance(value, str):
                atoms[name] = redact(value)
        return atoms


def exit_worker(server, worker) -> None:
    """gunicorn's worker_exit hook (it runs in the worker, last): exit now, with the status
    the worker was exiting with, after Python's exit handlers and without the C-level ones
    inherited from the master (see the module's docstring)."""
    exiting = sys.exc_info()[1]
    code = exiting.code if isinstance(exiting, SystemExit) else 0 if exiting is None else 1
    if not isinstance(code, int):
        code = 0 if code is None else 1
    try:
        from django.db import connections

        connections.close_all()
        atexit._run_exitfuncs()  # what the interpreter's exit would run, logging.shutdown too
    except BaseException:  # noqa: BLE001 - whatever fails here, the worker still exits
        logging.getLogger(__name__).exception("worker %s: exit handlers failed", os.getpid())
        code = code or 1
    finally:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except (OSError, ValueError):
                pass
        os._exit(code & 0xFF)
