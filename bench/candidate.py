"""The engine a bench measures: the shipped one, or a candidate encoder tier not shipped yet.

`--encoder DIR` (a `civility train --tier encoder --out DIR`: its stacker was fitted on the
shipped fast tier) and `--policy FILE` (its DIR/policy.toml) replace the shipped encoder tier
and policy, so a candidate is measured without copying it into src/civility/models.
"""

from __future__ import annotations

import argparse
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--encoder", type=Path, default=None, help="a candidate encoder tier")
    parser.add_argument("--policy", type=Path, default=None, help="a candidate policy file")


def moderator_for(args: argparse.Namespace, encoder: bool = True):
    """The shipped Moderator, with the candidate encoder tier and policy of `args` in place of
    its own; `encoder=False` runs the fast tier alone."""
    from civility.engine import Moderator
    from civility.engine.cascade import Cascade
    from civility.engine.moderator import _shipped_scorer
    from civility.engine.policy import Policy

    if args.encoder is None or not encoder:
        return Moderator.default(policy_path=args.policy, encoder=encoder)
    return Moderator(
        _shipped_scorer(), Policy.load(args.policy), cascade=Cascade.load(args.encoder)
    )
