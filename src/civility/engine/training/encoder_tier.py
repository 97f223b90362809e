"""`civility train --tier encoder --data ../shared/data --out DIR`: the whole accurate-tier recipe.

1. fine-tune e5-small (encoder.py) into DIR/checkpoint, unless --checkpoint names one;
2. prune, export and quantise it into DIR (export_encoder.py);
3. fit the cascade's stackers, gate and policy bands on the dev split (fit_cascade.py), writing
   DIR/stacker.json, DIR/cascade_metrics.json and DIR/policy.toml.
To ship the result, copy DIR's encoder.int8.onnx, tokenizer.json, encoder.json, stacker.json and
cascade_metrics.json into src/civility/models/encoder/ and policy.toml over
src/civility/policy/default.toml. Needs the `train` extra (pip install -e '.[train]').
"""

from __future__ import annotations

import argparse
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="civility train --tier encoder", description=__doc__)
    parser.add_argument("--data", type=Path, required=True, help="the shared data folder")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--minutes", type=float, default=70.0, help="fine-tuning time budget")
    parser.add_argument("--steps", type=int, default=None, help="a fixed number of steps instead")
    parser.add_argument("--layers", type=int, default=12)
    parser.add_argument("--checkpoint", type=Path, help="skip fine-tuning; export this one")
    parser.add_argument("--init", type=Path, help="fine-tune further from this checkpoint")
    args = parser.parse_args(argv)
    try:
        import torch  # noqa: F401
    except ImportError:
        parser.error("the encoder tier trains with torch: pip install -e '.[train]'")
    from . import encoder, export_encoder, fit_cascade

    checkpoint = args.checkpoint or args.out / "checkpoint"
    if args.checkpoint is None:
        encoder.train(
            args.data, checkpoint, args.minutes, args.layers, steps=args.steps, init=args.init
        )
    export_encoder.export(checkpoint, args.data, args.out)
    fit_cascade.fit(args.data, args.out, args.out / "policy.toml")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
