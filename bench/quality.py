"""Quality figures of the shipped fast tier on the dev splits (a thin wrapper over evaluate).

    .venv/bin/python bench/quality.py --data ../shared/data [--models DIR] [--json FILE]

Prints per-category ROC-AUC / PR-AUC / F1, the decision confusion matrix, OLID / OffensEval-TR /
HatEval macro-F1, toxic-spans F1 and the false-rejection checks. Asserts nothing.
"""

from __future__ import annotations

import sys

from civility.engine.training.evaluate import main

if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
