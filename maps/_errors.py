"""Errors raised by maps: subclasses of builtins, so callers may catch ValueError."""

from __future__ import annotations

__all__ = ["ParameterError"]


class ParameterError(ValueError):
    """A map or figure option that cannot be used, naming the option.

    ``parameter`` is the name users type (the CLI option and HTTP query parameter:
    "mode", "set", "scope", "paper" …), so the web API can answer 400 naming it.
    """

    def __init__(self, parameter: str, message: str):
        super().__init__(message)
        self.parameter = parameter
