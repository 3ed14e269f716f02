"""`datapackage.json` (Data Package v2) beside the release's tidy data, and `data/labels.csv`, the
Dutch labels of the items and answer codes the tables name.

A re-user's program reads the CSV files with the types, units and codes declared here: which
values a column holds, what an empty `value` means (the cell's `flag` says why), the labels of the
statistics, tables, flags and significance marks. The files' sizes and SHA-256 are those of the
bytes in the release. Written by hand as a dict (frictionless validates it in the tests): the
package is small and its form is the standard's.
"""

from __future__ import annotations

import json
from typing import Any

import pandas as pd

from innomon.hashing import sha256_bytes
from schemas.cells import COLUMNS
from schemas.config import RunConfig

PROFILE = "https://datapackage.org/profiles/2.0/datapackage.json"
TABLE_SCHEMA = "https://datapackage.org/profiles/2.0/tableschema.json"
FLAGS = {
    "c": "onderdrukt ter bescherming van afzonderlijke bedrijven (value leeg, n gegeven)",
    "x": "niet gevraagd in dat jaar (value leeg)",
    "b": "breuk in de reeks: de vraag is dat jaar anders gemeten",
    "r": "herzien: wijkt af van de eigen laatste publicatie van dat jaar",
}
SIG = {"s": "significant verschil met het vorige jaar (p < 0,05)", "ns": "geen significant verschil"}


def labels_csv(cfg: RunConfig) -> bytes:
    """data/labels.csv: item, category ("" for the item itself), label; sorted, so the same
    configuration gives the same bytes."""
    from tasks.publish.labels import labels_for

    labels = labels_for(cfg)
    rows = [(item, "", text) for item, text in labels.items.items()]
    rows += [(item, code, text) for item, codes in labels.categories.items() for code, text in codes.items()]
    frame = pd.DataFrame(sorted(set(rows)), columns=["item", "category", "label"])
    return frame.to_csv(index=False, lineterminator="\n").encode("utf-8")


def _field(name: str, kind: str, description: str, **extra: Any) -> dict[str, Any]:
    return {"name": name, "type": kind, "description": description, **extra}


def _tables_schema(cfg: RunConfig, cells: pd.DataFrame) -> dict[str, Any]:
    from tasks.publish.layout import STAT_LABELS

    titles = {t.id: f"{t.report}: {t.title}".strip(": ") for t in cfg.table_specs}
    stats = sorted(set(cells["stat"]))
    fields = [
        _field(
            "table_id",
            "string",
            "De tabel (het blad van de werkmap).",
            categories=[{"value": t, "label": titles.get(t, t)} for t in sorted(set(cells["table_id"]))],
        ),
        _field("year", "integer", "Het monitorjaar van het cijfer."),
        _field("group", "string", "'all', of DIMENSIE=GROEP van een uitsplitsing (bijv. size_class=micro)."),
        _field("item", "string", "De vraag of afgeleide variabele; labels in data/labels.csv."),
        _field("category", "string", "De antwoordcode (leeg bij een gemiddelde); labels in data/labels.csv."),
        _field(
            "stat",
            "string",
            "De statistiek.",
            categories=[{"value": s, "label": STAT_LABELS.get(s, s)} for s in stats],
        ),
        _field(
            "value",
            "number",
            "Het cijfer, onafgerond: een percentage (pct, pct_top, pct_w: eenheid procent), een gemiddelde in de "
            "eenheid van de vraag (schaalscore, % van de omzet, fte, jaren), een aantal of een toetsgrootheid. "
            "Leeg als het cijfer onderdrukt (flag c) of niet gevraagd (flag x) is.",
        ),
        _field("n", "integer", "De basis: het aantal bedrijven waarop het cijfer rust.", constraints={"minimum": 0}),
        _field("ci_low", "number", "Ondergrens van het 95%-interval (Wilson of t), in de eenheid van value."),
        _field("ci_high", "number", "Bovengrens van het 95%-interval, in de eenheid van value."),
        _field(
            "flag",
            "string",
            "Status van het cijfer, nul of meer codes: " + "; ".join(f"{k} = {v}" for k, v in FLAGS.items()) + ".",
            constraints={"pattern": "^[" + "".join(FLAGS) + "]*$"},
        ),
        _field(
            "sig",
            "string",
            "Toets op verschil met het vorige jaar; leeg waar niet getoetst (een basis te klein, een van "
            "beide cijfers onderdrukt, of geen vorig jaar).",
            categories=[{"value": k, "label": v} for k, v in SIG.items()],
        ),
    ]
    assert [f["name"] for f in fields] == COLUMNS, "the package describes data/tables.csv's own columns"
    return {
        "$schema": TABLE_SCHEMA,
        "fields": fields,
        "missingValues": [""],
        "primaryKey": ["table_id", "year", "group", "item", "category", "stat"],
    }


