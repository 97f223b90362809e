"""`civility train --tier encoder --data ../shared/data --out DIR [--resume]`: the accurate tier.

1. fine-tune e5-small (encoder.py) on the public training sets and our threat set
   (training/threats), keeping the run's state in CIVILITY_TRAIN_STATE (default
   ~/.cache/civility/train-state). The run has a fixed length (--epochs, default 3); it
   checkpoints every few minutes and on SIGTERM or Ctrl-C, and `--resume` continues it in a
   later sitting exactly where it stopped. `--train-only` stops after fine-tuning;
2. write the run's weights into DIR/checkpoint, then prune, export and quantise them into DIR
   (export_encoder.py); `--checkpoint` exports a given checkpoint or state folder instead, with
   no fine-tuning (e.g. a run still in progress);
3. fit the cascade's stackers, gate and policy bands on the dev split (fit_cascade.py), writing
   DIR/stacker.json, DIR/cascade_metrics.json and DIR/policy.toml.
`--student-of TEACHER` distils a finished (or paused) run, or an exported tier such as the
shipped one, into a smaller student instead
(distil.py: 6 layers by default, trained on the teacher's scores over all training text), in
its own resumable state folder; export and fit follow as above.
To ship the result, copy DIR's encoder.int8.onnx, tokenizer.json, encoder.json, stacker.json and
cascade_metrics.json into src/civility/models/encoder/ and policy.toml over
src/civility/policy/default.toml. Needs the `train` extra (pip install -e '.[train]').
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from . import resumable


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="civility train --tier encoder", description=__doc__)
    parser.add_argument("--data", type=Path, required=True, help="the shared data folder")
    parser.add_argument("--out", type=Path, help="where the exported tier goes")
    parser.add_argument(
        "--state",
        type=Path,
        default=None,
        help="the run's state folder (default: $CIVILITY_TRAIN_STATE, else "
        "~/.cache/civility/train-state)",
    )
    parser.add_argument("--resume", action="store_true", help="continue the run in --state")
    parser.add_argument("--fresh", action="store_true", help="discard the run in --state")
    parser.add_argument("--epochs", type=float, default=None, help="3 (a student: 2)")
    parser.add_argument("--steps", type=int, default=None, help="a fixed number of steps instead")
    parser.add_argument("--layers", type=int, default=None, help="12 (a student: 6)")
    parser.add_argument("--frozen-layers", type=int, default=None, help="6 (a student: 2)")
    parser.add_argument(
        "--student-of",
        type=Path,
        default=None,
        help="distil the run in this state folder, or the exported tier in this folder (e.g. "
        "src/civility/models/encoder), into a smaller student (distil.py); the student's "
        "state defaults to the teacher's folder name + '-student'",
    )
    parser.add_argument("--checkpoint-minutes", type=float, default=5.0)
    parser.add_argument(
        "--threats", type=Path, default=None, help="the threat set (default: training/threats)"
    )
    parser.add_argument("--train-only", action="store_true", help="no export, no cascade fit")
    parser.add_argument(
        "--checkpoint", type=Path, help="skip fine-tuning; export this checkpoint or state folder"
    )
    args = parser.parse_args(argv)
    if not (args.data / "MANIFEST.md").exists():
        parser.error(f"{args.data} does not look like the shared data folder")
    if args.out is None and not args.train_only:
        parser.error("--out is required unless --train-only")
    try:
        import torch  # noqa: F401
    except ImportError:
        parser.error("the encoder tier trains with torch: pip install -e '.[train]'")
    from . import datasets, distil, encoder, export_encoder, fit_cascade, threat_set

    student = args.student_of is not None
    if student and not (
        (args.student_of / "checkpoint.pt").exists() or distil.is_exported(args.student_of)
    ):
        parser.error(f"--student-of {args.student_of}: no training state or exported tier there")
    state = args.state or (
        args.student_of.with_name(args.student_of.name + "-student")
        if student
        else resumable.default_state_dir()
    )
    settings = {
        "epochs": args.epochs or (2.0 if student else 3.0),
        "layers": args.layers or (6 if student else 12),
        "frozen_layers": (2 if student else 6)
        if args.frozen_layers is None
        else args.frozen_layers,
        "steps": args.steps,
        "resume": args.resume,
        "fresh": args.fresh,
        "checkpoint_minutes": args.checkpoint_minutes,
        "log": lambda m: print(m, file=sys.stderr, flush=True),
    }
    checkpoint = args.checkpoint
    if checkpoint is None:
        threats = [r for r in threat_set.load(args.threats) if r.split == "train"]
        rows = [r for r in datasets.load(args.data) if r.split == "train"] + threats
        print(f"training rows: {len(rows)} ({len(threats)} from the threat set)", file=sys.stderr)
        try:
            if student:
                result = distil.distil(rows, args.student_of, state, **settings)
            else:
                result = encoder.train(rows, state, **settings)
        except (encoder.TrainingStateError, ValueError) as error:
            parser.exit(2, f"civility train: {error}\n")
        if args.train_only or not result["finished"]:
            return 0
        checkpoint = state
    if (checkpoint / "checkpoint.pt").exists():  # a state folder: materialise its weights
        materialised = args.out / "checkpoint"
        encoder.write_checkpoint(checkpoint, materialised)
        checkpoint = materialised
    export_encoder.export(checkpoint, args.data, args.out)
    fit_cascade.fit(args.data, args.out, args.out / "policy.toml")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
