"""Errors with the exit codes the CLI promises operators.

An error carries one clear sentence for the operator; the CLI prints it instead of a traceback.
"""

from __future__ import annotations


class InnomonError(Exception):
    """Anything the pipeline reports as a known failure; exit code 1."""

    exit_code = 1


class ConfigError(InnomonError):
    """Usage or configuration is wrong (unknown year, bad YAML, bad option); exit code 2."""

    exit_code = 2


class InputError(InnomonError):
    """An input export failed validation; nothing is published; exit code 3.

    `file`, `column`, `row` and `rule` name the problem so that operators can find it.
    """

    exit_code = 3

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        column: str | None = None,
        row: int | None = None,
        rule: str | None = None,
    ) -> None:
        self.file = file
        self.column = column
        self.row = row
        self.rule = rule
        parts = []
        if file:
            parts.append(f"file {file}")
        if column:
            parts.append(f"column {column}")
        if row is not None:
            parts.append(f"row {row}")
        if rule:
            parts.append(f"rule {rule}")
        where = f" [{', '.join(parts)}]" if parts else ""
        self.message = message
        super().__init__(f"{message}{where}")

    def __reduce__(self) -> tuple:  # keep the fields when Prefect pickles a failed task's exception
        return (
            _rebuild_input_error,
            (self.message, self.file, self.column, self.row, self.rule),
        )


def _rebuild_input_error(
    message: str, file: str | None, column: str | None, row: int | None, rule: str | None
) -> InputError:
    return InputError(message, file=file, column=column, row=row, rule=rule)


class BusyError(InnomonError):
    """Another run holds the year (or the site) on this store; nothing was done; exit code 4. Try
    again when it has finished: the message names who holds it and since when."""

    exit_code = 4


class DisclosureError(InnomonError):
    """A release failed the disclosure audit (a suppressed cell an intruder can pin down); nothing
    was published; exit code 5."""

    exit_code = 5
