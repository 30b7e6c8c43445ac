"""Errors a user can cause and fix: shown as one line, never as a traceback."""

from __future__ import annotations


class UserError(Exception):
    """A problem with the user's input or setup; the message says what to do."""
