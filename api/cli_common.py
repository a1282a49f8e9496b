"""What every ``ntm`` command shares: click context settings, progress bars, error exits.

Kept apart from ``api.cli`` so the command modules (``cli_maps``, ``cli_keys`` …) can
import it without importing the main group that registers them.
"""

from __future__ import annotations

import functools
import sys

import click

__all__ = ["CONTEXT", "Progress", "fail", "handles_errors"]

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


class Progress:
    """Adapter from the layers' progress(step, done, total) callbacks to click bars."""

    def __init__(self, enabled: bool = True):
        self.enabled = enabled
        self.bar = None
        self.label = None
        self.done = 0

    def __call__(self, label: str, done: int, total: int) -> None:
        if not self.enabled:
            return
        if label != self.label:
            self.close()
            self.label = label
            self.bar = click.progressbar(length=max(total, 1), label=label.ljust(34), file=sys.stderr, show_pos=True)
            self.bar.__enter__()
            self.done = 0
        step = max(0, min(done, self.bar.length) - self.done)
        if step:
            self.bar.update(step)
            self.done += step

    def close(self) -> None:
        if self.bar is not None:
            self.bar.update(self.bar.length - self.done)
            self.bar.__exit__(None, None, None)
            self.bar = None


def fail(message: str, code: int = 1):
    click.echo(click.style("Lỗi / Error: ", fg="red", bold=True) + str(message), err=True)
    sys.exit(code)


def handles_errors(func):
    """Turn expected errors (bad input, missing store) into a clean message and exit 1."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        from layers._errors import CriteriaError, ImportValidationError, StoreError

        try:
            return func(*args, **kwargs)
        except ImportValidationError as exc:
            fail(exc)
        except (StoreError, CriteriaError, ValueError, FileNotFoundError, LookupError) as exc:
            fail(exc)

    return wrapper
