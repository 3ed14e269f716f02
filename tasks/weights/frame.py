"""The invitation frame: read and checked (one sentence per refusal, exit 3), and each invited firm
placed in the weighting dimensions exactly as respondents are (postcode, SBI code, FTE)."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd

from innomon.errors import InputError
from schemas.config import RunConfig
from schemas.frame import ID_COLUMN, REQUIRED, SIZE_COLUMNS


def read_frame(data: bytes, name: str) -> pd.DataFrame:
    """The frame as text columns (FTE as a number), refused with one sentence when it cannot serve:
    a missing column, an empty or duplicate identifier, an unreadable FTE."""
    from schemas.frame import FRAME_SCHEMA
    from schemas.validation import validate_lazy

    try:
        frame = pd.read_csv(io.BytesIO(data), dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except (UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise InputError(f"The frame is no readable CSV ({exc}).", file=name, rule="frame_unreadable") from exc
    frame.columns = [str(c).strip() for c in frame.columns]
    for column in REQUIRED:
        if column not in frame.columns:
            raise InputError(
                f"The frame has no column {column}; a frame needs {', '.join(REQUIRED)} and fte or size_class.",
                file=name,
                column=column,
                rule="frame_missing_column",
            )
    if not any(c in frame.columns for c in SIZE_COLUMNS):
        raise InputError(
            "The frame has neither fte nor size_class; one of them places each firm in a size class.",
            file=name,
            column="fte",
            rule="frame_missing_column",
        )
    ids = frame[ID_COLUMN].str.strip()
    twice = ids[ids.duplicated(keep="first") & (ids != "")]
    if len(twice):  # rows by number only: the identifier is a register number, never logged
        row = int(twice.index[0])
        first = int(ids[ids == twice.iloc[0]].index[0])
        raise InputError(
            f"The frame lists one firm identifier twice, on rows {first + 1} and {row + 1}; each invited firm "
            "must appear once.",
            file=name,
            column=ID_COLUMN,
            row=row + 1,
            rule="frame_duplicate_id",
        )
    frame[ID_COLUMN] = ids
    if "fte" in frame.columns:
        fte = pd.to_numeric(frame["fte"].str.replace(",", ".", regex=False).str.strip(), errors="coerce")
        bad = fte.isna()
        if bad.any():
            row = int(bad.idxmax())
            raise InputError(
                f"The frame's fte on row {row + 1} is not a number.",
                file=name,
                column="fte",
                row=row + 1,
                rule="frame_fte",
            )
        frame["fte"] = fte.astype(float)
    return validate_lazy(FRAME_SCHEMA, frame, name, "frame")


def frame_strata(frame: pd.DataFrame, cfg: RunConfig, dims: list[str], name: str) -> pd.DataFrame:
    """Each frame firm's level of every weighting dimension, derived exactly as for respondents
    (postcode -> province, SBI -> sector, FTE -> size class), so respondents and frame meet."""
    from innomon import config as config_mod
    from innomon import reference
    from innomon.normalise import classify, normalise_postcode, normalise_sbi, sector_of
    from schemas.frame import known_levels, strata_schema
    from schemas.validation import validate_lazy

    out = pd.DataFrame(index=frame.index)
    if "province" in dims:
        pc4 = normalise_postcode(frame["postcode"])
        lookup = reference.pc4_to_province(str(config_mod.reference_path(cfg, "pc4")))
        out["province"] = pc4.map(lookup).astype(object).where(pc4.notna(), None)
    if "sector" in dims:
        valid_sbi = reference.sbi_sections(str(config_mod.reference_path(cfg, "sbi")))
        # A register keeps its codes as text: a code valid as written is taken as written (a survey
        # answer of the same digits may have lost a leading zero; the register's has not).
        text = frame["sbi_code"].str.replace(r"[\s.]", "", regex=True)
        sbi, _status = normalise_sbi(frame["sbi_code"], valid_sbi)
        sbi = text.where(text.isin(valid_sbi.keys()), sbi)
        out["sector"] = sector_of(sbi, valid_sbi, cfg.sectors.by_section, cfg.sectors.by_division)
    if "size_class" in dims:
        if "size_class" in frame.columns:
            out["size_class"] = frame["size_class"].str.strip()
        else:
            out["size_class"] = classify(frame["fte"], cfg.classes.size_class)
    for dim in dims:
        if dim not in out.columns:
            raise InputError(f"The frame cannot place firms by {dim}.", file=name, column=dim, rule="frame_dimension")
    out = out.astype(object).where(out.notna(), None)
    size_column = "size_class" if "size_class" in frame.columns else "fte"
    why = {  # dimension -> (the frame's own column, rule, what is wrong with it)
        "province": ("postcode", "frame_outside_region", "is no postcode of the region"),
        "sector": ("sbi_code", "frame_sbi_unknown", "is no SBI code of the reference list"),
        "size_class": (size_column, "frame_not_sme", "places the firm in no size class (an SME has under 250 FTE)"),
    }
    for dim in dims:
        known = set(known_levels(cfg)[dim])
        bad = ~out[dim].isin(known)
        if bad.any():
            column, rule, text = why[dim]
            row = int(np.flatnonzero(bad.to_numpy())[0]) + 1
            raise InputError(
                f"The frame's {column} on row {row} {text} ({int(bad.sum())} firm(s) of the frame so); "
                "every invited firm must be placed to weight to the frame.",
                file=name,
                column=column,
                row=row,
                rule=rule,
            )
    return validate_lazy(strata_schema(cfg, dims), out[dims], name, "frame_strata")


def margins(strata: pd.DataFrame, dims: list[str]) -> dict[str, dict[str, int]]:
    """The frame's count of firms per level of each dimension (levels sorted)."""
    return {d: {str(k): int(v) for k, v in strata[d].value_counts().sort_index().items()} for d in dims}


def check_size(frame_firms: int, valid: int, name: str) -> None:
    """A frame smaller than the respondents cannot be the list they were drawn from."""
    if frame_firms < valid:
        raise InputError(
            f"The frame lists {frame_firms} firms, fewer than the year's {valid} valid respondents; "
            "it cannot be the list of invited firms.",
            file=name,
            rule="frame_too_small",
        )
