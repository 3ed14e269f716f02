"""Map an export's columns to canonical variables by the year's datamap, and type every answer.

Column ids differ between years, so mapping is always by datamap, never by position. Answers that
cannot be used (a code outside the item's answer codes, an unparseable number, a value outside the
allowed range) are cleared and counted by rule; "weet ik niet" codes become missing.
"""

from __future__ import annotations

import math
import re
from typing import Any

import numpy as np
import pandas as pd

from innomon.errors import InputError
from innomon.exports import Export
from schemas.config import RunConfig
from schemas.datamap import CODE_TYPES, TEXT_TYPES, TRUE_FALSE, DatamapRow, parse_codes, spss_safe

ISO_DATES = "ISO8601"


def _parse_dates(raw: pd.Series, date_format: str, file: str, column: str) -> pd.Series:
    """Dates in the form the source declares (`source.date_format`: ISO 8601, or a pattern such as
    `%d-%m-%Y %H:%M`); never guessed. A date in another form stops the run (exit 3): read with the
    wrong day-month order, a response would silently fall before or after the fieldwork's close."""
    text = raw.astype(str).str.strip()
    parsed = pd.to_datetime(text.where(text != "", None), errors="coerce", format=date_format)
    bad = parsed.isna() & (text != "")
    if bad.any():
        first = int(np.flatnonzero(bad.to_numpy())[0])
        shown = "ISO 8601 (YYYY-MM-DD HH:MM:SS)" if date_format == ISO_DATES else repr(date_format)
        raise InputError(
            f"{int(bad.sum())} of {len(text)} dates are not written as {shown}, the source's date_format; "
            f"the first is {text.iloc[first]!r}",
            file=file,
            column=column,
            row=first + 1,
            rule="date_format",
        )
    return parsed.astype("datetime64[ns]")


_DECIMAL_COMMA = re.compile(r"(-?\d+),(\d+)")


def _parse_text(v: Any) -> tuple[float, bool]:
    """(number, blank) of one distinct text cell: decimal comma, true/false; NaN if not a number."""
    t = str(v).strip()
    if t == "":
        return math.nan, True
    m = _DECIMAL_COMMA.fullmatch(t)
    if m:
        t = f"{m.group(1)}.{m.group(2)}"
    t = TRUE_FALSE.get(t.lower(), t)
    if "_" in t:  # float() would accept 1_000; an export never means that
        return math.nan, False
    try:
        return float(t), False
    except ValueError:
        return math.nan, False


