"""Write a year's synthetic responses as the survey platform would, following that year's datamap.

2021: Excel `.xlsx` (one header row); 2022: SPSS `.sav` with value labels (SPSS-safe names);
2023: Qualtrics-style CSV (UTF-8 BOM, three header rows: ids, question texts, ImportId JSON).
Besides the valid respondents the export holds the records a real export holds, each kind in the
number the year's config plants: previews, tests, incomplete responses, firms outside the region,
a firm of 250 FTE or more, and duplicates.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from innomon import config as config_mod
from innomon import reference
from innomon.synth import firms
from innomon.synth.generate import generate_valid, plan_for, response_id
from schemas.datamap import parse_codes, spss_safe

EXTENSIONS = {"xlsx": "xlsx", "sav": "sav", "qualtrics_csv": "csv"}
FIXED_TIME = dt.datetime(2000, 1, 1, 0, 0, 0)


def _meta(rng: np.random.Generator, df: pd.DataFrame, year: int, close: str) -> pd.DataFrame:
    """Fieldwork metadata: responses spread over 80 days from 1 April, ending at least a day before
    the configured close (so a year's valid respondents are all inside its fieldwork)."""
    from schemas.config import close_cutoff

    n = len(df)
    start = pd.Timestamp(f"{year}-04-01 08:00:00")
    last = pd.Timestamp(close_cutoff(close)) - pd.Timedelta(days=1) - pd.Timedelta(seconds=2400)
    span = max(1, min(80 * 24 * 3600, int((last - start).total_seconds())))
    offsets = np.sort(rng.integers(0, span, size=n))
    starts = [start + pd.Timedelta(seconds=int(s)) for s in offsets]
    durations = rng.integers(420, 2400, size=n)
    df = df.copy()
    df["meta_start"] = starts
    df["meta_end"] = [s + pd.Timedelta(seconds=int(d)) for s, d in zip(starts, durations, strict=True)]
    df["recorded_date"] = df["meta_end"]
    df["duration_s"] = durations.astype(float)
    df["meta_status"] = np.where(rng.random(n) < 0.03, 4.0, 0.0)
    df["progress"] = 100.0
    df["finished"] = 1.0
    df["response_id"] = [response_id(rng) for _ in range(n)]
    df["external_reference"] = ""
    df["user_language"] = "NL"
    return df


def _new_identity(rng: np.random.Generator, row: pd.Series, province_pool: pd.DataFrame, tag: str) -> dict[str, Any]:
    pick = province_pool.iloc[int(rng.integers(len(province_pool)))]
    name = f"{firms.TRADES[row['sector']][0]} {firms.SURNAMES[int(rng.integers(len(firms.SURNAMES)))]} {tag} B.V."
    return {
        "company_name": name,
        "kvk_number": f"{int(rng.integers(10_000_000, 99_999_999)):08d}",
        "email": firms.email_for(name),
        "postcode": f"{pick['pc4']} {''.join(rng.choice(list('ABCDEGHJKLMNPRSTVWXZ'), size=2))}",
    }


def build_records(
    cfg: dict[str, Any], n: int | None = None, seed: int | None = None
) -> tuple[pd.DataFrame, dict[str, int]]:
    """All records of the year's export (valid and planted) and the planted counts by rule."""
    plan = plan_for(cfg, n, seed)
    rng = np.random.default_rng([plan.seed, 3])
    valid = _meta(rng, generate_valid(cfg, n, seed), plan.year, cfg["fieldwork"]["close"])
    pc4 = reference.pc4_table(str(config_mod.reference_path(cfg, "pc4")))
    region = set(cfg["region"]["provinces"])
    in_region = pc4[pc4["province"].isin(region)]
    outside = pc4[~pc4["province"].isin(region)]
    planted = dict(plan.planted)
    extra: list[pd.DataFrame] = []
    order = list(cfg["datamap_rows"])
    answer_vars = [r["variable"] for r in order if r["block"] not in ("meta", "profile")]

    def donors(k: int) -> pd.DataFrame:
        return valid.iloc[rng.choice(len(valid), size=k, replace=False)].copy()

    for kind in ("preview", "test", "incomplete", "outside_region", "not_sme", "duplicate"):
        k = int(planted.get(kind, 0))
        if k == 0:
            continue
        rows = donors(k)
        if kind != "duplicate":
            pool = outside if kind == "outside_region" else in_region
            for idx in rows.index:
                for key, value in _new_identity(rng, rows.loc[idx], pool, kind[:3].upper()).items():
                    rows.loc[idx, key] = value
        rows["response_id"] = [response_id(rng) for _ in range(k)]
        if kind == "preview":
            rows["meta_status"] = 1.0
        elif kind == "test":
            rows["meta_status"] = 2.0
        elif kind == "incomplete":
            rows["finished"] = 0.0
            rows["progress"] = rng.integers(5, 70, size=k).astype(float)
            for _j, idx in enumerate(rows.index):
                cut = int(len(answer_vars) * rows.loc[idx, "progress"] / 100)
                for var in answer_vars[cut:]:
                    if var in rows.columns:
                        rows.loc[idx, var] = np.nan
        elif kind == "not_sme":
            rows["fte"] = rng.integers(250, 600, size=k).astype(float)
        elif kind == "duplicate":
            # An earlier, complete first attempt of a kept firm: the later record is kept.
            rows["recorded_date"] = rows["recorded_date"] - pd.Timedelta(days=3)
            rows["meta_start"] = rows["meta_start"] - pd.Timedelta(days=3)
            rows["meta_end"] = rows["recorded_date"]
        rows["planted"] = kind
        extra.append(rows)
    valid["planted"] = ""
    records = pd.concat([valid, *extra], ignore_index=True)
    records = records.sort_values("recorded_date", kind="mergesort").reset_index(drop=True)
    counts = {"valid": len(valid), **{k: int(planted.get(k, 0)) for k in planted}}
    return records, counts


def _cell(value: Any, typ: str) -> Any:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    if isinstance(value, pd.Timestamp):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if typ in ("text", "id"):
        return str(value)
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return int(value)
    if isinstance(value, (np.integer,)):
        return int(value)
    return float(value) if isinstance(value, (float, np.floating)) else value


def _column_cells(values: pd.Series, typ: str) -> np.ndarray:
    """One export column as cells: None for missing, text for text, whole numbers as int."""
    n = len(values)
    out = np.full(n, None, dtype=object)
    if pd.api.types.is_datetime64_any_dtype(values):
        ok = values.notna().to_numpy()
        out[ok] = values[ok].dt.strftime("%Y-%m-%d %H:%M:%S").to_numpy(dtype=object)
        return out
    if typ not in ("text", "id") and pd.api.types.is_numeric_dtype(values):
        a = values.to_numpy(dtype=float, na_value=np.nan)
        finite = ~np.isnan(a)
        whole = finite & (a == np.floor(a))
        out[whole] = a[whole].astype(np.int64).astype(object)
        frac = finite & ~whole
        out[frac] = a[frac].astype(object)
        return out
    return np.array([_cell(v, typ) for v in values.to_numpy(dtype=object)], dtype=object)


def export_frame(records: pd.DataFrame, cfg: dict[str, Any]) -> list[list[Any]]:
    """Rows of export cells in datamap column order (built column by column)."""
    n = len(records)
    columns = [
        _column_cells(records[r["variable"]], r["type"]) if r["variable"] in records else np.full(n, None, dtype=object)
        for r in cfg["datamap_rows"]
    ]
    return np.column_stack(columns).tolist() if columns else [[] for _ in range(n)]


def write_qualtrics_csv(rows: list[list[Any]], cfg: dict[str, Any]) -> bytes:
    """UTF-8 with BOM, three header rows (ids, question texts, ImportId JSON), CRLF like Qualtrics."""
    dm = cfg["datamap_rows"]
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow([r["column_id"] for r in dm])
    writer.writerow([r["question_text"] for r in dm])
    import_ids = []
    for r in dm:
        cid = r["column_id"]
        if r["block"] == "meta":
            key = cid[0].lower() + cid[1:].replace(" (in seconds)", "").replace(" ", "")
            payload = {"ImportId": key}
            if r["type"] == "datetime":
                payload["timeZone"] = "Europe/Amsterdam"
        else:
            payload = {"ImportId": "QID" + cid[1:] + ("_TEXT" if r["type"] == "text" else "")}
        import_ids.append(json.dumps(payload, separators=(",", ":")))
    writer.writerow(import_ids)
    for row in rows:
        writer.writerow(["" if v is None else v for v in row])
    return b"\xef\xbb\xbf" + buf.getvalue().encode("utf-8")


def write_xlsx(rows: list[list[Any]], cfg: dict[str, Any]) -> bytes:
    """One sheet, one header row of column ids; text cells stay text."""
    import xlsxwriter

    buf = io.BytesIO()
    wb = xlsxwriter.Workbook(
        buf, {"in_memory": True, "strings_to_numbers": False, "strings_to_formulas": False, "strings_to_urls": False}
    )
    wb.set_properties({"created": FIXED_TIME, "author": "Survey platform export"})
    ws = wb.add_worksheet("Responses")
    dm = cfg["datamap_rows"]
    for j, r in enumerate(dm):
        ws.write_string(0, j, r["column_id"])
    for i, row in enumerate(rows, start=1):
        for j, v in enumerate(row):
            if v is None:
                continue
            if isinstance(v, str):
                ws.write_string(i, j, v)
            else:
                ws.write_number(i, j, v)
    wb.close()
    return buf.getvalue()


SAV_STAMP = slice(92, 109)  # the file header's creation date ("dd mmm yy") and time ("hh:mm:ss")


def fixed_stamp(data: bytes) -> bytes:
    """The .sav with FIXED_TIME as its creation stamp: pyreadstat writes the clock's, which made two
    demos' 2022 exports (and so their run ids) differ; the same seed must give the same bytes."""
    if data[:4] not in (b"$FL2", b"$FL3"):
        raise ValueError("not an SPSS system file")
    stamp = FIXED_TIME.strftime("%d %b %y").encode("ascii") + FIXED_TIME.strftime("%H:%M:%S").encode("ascii")
    return data[: SAV_STAMP.start] + stamp + data[SAV_STAMP.stop :]


def write_sav(rows: list[list[Any]], cfg: dict[str, Any]) -> bytes:
    """SPSS .sav: SPSS-safe names, question texts as variable labels, answer codes as value labels."""
    import pyreadstat

    dm = cfg["datamap_rows"]
    names = [spss_safe(r["column_id"]) for r in dm]
    data: dict[str, list[Any]] = {}
    for j, r in enumerate(dm):
        col = [row[j] for row in rows]
        if r["type"] in ("text", "id", "datetime"):
            data[names[j]] = ["" if v is None else str(v) for v in col]
        else:
            data[names[j]] = [np.nan if v is None else float(v) for v in col]
    frame = pd.DataFrame(data)
    labels = {}
    for j, r in enumerate(dm):
        spec = parse_codes(r["codes"])
        if spec.labels and r["type"] not in ("text", "id", "datetime"):
            labels[names[j]] = {float(k): v for k, v in spec.labels.items()}
    fd, path = tempfile.mkstemp(suffix=".sav")
    os.close(fd)
    try:
        pyreadstat.write_sav(
            frame, path, column_labels=[r["question_text"][:250] for r in dm], variable_value_labels=labels
        )
        return fixed_stamp(Path(path).read_bytes())
    finally:
        os.unlink(path)


def synthesise(
    year: int, n: int | None = None, seed: int | None = None
) -> tuple[bytes, str, dict[str, int], pd.DataFrame]:
    """The export bytes, its file name, the planted counts, and the truth table (private)."""
    data, name, counts, truth, _ = _synthesise(year, n, seed, frame=False)
    return data, name, counts, truth


def frame_size(cfg: dict[str, Any], n: int | None) -> int | None:
    """How many firms were invited: the config's `invited`, scaled with `n` when the demo is resized;
    None when the year does not know (no frame is written)."""
    invited = cfg.get("invited")
    if not invited:
        return None
    default = plan_for(cfg).n_valid
    return int(invited) if n is None else max(round(int(invited) * n / default), n)


def _synthesise(
    year: int, n: int | None, seed: int | None, frame: bool
) -> tuple[bytes, str, dict[str, int], pd.DataFrame, bytes | None]:
    cfg = config_mod.load(year)
    records, counts = build_records(cfg, n, seed)
    frame_bytes = None
    size = frame_size(cfg, n) if frame else None
    if size:
        from innomon.synth.frame import build_frame, frame_csv

        valid = records[records["planted"] == ""]
        frame_bytes = frame_csv(build_frame(valid, cfg, size, plan_for(cfg, n, seed).seed))
    rows = export_frame(records, cfg)
    fmt = cfg["source"]["format"]
    writer = {"qualtrics_csv": write_qualtrics_csv, "xlsx": write_xlsx, "sav": write_sav}[fmt]
    data = writer(rows, cfg)
    name = cfg["source"]["filename"]
    truth = records[["response_id", "firm_id", "repeat", "planted"]].copy()
    return data, name, counts, truth, frame_bytes


def write_year(
    year: int, out_root: Path, n: int | None = None, seed: int | None = None, frame: bool = True
) -> dict[str, Any]:
    """Write RAW_ROOT/YEAR/<export>, the year's invitation frame beside it (when the year knows how
    many firms were invited) and a private truth file; returns a summary."""
    data, name, counts, truth, frame_bytes = _synthesise(year, n, seed, frame)
    folder = Path(out_root) / str(year)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_bytes(data)
    if frame_bytes is not None:
        cfg = config_mod.load(year)
        (folder / config_mod.frame_file(cfg)).write_bytes(frame_bytes)
    private = Path(out_root) / "_truth"
    private.mkdir(parents=True, exist_ok=True)
    truth.to_csv(private / f"truth-{year}.csv", index=False, lineterminator="\n")
    (private / f"planted-{year}.json").write_text(json.dumps(counts, indent=2, sort_keys=True) + "\n")
    return {"year": year, "path": str(folder / name), "records": len(truth), "planted": counts}
