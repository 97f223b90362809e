"""A scripted engine for worker processes under test (CIVILITY_ENGINE=scripted_engine:build,
with tests/web on PYTHONPATH): decides by marker words like the fake engine in conftest.py,
and takes SCRIPTED_ENGINE_MS milliseconds per comment so a batch is still running when a
test kills its worker."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field


@dataclass
class Span:
    start: int
    end: int
    category: str

    def to_dict(self):
        return {"start": self.start, "end": self.end, "category": self.category}


@dataclass
class Result:
    decision: str
    score: float
    language: str = "en"
    categories: dict = field(default_factory=dict)
    abuse_kinds: dict = field(default_factory=dict)
    spans: list = field(default_factory=list)
    relevance: float | None = 0.5
    reasons: list = field(default_factory=list)
    reason_codes: list = field(default_factory=list)
    model_version: str = "scripted-1+policy-test"


class Policy:
    version = "test"


class ScriptedModerator:
    model_version = "scripted-1+policy-test"
    policy = Policy()

    def __init__(self):
        self.delay = float(os.environ.get("SCRIPTED_ENGINE_MS", "0")) / 1000

    def assess_many(self, items):
        results = []
        for text, _article, _lang in items:
            time.sleep(self.delay)
            if "idiot" in text:
                at = text.find("idiot")
                results.append(
                    Result(
                        "reject",
                        0.97,
                        categories={"personal_attack": 0.97},
                        spans=[Span(at, at + 5, "personal_attack")],
                        reasons=["Personal attack"],
                        reason_codes=["personal_attack"],
                    )
                )
            elif "hmm" in text:
                results.append(Result("review", 0.5, categories={"promotion": 0.5}))
            else:
                results.append(Result("approve", 0.01, categories={"personal_attack": 0.01}))
        return results


def build() -> ScriptedModerator:
    return ScriptedModerator()