def _parse_numbers(raw: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Text -> float; returns (values, unparseable mask). Accepts a decimal comma and true/false."""
    # Plain numbers parse in one vectorised call; the rest (blank, decimal comma, true/false,
    # garbage) is parsed once per distinct text, which is few texts however many rows.
    values = pd.to_numeric(raw, errors="coerce").astype("float64")
    rest = values.isna().to_numpy()
    blank = np.zeros(len(raw), dtype=bool)
    if rest.any():
        codes, distinct = pd.factorize(raw.to_numpy(dtype=object)[rest], use_na_sentinel=False)
        parsed = [_parse_text(v) for v in distinct]
        numbers = np.array([p[0] for p in parsed], dtype="float64")
        blanks = np.array([p[1] for p in parsed], dtype=bool)
        values.iloc[np.flatnonzero(rest)] = numbers[codes]
        blank[rest] = blanks[codes]
    bad = values.isna() & ~pd.Series(blank, index=raw.index)
    return values, bad


def map_export(export: Export, cfg: RunConfig, name: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The canonical table (one column per datamap variable) and the row-level issues found.

    File-level problems (missing columns, a year that does not match the config, duplicate
    ResponseIds, too many unknown codes) raise InputError: those stop the run.
    """
    frame = export.frame
    datamap = cfg.datamap_rows
    to_column = {}
    for row in datamap:
        col = spss_safe(row.column_id) if export.format == "sav" else row.column_id
        to_column[row.variable] = col
    repeated = [c for c in export.details.get("duplicate_columns", []) if c in to_column.values()]
    if repeated:
        raise InputError(
            f"The export repeats the column id {repeated[0]!r}; which one holds the answers is ambiguous.",
            file=name,
            column=repeated[0],
            rule="duplicate_column",
        )
    missing_cols = [c for c in to_column.values() if c not in frame.columns]
    if missing_cols:
        raise InputError(
            f"The export lacks {len(missing_cols)} column(s) the {cfg.year} datamap requires, "
            f"first {missing_cols[0]!r}: a wrong file, a renamed column or another year's export.",
            file=name,
            column=missing_cols[0],
            rule="missing_column",
        )
    if export.value_labels:
        _check_value_labels(export, datamap, to_column, name)
    out: dict[str, pd.Series] = {}
    issues: list[pd.DataFrame] = []
    response_ids = frame[to_column["response_id"]].astype(str).str.strip()
    share_limit = float(cfg.validation.unknown_code_share)
    date_format = str(cfg.source.date_format or ISO_DATES)
    for row in datamap:
        var, typ = row.variable, row.type
        raw = frame[to_column[var]]
        if typ in TEXT_TYPES:
            out[var] = raw.astype(str).str.strip()
            continue
        if typ == "datetime":
            out[var] = _parse_dates(raw, date_format, name, to_column[var])
            continue
        values, bad = _parse_numbers(raw)
        spec = parse_codes(row.codes)
        is_missing_code = values.isin(list(spec.missing))
        values = values.mask(is_missing_code)
        present = values.notna()
        allowed = spec.allows(values)
        outside = present & ~allowed
        rule = "unknown_code" if typ in CODE_TYPES else "out_of_range"
        unknown = outside | bad  # a choice text where a code belongs is as unknown as a wrong code
        if typ in CODE_TYPES and unknown.mean() > share_limit:
            first = int(np.flatnonzero(unknown.to_numpy())[0])
            raise InputError(
                f"{unknown.sum()} of {len(values)} answers to {var} are not among its answer codes "
                f"({row.codes}): the export does not match the datamap.",
                file=name,
                column=to_column[var],
                row=first + 1,
                rule="unknown_codes",
            )
        values = values.mask(outside | bad)
        out[var] = values
        if bad.any():
            issues.append(_issues(response_ids, bad, var, "unparseable_number"))
        if outside.any():
            issues.append(_issues(response_ids, outside, var, rule))
    mapped = pd.DataFrame(out)
    dup = mapped["response_id"].duplicated(keep=False) & (mapped["response_id"] != "")
    if dup.any():
        first = int(np.flatnonzero(dup.to_numpy())[0])
        same = mapped["response_id"] == mapped["response_id"].iloc[first]
        again = int(np.flatnonzero(same.to_numpy())[1])
        raise InputError(  # rows, never the id itself: a message reaches logs and the operators' chat
            f"A ResponseId occurs more than once (responses {first + 1} and {again + 1}).",
            file=name,
            column=to_column["response_id"],
            row=first + 1,
            rule="duplicate_response_id",
        )
    if (mapped["response_id"] == "").any():
        first = int(np.flatnonzero((mapped["response_id"] == "").to_numpy())[0])
        raise InputError(
            "A response has no ResponseId.",
            file=name,
            column=to_column["response_id"],
            row=first + 1,
            rule="missing_response_id",
        )
    _check_year(mapped, cfg, name, to_column["recorded_date"])
    issue_frame = (
        pd.concat(issues, ignore_index=True)
        if issues
        else pd.DataFrame(
            {"response_id": pd.Series(dtype=str), "variable": pd.Series(dtype=str), "rule": pd.Series(dtype=str)}
        )
    )
    return mapped, issue_frame


def _check_value_labels(export: Export, datamap: list[DatamapRow], to_column: dict[str, str], name: str) -> None:
    """A .sav's value labels must agree with the datamap: same label for a shared code, no unknown code."""

    def norm(text: str) -> str:
        return re.sub(r"\s+", " ", text).strip().lower()

    for row in datamap:
        col = to_column[row.variable]
        labels = export.value_labels.get(col)
        expected = parse_codes(row.codes).labels
        if not labels or not expected:
            continue
        for code, label in labels.items():
            if code not in expected:
                raise InputError(
                    f"The value label {code}={label!r} of {row.variable} is not an answer code of the datamap.",
                    file=name,
                    column=col,
                    rule="value_labels_mismatch",
                )
            if norm(label) != norm(expected[code]):
                raise InputError(
                    f"Code {code} of {row.variable} is labelled {label!r} in the export but "
                    f"{expected[code]!r} in the datamap.",
                    file=name,
                    column=col,
                    rule="value_labels_mismatch",
                )


def _issues(response_ids: pd.Series, mask: pd.Series, var: str, rule: str) -> pd.DataFrame:
    return pd.DataFrame({"response_id": response_ids[mask].to_numpy(), "variable": var, "rule": rule})


def _check_year(mapped: pd.DataFrame, cfg: RunConfig, name: str, column: str) -> None:
    year = cfg.year
    dates = mapped["recorded_date"].dropna()
    if dates.empty:
        raise InputError("No response has a RecordedDate.", file=name, column=column, rule="wrong_year")
    other = dates.dt.year != year
    limit = float(cfg.validation.year_mismatch_share)
    if other.mean() > limit:
        found = int(dates.dt.year.mode().iloc[0])
        raise InputError(
            f"The export holds responses recorded in {found}, but the configuration is for monitor year "
            f"{year}: is this another year's export?",
            file=name,
            column=column,
            rule="wrong_year",
        )
