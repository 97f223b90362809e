"""The moderation engine: a pure library (no Django). Start with `Moderator.default()`."""

from .assessment import ABUSE_KINDS, CATEGORIES, Assessment, Span
from .moderator import Article, InputError, Moderator

__all__ = ["ABUSE_KINDS", "CATEGORIES", "Article", "Assessment", "InputError", "Moderator", "Span"]
