"""Rule-based detectors: our lexicons (lexicon.py) and promotion signals (promotion.py)."""