def _models_schema() -> dict[str, Any]:
    return {
        "$schema": TABLE_SCHEMA,
        "fields": [
            _field("model_id", "string", "Het model (M1-M4)."),
            _field("year", "integer", "Het monitorjaar."),
            _field("term", "string", "De term van het model (Intercept, een covariaat of een categorie)."),
            _field("estimate", "number", "De schatting (OLS-coëfficiënt, of logit: log-odds)."),
            _field("std_error", "number", "De standaardfout."),
            _field("p_value", "number", "De p-waarde."),
            _field("ci_low", "number", "Ondergrens van het 95%-interval."),
            _field("ci_high", "number", "Bovengrens van het 95%-interval."),
        ],
        "missingValues": [""],
        "primaryKey": ["model_id", "year", "term"],
    }


def _fit_schema() -> dict[str, Any]:
    return {
        "$schema": TABLE_SCHEMA,
        "fields": [
            _field("model_id", "string", "Het model."),
            _field("year", "integer", "Het monitorjaar."),
            _field("statistic", "string", "status, n, covariance, r2, adj_r2, *_r2, reason of merged."),
            _field("value", "string", "Een getal, of tekst bij status, covariance, reason en merged."),
        ],
        "missingValues": [""],
        "primaryKey": ["model_id", "year", "statistic"],
    }


def _labels_schema() -> dict[str, Any]:
    return {
        "$schema": TABLE_SCHEMA,
        "fields": [
            _field("item", "string", "De vraag of afgeleide variabele."),
            _field("category", "string", "De antwoordcode; leeg voor het label van de vraag zelf."),
            _field("label", "string", "Het Nederlandse label."),
        ],
        "missingValues": [],
        "primaryKey": ["item", "category"],
    }


def datapackage_json(cfg: RunConfig, files: dict[str, bytes], meta: dict[str, Any]) -> bytes:
    """The package of the release's tidy files (which must be in `files`)."""
    from schemas.cells import read_tables_csv

    cells = read_tables_csv(files["data/tables.csv"])
    schemas = {
        "data/tables.csv": ("tables", "De cijfers van alle tabellen, een rij per cijfer.", _tables_schema(cfg, cells)),
        "data/models.csv": ("models", "De coëfficiënten van de regressiemodellen.", _models_schema()),
        "data/model_fit.csv": ("model-fit", "Fitstatistieken en status van de modellen.", _fit_schema()),
        "data/labels.csv": ("labels", "Labels van vragen en antwoordcodes.", _labels_schema()),
    }
    resources = []
    for path, (name, title, schema) in schemas.items():
        data = files[path]
        resources.append(
            {
                "name": name,
                "path": path,
                "title": title,
                "type": "table",
                "format": "csv",
                "mediatype": "text/csv",
                "encoding": "utf-8",
                "bytes": len(data),
                "hash": f"sha256:{sha256_bytes(data)}",
                "dialect": {"delimiter": ",", "header": True},
                "schema": schema,
            }
        )
    package = {
        "$schema": PROFILE,
        "name": f"innovatiemonitor-{cfg.year}",
        "title": f"{cfg.monitor.title} {cfg.year}",
        "description": "De tabellen en modellen van de release als tidy data; run " + str(meta["run_id"]) + ".",
        "created": f"{meta['publication_date']}T00:00:00Z",  # the publication date: no clock in the bytes
        "resources": resources,
    }
    return json.dumps(package, indent=2, ensure_ascii=False).encode("utf-8") + b"\n"
