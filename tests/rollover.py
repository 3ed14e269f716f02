"""A new monitor year added through configuration alone, as an operator does each spring: 2024 with
one item renumbered, a new item (`tech_quantum`), a dropped item (`tech_blockchain`), its own close
date and invited count. Used by the rollover test and the configuration-mistake battery."""

from __future__ import annotations

import csv
import io
import shutil
from pathlib import Path

from innomon import config

YEAR_2024 = """\
year: 2024
reference_period: "2021-2023"
source:
  filename: innovatiemonitor-2024.csv
  format: qualtrics_csv
datamap: datamaps/datamap-2024.csv
fieldwork:
  close: "2024-06-14"
invited: 11900
comparison_years: [2023, 2022]
breaks:
  no_subsidy: [2023]
synth:
  seed: 2024
  n_valid: 402
  repeat_from_previous: 58
  planted:
    preview: 2
    test: 1
    incomplete: 12
    outside_region: 4
    not_sme: 1
    duplicate: 2
  overig_share: 0.05
"""


def datamap_2024(rows_2023: list[dict[str, str]]) -> list[dict[str, str]]:
    """2023's datamap with `delivery_focus` renumbered (Q32 -> Q33), `tech_blockchain` dropped and
    `tech_quantum` (Q21_14) added after `tech_hydrogen`."""
    out: list[dict[str, str]] = []
    for row in rows_2023:
        if row["variable"] == "tech_blockchain":
            continue
        row = dict(row)
        if row["variable"] == "delivery_focus":
            row["column_id"] = "Q33"
        out.append(row)
        if row["variable"] == "tech_hydrogen":
            out.append(
                {
                    **row,
                    "column_id": "Q21_14",
                    "variable": "tech_quantum",
                    "question_text": row["question_text"].rsplit(" - ", 1)[0] + " - Quantumtechnologie",
                }
            )
    return out


def write_datamap(path: Path, rows: list[dict[str, str]]) -> None:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    path.write_text(buf.getvalue(), encoding="utf-8")


def config_with_2024(root: Path) -> Path:
    """A copy of the project's configs with 2024 added (three files touched, no code)."""
    cdir = root / "configs"
    shutil.copytree(config.config_dir(), cdir)
    (cdir / "2024.yaml").write_text(YEAR_2024, encoding="utf-8")
    rows = list(csv.DictReader(io.StringIO((cdir / "datamaps" / "datamap-2023.csv").read_text("utf-8-sig"))))
    write_datamap(cdir / "datamaps" / "datamap-2024.csv", datamap_2024(rows))
    text = (cdir / "tables.yaml").read_text(encoding="utf-8")
    assert "tech_photonics, tech_hydrogen]" in text
    (cdir / "tables.yaml").write_text(
        text.replace("tech_photonics, tech_hydrogen]", "tech_photonics, tech_hydrogen, tech_quantum]"), encoding="utf-8"
    )
    return cdir
