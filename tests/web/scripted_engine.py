"""The fake engine of conftest.py for worker processes under test
(CIVILITY_ENGINE=scripted_engine:build, with tests/web on PYTHONPATH): the same verdicts by
marker words, and SCRIPTED_ENGINE_MS milliseconds per comment so a batch is still running
when a test kills its worker."""

from __future__ import annotations

import os
import time

from conftest import FakeModerator


class ScriptedModerator(FakeModerator):
    def __init__(self):
        super().__init__()
        self.delay = float(os.environ.get("SCRIPTED_ENGINE_MS", "0")) / 1000

    def assess_many(self, items):
        items = list(items)
        time.sleep(self.delay * len(items))
        self.calls.clear()  # a long-running worker need not remember every comment
        return super().assess_many(items)


def build() -> ScriptedModerator:
    return ScriptedModerator()
