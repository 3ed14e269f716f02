"""Data minimisation at the door (issue 30, point 2): an export with the platform's IP address,
location and recipient columns is archived with those columns emptied, in its own format; what the
pipeline reads of it is unchanged (its shape too: every diagnosis of a malformed export stays the
same); the data freeze still pins the export as received."""

from __future__ import annotations

import csv
import hashlib
import io
import os
import tempfile
from pathlib import Path

import pandas as pd
import pytest

from innomon import config, storage
from innomon.errors import InputError
from innomon.exports import minimise, read_export
from tasks.configure.stage import export_columns
from tasks.fetch.stage import fetch

EXTRA = {
    "IPAddress": "192.0.2.177",
    "LocationLatitude": "53.219417",
    "LocationLongitude": "6.566502",
    "RecipientFirstName": "Xanthippe",
    "RecipientLastName": "Quaadvliegh",
    "RecipientEmail": "xanthippe.quaadvliegh@example.invalid",
}


def _with_extras_csv(data: bytes) -> bytes:
    """The 2023 Qualtrics CSV (three header rows) with the platform's extra columns inserted."""
    text = data.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text, newline="")))
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    for i, row in enumerate(rows):
        extra = (
            list(EXTRA)
            if i == 0
            else [k for k in EXTRA]
            if i == 1
            else ([f'{{"ImportId":"{k}"}}' for k in EXTRA] if i == 2 else list(EXTRA.values()))
        )
        writer.writerow(row[:3] + extra + row[3:])
    return b"\xef\xbb\xbf" + out.getvalue().encode("utf-8")


def _with_extras_frame(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.assign(**{k: [v] * len(frame) for k, v in EXTRA.items()})


def _with_extras_xlsx(data: bytes) -> bytes:
    frame = _with_extras_frame(pd.read_excel(io.BytesIO(data), dtype=str))
    buf = io.BytesIO()
    frame.to_excel(buf, index=False)
    return buf.getvalue()


def _with_extras_sav(data: bytes) -> bytes:
    import pyreadstat

    with tempfile.TemporaryDirectory() as folder:
        src, dst = Path(folder) / "in.sav", Path(folder) / "out.sav"
        src.write_bytes(data)
        df, meta = pyreadstat.read_sav(src, apply_value_formats=False)
        pyreadstat.write_sav(_with_extras_frame(df), dst, variable_value_labels=meta.variable_value_labels)
        return dst.read_bytes()


CASES = {
    2021: ("innovatiemonitor-2021.xlsx", _with_extras_xlsx),
    2022: ("innovatiemonitor-2022.sav", _with_extras_sav),
    2023: ("innovatiemonitor-2023.csv", _with_extras_csv),
}


@pytest.mark.parametrize("year", sorted(CASES))
def test_the_platforms_extra_columns_never_reach_the_archive(year: int, exports: Path) -> None:
    name, add_extras = CASES[year]
    received = add_extras((exports / str(year) / name).read_bytes())
    keep = set(export_columns(config.load_typed(year)))
    before = read_export(received, name)
    assert set(EXTRA) <= set(before.frame.columns)
    kept = minimise(received, name, keep)
    after = read_export(kept, name)
    assert list(after.frame.columns) == list(before.frame.columns) and len(after.frame) == len(before.frame)
    for column in EXTRA:
        assert (after.frame[column] == "").all(), column
    for value in EXTRA.values():  # not in the bytes either (a ZIP member, a SAV record, a CSV cell)
        assert value.encode() not in kept
        if name.endswith(".xlsx"):
            import zipfile

            with zipfile.ZipFile(io.BytesIO(kept)) as z:
                assert all(value.encode() not in z.read(n) for n in z.namelist())
    columns = [c for c in before.frame.columns if c in keep]
    pd.testing.assert_frame_equal(before.frame[columns], after.frame[columns])
    assert after.value_labels == {k: v for k, v in before.value_labels.items() if k in keep}
    assert minimise(received, name, keep) == kept  # the same export, the same archived bytes
    assert minimise(kept, name, keep) == kept


def test_fetch_archives_the_minimised_export_and_freezes_the_received_one(exports: Path, tmp_path: Path) -> None:
    raw_root = tmp_path / "raw"
    (raw_root / "2023").mkdir(parents=True)
    received = _with_extras_csv((exports / "2023" / "innovatiemonitor-2023.csv").read_bytes())
    (raw_root / "2023" / "innovatiemonitor-2023.csv").write_bytes(received)
    original = hashlib.sha256(received).hexdigest()
    raw_zone = storage.join(storage.as_uri(tmp_path / "store"), "raw")
    keep = export_columns(config.load_typed(2023))
    uri = storage.join(storage.as_uri(raw_root), "2023", "innovatiemonitor-2023.csv")
    ref = fetch(uri, 2023, raw_zone, original, None, False, keep)  # frozen at the export as received
    assert ref["original_sha256"] == original != ref["sha256"]
    archived = storage.read_bytes(ref["uri"])
    assert hashlib.sha256(archived).hexdigest() == ref["sha256"] and ref["uri"].endswith(f"{ref['sha256']}.csv")
    stored = b"".join(p.read_bytes() for p in (tmp_path / "store").rglob("*") if p.is_file())
    assert not any(v.encode() in stored for v in EXTRA.values())
    with pytest.raises(InputError, match="frozen"):
        fetch(uri, 2023, raw_zone, hashlib.sha256(archived).hexdigest(), None, False, keep)


def test_a_row_that_held_only_dropped_answers_stays_a_row() -> None:
    """A response whose only cells were in dropped columns keeps its row (a marker, no content), so
    that the rows after it keep their numbers in every later message."""
    export = b"ResponseId,Q1,IPAddress\r\nR_1,a,192.0.2.1\r\n,,192.0.2.2\r\nR_3,c,192.0.2.3\r\n"
    kept = minimise(export, "export.csv", {"ResponseId", "Q1"})
    assert kept == b"ResponseId,Q1,IPAddress\r\nR_1,a,\r\n,,-\r\nR_3,c,\r\n"
    assert len(read_export(kept, "export.csv").frame) == len(read_export(export, "export.csv").frame) == 3


def test_a_broken_export_is_refused_at_the_door(tmp_path: Path) -> None:
    ragged = b"ResponseId,Q1,IPAddress\r\nR_1,a\r\n"
    with pytest.raises(InputError) as err:
        minimise(ragged, "export.csv", {"ResponseId", "Q1"})
    assert err.value.rule == "ragged_row" and err.value.row == 2
    assert os.environ.get("INNOMON_DEMO") == "1"  # synthetic data only, as every test
