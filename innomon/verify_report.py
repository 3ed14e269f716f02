"""`innomon verify-report`: the authors' finished report checked against the year's latest release.

What it checks (issue 32, first version):
- **sentences the draft wrote** and the authors kept or reworded (matched to the draft's traced
  sentences, `data/concept-sentences.json`, with their numbers masked): every number against the
  figure the draft printed there, at the printed rounding; a number that is another year's value of
  the same figure is named as such; the year a comparison names; the direction words ("gestegen",
  "gedaald", "vergelijkbaar", ...) against the draft's, which follow the sign and the published
  significance;
- **every Word table** against the table of the release it was pasted from (its caption, or the
  sheet its source line names), cell by cell as the workbook and the draft print it; a number where
  the release shows `[c]` is a suppressed figure quoted.
A number in a sentence it cannot tie to a figure is counted as unverified, never as wrong.

Written by hand (no library reads Dutch statistical prose); difflib's SequenceMatcher does the fuzzy
matching.
"""

from __future__ import annotations

import difflib
import json
import re
import subprocess
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from innomon import storage
from innomon.errors import ConfigError, InputError

NUMBER = re.compile(r"(?<![\w,.])-?\d{1,3}(?:[ \u202f\u00a0]\d{3})+(?:,\d+)?%?|(?<![\w,.])-?\d+(?:,\d+)?%?")
DIRECTIONS = ("gestegen", "gedaald", "toegenomen", "afgenomen", "vergelijkbaar", "stabiel", "gelijk gebleven")
YEAR = re.compile(r"^(19|20)\d\d$")
MATCH = 0.8  # how alike a sentence must be to a traced one (numbers masked) to count as kept or reworded


@dataclass
class Block:
    """A paragraph or a table of the document, with where it is."""

    where: str
    text: str = ""
    rows: list[list[str]] | None = None
    caption: str = ""
    source: str = ""


@dataclass
class Finding:
    where: str
    verdict: str  # "wrong" or "unverified"
    what: str
    says: str
    data: str


@dataclass
class Result:
    findings: list[Finding] = field(default_factory=list)
    checked: int = 0
    agreed: int = 0
    unverified: int = 0

    @property
    def wrong(self) -> list[Finding]:
        return [f for f in self.findings if f.verdict == "wrong"]

    def summary(self) -> dict[str, Any]:
        return {
            "checked": self.checked,
            "agreed": self.agreed,
            "wrong": len(self.wrong),
            "unverified": self.unverified,
            "findings": [asdict(f) for f in self.findings],
        }


def _clean(text: str) -> str:
    return " ".join(text.replace("\u202f", " ").replace("\u00a0", " ").split())


def numbers(text: str) -> list[str]:
    """The numbers of a text as printed (thousands' spaces normalised), years included."""
    return [_clean(m.group(0)) for m in NUMBER.finditer(text)]


def _masked(text: str) -> str:
    return NUMBER.sub("#", _clean(text).lower())


def sentences(text: str) -> list[str]:
    """Sentences of a paragraph (a full stop, question or exclamation mark before a capital or digit)."""
    parts = re.split(r"(?<=[.!?])\s+(?=[A-Z0-9\u00c0-\u00dd])", _clean(text))
    return [p for p in parts if p]


# --- reading the document -----------------------------------------------------------------


