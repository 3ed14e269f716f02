"""The words a reader sees: item, category and question labels in Dutch.

From the questionnaire (each datamap row's question text and answer codes) with the overrides of
`tables.yaml` `labels:` on top, so that every writer (workbook, charts, report draft) says the same.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from schemas.config import RunConfig
from schemas.datamap import parse_codes


@dataclass(frozen=True)
class Labels:
    """`items`: item -> label; `categories`: item -> code -> answer text; `questions`: item -> the
    question of a battery item (its text before ` - item label`), where the datamap has one."""

    items: dict[str, str] = field(default_factory=dict)
    categories: dict[str, dict[str, str]] = field(default_factory=dict)
    questions: dict[str, str] = field(default_factory=dict)

    def item(self, name: str) -> str:
        return self.items.get(name, name)

    def category(self, item: str, code: str) -> str:
        return self.categories.get(item, {}).get(str(code), str(code))


def labels_for(cfg: RunConfig) -> Labels:
    """Dutch labels from the datamaps (the current year first) and the config's overrides."""
    items: dict[str, str] = {}
    cats: dict[str, dict[str, str]] = {}
    questions: dict[str, str] = {}
    for row in cfg.all_datamap_rows:
        if row.variable in items:
            continue
        text = row.question_text
        if " - " in text:
            questions[row.variable], items[row.variable] = (part.strip() for part in text.split(" - ", 1))
        else:
            items[row.variable] = text
        codes = parse_codes(row.codes).labels
        if codes:
            cats[row.variable] = codes
    if cfg.tables is not None:  # a per-year view has no tables (and no label overrides)
        items.update(cfg.tables.labels.items)
        for key, mapping in cfg.tables.labels.categories.items():
            cats[key] = {str(k): v for k, v in mapping.items()}
    return Labels(items, cats, questions)


def item_labels(cfg: RunConfig) -> tuple[dict[str, str], dict[str, dict[str, str]]]:
    """(item labels, category labels): the two mappings most writers need."""
    labels = labels_for(cfg)
    return labels.items, labels.categories
