"""Civility: comment moderation for news publishers."""

__version__ = "0.1.0"
