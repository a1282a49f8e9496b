"""Errors raised by layers: subclasses of builtins, so callers may catch ValueError."""

from __future__ import annotations

from dataclasses import dataclass, field


class StoreError(RuntimeError):
    """The store file is missing, foreign, too new, or a write broke its rules."""


class CriteriaError(ValueError):
    """A criteria set or a province configuration file is invalid."""


@dataclass
class Problem:
    """One problem found in input data, located as precisely as the input allows."""

    message: str
    file: str | None = None
    row: int | None = None
    column: str | None = None
    feature: str | None = None
    severity: str = "error"  # "error" refuses the import; "warning" is reported only

    def where(self) -> str:
        parts = []
        if self.file:
            parts.append(self.file)
        if self.row is not None:
            parts.append(f"row {self.row}")
        if self.column:
            parts.append(f"column '{self.column}'")
        if self.feature:
            parts.append(f"feature {self.feature}")
        return ", ".join(parts)

    def __str__(self) -> str:
        where = self.where()
        return f"{where}: {self.message}" if where else self.message

    def as_dict(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if v is not None}


@dataclass
class ValidationReport:
    """Everything wrong with an input, gathered before anything is written."""

    problems: list[Problem] = field(default_factory=list)

    def error(self, message: str, **where) -> None:
        self.problems.append(Problem(message, severity="error", **where))

    def warn(self, message: str, **where) -> None:
        self.problems.append(Problem(message, severity="warning", **where))

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "warning"]

    def extend(self, other: "ValidationReport") -> None:
        self.problems.extend(other.problems)

    def raise_if_errors(self, what: str) -> None:
        if self.errors:
            raise ImportValidationError(what, self)


class ImportValidationError(ValueError):
    """An input was refused; ``report`` lists every problem with its location."""

    def __init__(self, what: str, report: ValidationReport, limit: int = 20):
        self.report = report
        errors = report.errors
        lines = [f"{what}: {len(errors)} error(s), nothing was written"]
        lines += [f"  - {p}" for p in errors[:limit]]
        if len(errors) > limit:
            lines.append(f"  … and {len(errors) - limit} more")
        super().__init__("\n".join(lines))