def read_document(path: Path) -> list[Block]:
    """Paragraphs and tables of a .docx, paragraphs of a .pdf (pdftotext) or a plain-text file."""
    suffix = path.suffix.lower()
    if suffix == ".docx":
        return _read_docx(path)
    if suffix == ".pdf":
        try:
            text = subprocess.run(
                ["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True, timeout=300
            ).stdout
        except (OSError, subprocess.CalledProcessError) as exc:
            raise InputError("The PDF cannot be read (pdftotext, from poppler-utils).", file=str(path)) from exc
        return _read_pages(text.split("\f"))
    if suffix in (".txt", ".md", ""):
        return _read_pages([path.read_text("utf-8")], paged=False)
    raise ConfigError(f"verify-report reads .docx, .pdf and plain text, not {suffix}.")


def _read_pages(pages: list[str], paged: bool = True) -> list[Block]:
    blocks: list[Block] = []
    for p, page in enumerate(pages, start=1):
        lines = page.splitlines()
        start, buf = 0, []
        for i, line in enumerate([*lines, ""], start=1):
            if line.strip():
                if not buf:
                    start = i
                buf.append(line.strip())
            elif buf:
                where = f"pagina {p}, regel {start}" if paged else f"regel {start}"
                blocks.append(Block(where, " ".join(buf)))
                buf = []
    return blocks


def _read_docx(path: Path) -> list[Block]:
    import docx
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    document = docx.Document(str(path))
    blocks: list[Block] = []
    n_par = n_tab = 0
    last_text = ""
    for child in document.element.body.iterchildren():
        tag = child.tag.rsplit("}", 1)[-1]
        if tag == "p":
            text = Paragraph(child, document).text
            if not text.strip():
                continue
            n_par += 1
            if blocks and blocks[-1].rows is not None and not blocks[-1].source:
                blocks[-1].source = text
            blocks.append(Block(f"alinea {n_par}", text))
            last_text = text
        elif tag == "tbl":
            n_tab += 1
            table = Table(child, document)
            rows = [[_clean(cell.text) for cell in row.cells] for row in table.rows]
            blocks.append(Block(f"tabel {n_tab} (na alinea {n_par})", rows=rows, caption=last_text))
    return blocks


# --- the release ----------------------------------------------------------------------------


@dataclass
class Release:
    year: int
    run_id: str
    cells: pd.DataFrame
    traced: list[dict[str, Any]]  # the draft's sentences, each with the figures of its paragraph
    tables: list[Any]  # tasks.publish.layout.Shaped, the report's tables as the draft prints them


def load_release(store: str, year: int, published_root: str | None = None) -> Release:
    """The year's latest release: its cells, the draft's traced sentences and its tables in the
    report's shape (built from the cells by the code that built the workbook and the draft)."""
    from innomon import config as config_mod
    from schemas.cells import read_model_fit_csv, read_models_csv, read_tables_csv
    from tasks.publish.labels import labels_for
    from tasks.publish.layout import shape_model, shape_tables

    published = storage.zone_root(store, "published", {"published": published_root or ""})
    pointer_uri = storage.join(published, str(year), "latest.json")
    if not storage.exists(pointer_uri):
        raise ConfigError(f"{year} has no published release in this store.")
    run_id = str(json.loads(storage.read_bytes(pointer_uri))["run_id"])
    base = storage.join(published, str(year), "runs", run_id)
    cells = read_tables_csv(storage.read_bytes(storage.join(base, "data/tables.csv")))
    traced_uri = storage.join(base, "data/concept-sentences.json")
    traced = json.loads(storage.read_bytes(traced_uri)) if storage.exists(traced_uri) else []
    from tasks.configure.stage import resolve, with_comparison_datamaps

    # the configuration the publish step had: the comparison years' datamaps give their items' labels
    cfg = config_mod.typed(with_comparison_datamaps(resolve(year, config_mod.current_region()), year))
    shaped = list(shape_tables(cells, cfg, labels_for(cfg)))
    models = read_models_csv(storage.read_bytes(storage.join(base, "data/models.csv")))
    fits = read_model_fit_csv(storage.read_bytes(storage.join(base, "data/model_fit.csv")))
    for model in cfg.models_spec.models if cfg.models is not None else []:
        table = shape_model(model, models, fits, cfg, year)
        if table is not None:
            shaped.append(table)
    units = [
        {"text": sentence, "figures": entry["figures"]}
        for entry in traced
        if entry.get("text")
        for sentence in sentences(entry["text"])
    ]
    return Release(year, run_id, cells, units, shaped)


# --- the checks -----------------------------------------------------------------------------


def _other_years(release: Release, figure: dict[str, Any], says: str) -> int | None:
    """The year whose value of the same figure prints as `says`, if another year's does."""
    from tasks.publish.layout import display

    cells = release.cells
    same = cells[
        (cells["table_id"] == figure["table_id"])
        & (cells["group"] == figure["group"])
        & (cells["item"] == figure["item"])
        & (cells["category"].astype(str) == str(figure["category"]))
        & (cells["stat"] == figure["stat"])
        & (cells["year"] != int(figure["year"]))
        & cells["value"].notna()
    ]
    for year, value in zip(same["year"], same["value"], strict=True):
        if _clean(display(float(value), figure["format"])) == says:
            return int(year)
    return None


def check_sentence(sentence: str, where: str, release: Release, result: Result) -> None:
    """One sentence: tied to a traced sentence of the draft, or its numbers counted unverified."""
    found = numbers(sentence)
    masked = _masked(sentence)
    best, ratio = None, 0.0
    for traced in release.traced:
        matcher = difflib.SequenceMatcher(None, masked, _masked(traced["text"]))
        if matcher.quick_ratio() < MATCH:
            continue
        r = matcher.ratio()
        if r > ratio:
            best, ratio = traced, r
    if best is None or ratio < MATCH:
        result.unverified += len([n for n in found if not YEAR.match(n)])
        return
    draft = numbers(best["text"])
    printed = {_clean(f["printed"]): f for f in best["figures"]}
    ops = difflib.SequenceMatcher(None, found, draft, autojunk=False).get_opcodes()
    for op, i1, i2, j1, j2 in ops:
        if op == "equal":
            result.checked += i2 - i1
            result.agreed += i2 - i1
            continue
        says, want = found[i1:i2], draft[j1:j2]
        for k in range(max(len(says), len(want))):
            s = says[k] if k < len(says) else ""
            w = want[k] if k < len(want) else ""
            if not s:
                continue  # the authors left a number out: nothing claimed
            result.checked += 1
            figure = printed.get(w)
            if figure is not None:
                other = _other_years(release, figure, s)
                what = f"{figure['item']} ({figure['table_id']}, {figure['year']})"
                if other is not None:
                    what += f": {s} is the figure of {other}"
                result.findings.append(Finding(where, "wrong", what, s, w))
            elif YEAR.match(w) and YEAR.match(s):
                result.findings.append(Finding(where, "wrong", "the year of a comparison", s, w))
            else:
                result.checked -= 1
                result.unverified += 1
    said = [d for d in DIRECTIONS if d in sentence.lower()]
    meant = [d for d in DIRECTIONS if d in best["text"].lower()]
    if said and meant:
        result.checked += 1
        if said == meant:
            result.agreed += 1
        else:
            result.findings.append(
                Finding(where, "wrong", "the direction of a change", ", ".join(said), ", ".join(meant))
            )


def _table_for(block: Block, release: Release) -> Any:
    """The release's table a Word table was pasted from: among the tables of the sheet its source
    line names (else all), the one whose caption is most alike and whose headers it shares."""
    named = re.search(r"blad (.+?)\)", block.source or "")
    pool = [t for t in release.tables if named and t.sheet == named.group(1).strip()] or release.tables
    caption = _clean(block.caption.split(":", 1)[-1]).lower()
    header = {_clean(h) for h in (block.rows or [[]])[0]}

    def score(t: Any) -> float:
        alike = difflib.SequenceMatcher(None, caption, _clean(t.caption.split(": ", 1)[-1]).lower()).ratio()
        shared = len(header & {_clean(h) for h in t.headers}) / max(1, len(t.headers))
        return alike + shared

    best = max(pool, key=score, default=None)
    return best if best is not None and (len(pool) < len(release.tables) or score(best) >= 2 * MATCH) else None


def check_table(block: Block, release: Release, result: Result) -> None:
    """A Word table, cell by cell, against the release's table in the report's shape."""
    table = _table_for(block, release)
    rows = block.rows or []
    if table is None:
        result.unverified += sum(len(numbers(" ".join(r))) for r in rows[1:])
        return
    n_labels = len(table.row_headers)
    shown = {
        tuple(_clean(x) for x in labels): values for labels, values in zip(table.row_labels, table.cells, strict=True)
    }
    headers = [_clean(h) for h in table.column_headers]
    mine = [_clean(h) for h in rows[0][n_labels:]] if rows else []
    columns = [headers.index(h) if h in headers else None for h in mine]
    for row in rows[1:]:
        labels = tuple(row[:n_labels])
        values = shown.get(labels)
        if values is None:
            result.unverified += len(numbers(" ".join(row[n_labels:])))
            continue
        for text, col in zip(row[n_labels:], columns, strict=False):
            if col is None:
                result.unverified += len(numbers(text))
                continue
            want = _clean(values[col].text)
            result.checked += 1
            if _clean(text) == want:
                result.agreed += 1
                continue
            what = f"{table.sheet}, rij '{' / '.join(labels)}', kolom '{table.column_headers[col]}'"
            if want.startswith("[c]") and numbers(text):
                what += ": a suppressed figure quoted"
            result.findings.append(Finding(block.where, "wrong", what, _clean(text), want))


HEADING = re.compile(r"^(?:(?:Tabel|Figuur) \d+[:.]|\d+(?:\.\d+)*\.?\s)")  # a caption or numbered heading


def verify(blocks: list[Block], release: Release) -> Result:
    result = Result()
    for block in blocks:
        if block.rows is not None:
            check_table(block, release, result)
            continue
        if HEADING.match(_clean(block.text)) and len(block.text) < 160:
            continue  # a table or figure number, a section number: no figure
        for sentence in sentences(block.text):
            if numbers(sentence):
                check_sentence(sentence, block.where, release, result)
    return result


def report_lines(result: Result, path: Path, release: Release) -> list[str]:
    lines = [f"verify-report {path.name} against release {release.run_id} of {release.year}"]
    for f in result.findings:
        lines.append(f"  {f.verdict.upper()} {f.where}: {f.what}: the text says {f.says!r}, the data {f.data!r}")
    lines.append(
        f"  claims checked: {result.checked}, agreed: {result.agreed}, wrong: {len(result.wrong)}, "
        f"not tied to a figure: {result.unverified}"
    )
    return lines
