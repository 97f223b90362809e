"""Learning from the newsroom's own decisions: labels, the adapter that sits on the shipped tiers,
fitting it with per-language bands, judging it against the active model, and the versions kept
under the data directory. No Django here; the web and the CLI feed it `Example`s."""

from .adapter import Adapter
from .examples import Example
from .fit import LearnSettings, learn
from .store import ModelStore, StoreError

__all__ = ["Adapter", "Example", "LearnSettings", "ModelStore", "StoreError", "learn"]
