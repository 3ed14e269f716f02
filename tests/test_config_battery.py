"""Configuration mistakes an operator plausibly makes when adding a year: each is refused before
anything runs, with exit 2 and one sentence naming the file, the key and the rule; nothing is
published. The year added is 2024 (tests/rollover.py), through configuration alone."""

from __future__ import annotations

import csv
import io
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from innomon.cli import main
from tests.helpers import edit_yaml, tree_hashes
from tests.rollover import config_with_2024, write_datamap


def _year(edit: Callable[[dict], None]) -> Callable[[Path], None]:
    return lambda cdir: edit_yaml(cdir / "2024.yaml", edit)


def _base(edit: Callable[[dict], None]) -> Callable[[Path], None]:
    return lambda cdir: edit_yaml(cdir / "base.yaml", edit)


def _text(name: str, old: str, new: str) -> Callable[[Path], None]:
    def change(cdir: Path) -> None:
        path = cdir / name
        text = path.read_text(encoding="utf-8")
        assert old in text, (name, old)
        path.write_text(text.replace(old, new, 1), encoding="utf-8")

    return change


def _datamap(edit: Callable[[list[dict[str, str]]], list[dict[str, str]]]) -> Callable[[Path], None]:
    def change(cdir: Path) -> None:
        path = cdir / "datamaps" / "datamap-2024.csv"
        rows = list(csv.DictReader(io.StringIO(path.read_text("utf-8"))))
        write_datamap(path, edit(rows))

    return change


def _close(value: object) -> Callable[[Path], None]:
    return _year(lambda d: d["fieldwork"].update(close=value))


def _duplicate_variable(rows: list[dict[str, str]]) -> list[dict[str, str]]:
    """The new item's row copied from tech_hydrogen, its variable name left unchanged."""
    return [dict(r, variable="tech_hydrogen") if r["variable"] == "tech_quantum" else r for r in rows]


def _duplicate_column(rows: list[dict[str, str]]) -> list[dict[str, str]]:
    return [dict(r, column_id="Q21_13") if r["variable"] == "tech_quantum" else r for r in rows]


def _set(rows: list[dict[str, str]], name: str, **values: str) -> list[dict[str, str]]:
    return [dict(r, **values) if r["variable"] == name else r for r in rows]


# name: (mistake, file named, key named, words of the rule)
MISTAKES: dict[str, tuple[Callable[[Path], None], str, str, str]] = {
    "close_dutch_day_month": (_close("05-06-2024"), "2024.yaml", "fieldwork.close", "not an ISO 8601 date"),
    "close_dutch_10_06": (_close("10-06-2024"), "2024.yaml", "fieldwork.close", "YYYY-MM-DD"),
    "close_slashes": (_close("14/06/2024"), "2024.yaml", "fieldwork.close", "not an ISO 8601 date"),
    "close_impossible_day": (_close("2024-06-31"), "2024.yaml", "fieldwork.close", "not a date of the calendar"),
    "close_month_name": (_close("14 juni 2024"), "2024.yaml", "fieldwork.close", "not an ISO 8601 date"),
    "close_time_without_zone": (_close("2024-06-14T23:59:59"), "2024.yaml", "fieldwork.close", "no zone"),
    "close_copied_from_last_year": (_close("2023-06-30"), "2024.yaml", "fieldwork.close", "not in monitor year 2024"),
    "close_as_number": (_close(20240614), "2024.yaml", "fieldwork.close", "not a date"),
    "fieldwork_key_typo": (
        _year(lambda d: d.update(fieldwork={"closes": "2024-06-14"})),
        "2024.yaml",
        "fieldwork.closes",
        "did you mean 'close'",
    ),
    "invited_dutch_thousands": (
        _year(lambda d: d.update(invited="11.900")),
        "2024.yaml",
        "invited",
        "not a whole number",
    ),
    "invited_left_out": (_year(lambda d: d.pop("invited")), "2024.yaml", "invited", "write null if it is unknown"),
    "reference_period_left_out": (
        _year(lambda d: d.pop("reference_period")),
        "2024.yaml",
        "reference_period",
        "is required",
    ),
    "reference_period_free_text": (
        _year(lambda d: d.update(reference_period="2021 t/m 2023")),
        "2024.yaml",
        "reference_period",
        "required form",
    ),
    "comparison_years_as_text": (
        _year(lambda d: d.update(comparison_years="2023, 2022")),
        "2024.yaml",
        "comparison_years",
        "not a list",
    ),
    "comparison_year_not_configured": (
        _year(lambda d: d.update(comparison_years=[2023, 2019])),
        "2024.yaml",
        "comparison_years",
        "2019 has no configuration",
    ),
    "comparison_year_in_the_future": (
        _year(lambda d: d.update(comparison_years=[2024, 2023])),
        "2024.yaml",
        "comparison_years",
        "not before 2024",
    ),
    "year_copied_from_last_year": (_year(lambda d: d.update(year=2023)), "2024.yaml", "year", "says 2023"),
    "top_level_key_typo": (
        _year(lambda d: d.update(comparision_years=d.pop("comparison_years"))),
        "2024.yaml",
        "comparision_years",
        "did you mean 'comparison_years'",
    ),
    "source_format_unknown": (
        _year(lambda d: d["source"].update(format="csv")),
        "2024.yaml",
        "source.format",
        "not allowed",
    ),
    "source_key_typo": (
        _year(lambda d: d["source"].update(filenme=d["source"].pop("filename"))),
        "2024.yaml",
        "source.filenme",
        "did you mean 'filename'",
    ),
    "datamap_file_missing": (
        _year(lambda d: d.update(datamap="datamaps/datamap-2042.csv")),
        "2024.yaml",
        "datamap",
        "does not exist",
    ),
    "sha256_pin_truncated": (
        _year(lambda d: d["source"].update(sha256="9f615a195e16")),
        "2024.yaml",
        "source.sha256",
        "required form",
    ),
    "publication_date_dutch": (
        _year(lambda d: d.update(publish={"date": "1-7-2024"})),
        "2024.yaml",
        "publish.date",
        "not an ISO 8601 date",
    ),
    "base_threshold_as_text": (
        _base(lambda d: d["thresholds"].update(suppression_min_n="10")),
        "base.yaml",
        "thresholds.suppression_min_n",
        "not a whole number",
    ),
    "base_probability_above_one": (
        _base(lambda d: d["linking"].update(accept=1.5)),
        "base.yaml",
        "linking.accept",
        "less than or equal to 1",
    ),
    "base_rule_name_typo": (
        _base(lambda d: d["validation"]["levels"].update(routing_violaton="file")),
        "base.yaml",
        "validation.levels.routing_violaton",
        "not allowed",
    ),
    "base_task_runner_typo": (
        _base(lambda d: d["execution"].update(task_runner="daks")),
        "base.yaml",
        "execution.task_runner",
        "not allowed",
    ),
    "model_reference_outside_region": (
        _base(lambda d: d["region"].update(model_reference="Utrecht")),
        "base.yaml",
        "region.model_reference",
        "not one of region.provinces",
    ),
    "sector_group_unknown": (
        _base(lambda d: d["sectors"]["by_section"].update(M="advies")),
        "base.yaml",
        "sectors.by_section.M",
        "not in sectors.order",
    ),
    "datamap_variable_twice": (
        _datamap(_duplicate_variable),
        "datamap-2024.csv",
        "column variable",
        "'tech_hydrogen' is already on row",
    ),
    "datamap_column_twice": (
        _datamap(_duplicate_column),
        "datamap-2024.csv",
        "column column_id",
        "'Q21_13' is already on row",
    ),
    "datamap_type_typo": (
        _datamap(lambda rows: _set(rows, "tech_quantum", type="likret")),
        "datamap-2024.csv",
        "column type",
        "not allowed",
    ),
    "datamap_variable_with_space": (
        _datamap(lambda rows: _set(rows, "tech_quantum", variable="tech quantum")),
        "datamap-2024.csv",
        "column variable",
        "required form",
    ),
    "tables_item_typo": (
        _text("tables.yaml", "tech_hydrogen, tech_quantum]", "tech_hydrogen, tech_quantom]"),
        "tables.yaml",
        "tables[T13].items[13]",
        "did you mean 'tech_quantum'",
    ),
    "new_item_datamap_row_forgotten": (
        _datamap(lambda rows: [r for r in rows if r["variable"] != "tech_quantum"]),
        "tables.yaml",
        "tables[T13].items[13]",
        "'tech_quantum' is neither a datamap variable",
    ),
    "tables_universe_typo": (
        _text("tables.yaml", "universe: innovator\n", "universe: inovator\n"),
        "tables.yaml",
        ".universe",
        "did you mean 'innovator'",
    ),
    "tables_universe_expression_typo": (
        _text("tables.yaml", 'innovator: "innovator == 1"', 'innovator: "innovater == 1"'),
        "tables.yaml",
        "universes.innovator",
        "uses 'innovater'",
    ),
    "tables_stat_typo": (
        _text("tables.yaml", "stats: [pct]", "stats: [pcnt]"),
        "tables.yaml",
        "tables[T01].stats[0]",
        "not allowed",
    ),
    "tables_breakdown_typo": (
        _text("tables.yaml", "by: [pyramid, age_class, size_class]", "by: [pyramid, age_class, size_clas]"),
        "tables.yaml",
        "tables[T08].by[2]",
        "did you mean 'size_class'",
    ),
    "item_of_another_table": (
        _text("tables.yaml", "tech_hydrogen, tech_quantum]", "tech_hydrogen, tech_quantum, barrier_time]"),
        "tables.yaml",
        "tables[T13].items",
        "'barrier_time' answers another question",
    ),
    "table_id_twice": (
        _text("tables.yaml", "id: T03\n", "id: T02\n"),
        "tables.yaml",
        "tables[T02].id",
        "occurs twice",
    ),
    "chart_of_a_missing_stat": (
        _text("tables.yaml", 'chart: {kind: bar, stat: pct_top, category: "4"}', "chart: {kind: bar, stat: pct}"),
        "tables.yaml",
        "tables[T08].chart.stat",
        "not one of the table's stats",
    ),
    "layout_leaves_the_statistic_out": (
        _text(
            "tables.yaml",
            "layout: {rows: [item], columns: [stat, year], stat_labels: {pct_top: Percentage grote",
            "layout: {rows: [item], columns: [year], stat_labels: {pct_top: Percentage grote",
        ),
        "tables.yaml",
        "tables[T08].layout",
        "put stat in rows or columns",
    ),
    "layout_names_a_dimension_twice": (
        _text("tables.yaml", "layout: {rows: [item], columns: [year]}", "layout: {rows: [item], columns: [item]}"),
        "tables.yaml",
        "tables[T06].layout",
        "item is laid out twice",
    ),
    "layout_dimension_typo": (
        _text(
            "tables.yaml", "layout: {rows: [year], columns: [category]}", "layout: {rows: [years], columns: [category]}"
        ),
        "tables.yaml",
        "tables[T01].layout.rows[0]",
        "not allowed",
    ),
    "layout_label_of_another_tables_item": (
        _text("tables.yaml", "item_labels: {protect_patents:", "item_labels: {protect_patent:"),
        "tables.yaml",
        "tables[T25P].layout.item_labels.protect_patent",
        "not an item of the table",
    ),
    "outline_names_an_unknown_table": (
        _text("report/outline.yaml", "          - table: T19\n", "          - table: T91\n"),
        "outline.yaml",
        "chapters[5].sections[0].content[0].table",
        "'T91' is not a table of tables.yaml",
    ),
    "outline_sentence_unclosed": (
        _text("report/outline.yaml", "{{ top('T17', 2) | listing }}.", "{{ top('T17', 2) | listing }."),
        "outline.yaml",
        "chapters[4].sections[0].content[0].text",
        "not a valid template",
    ),
    "outline_block_of_two_kinds": (
        _text("report/outline.yaml", "          - table: T18\n", "          - table: T18\n            chart: T18\n"),
        "outline.yaml",
        "chapters[4].sections[1].content[0]",
        "one of text, table, chart or model",
    ),
    "model_term_typo": (
        _text("models.yaml", "radical ~ protect_patents", "radical ~ protect_patent"),
        "models.yaml",
        "models[M1].formula",
        "did you mean 'protect_patents'",
    ),
    "model_method_unknown": (
        _text("models.yaml", "method: logit", "method: glm"),
        "models.yaml",
        "models[M3].method",
        "not allowed",
    ),
    "weighting_margin_typo": (
        _text("base.yaml", "margins: [province, size_class, sector]", "margins: [province, size, sector]"),
        "base.yaml",
        "weighting.margins",
        "not allowed",
    ),
    "weighting_indicator_not_a_table": (
        _text("tables.yaml", "indicators: [K02, T01, T06, T08, T17]", "indicators: [K02, T01, T06, T80, T17]"),
        "tables.yaml",
        "tables[R02].indicators[3]",
        "'T80' is no table id",
    ),
    # Values that would turn the configuration against the system (issue 29): refused like a typo.
    "source_base_url_not_https": (
        _year(lambda d: d["source"].update(kind="qualtrics", survey_id="SV_1", base_url="http://any.host")),
        "2024.yaml",
        "source.base_url",
        "does not have the required form",
    ),
    "source_base_url_not_on_the_allowlist": (
        _year(lambda d: d["source"].update(kind="qualtrics", survey_id="SV_1", base_url="https://any.host/API")),
        "2024.yaml",
        "source.base_url",
        "not on the allowlist INNOMON_SOURCE_HOSTS",
    ),
    "source_token_env_names_another_secret": (
        _year(lambda d: d["source"].update(token_env="AWS_SECRET_ACCESS_KEY")),
        "2024.yaml",
        "source.token_env",
        "does not have the required form",
    ),
    "retention_shorter_than_a_runs_window": (
        _base(lambda d: d["retention"].update(identities_years=1)),
        "base.yaml",
        "retention.identities_years",
        "greater than or equal to 3",
    ),
    "linking_key_env_names_another_secret": (
        _base(lambda d: d["linking"].update(key_env="AWS_SECRET_ACCESS_KEY")),
        "base.yaml",
        "linking.key_env",
        "does not have the required form",
    ),
    "source_filename_climbs_out": (
        _year(lambda d: d["source"].update(filename="../2023/innovatiemonitor-2023.csv")),
        "2024.yaml",
        "source.filename",
        "climbs out of its folder",
    ),
    "workbook_name_climbs_out": (
        _base(lambda d: d["publish"].update(workbook_name="../../../index.html")),
        "base.yaml",
        "publish.workbook_name",
        "climbs out of its folder",
    ),
    "corrections_file_absolute": (
        _base(lambda d: d["validation"].update(corrections_file="/etc/passwd")),
        "base.yaml",
        "validation.corrections_file",
        "is absolute",
    ),
    "reviewed_file_with_a_scheme": (
        _base(lambda d: d["linking"].update(reviewed_file="s3://another-bucket/reviewed.csv")),
        "base.yaml",
        "linking.reviewed_file",
        "has a scheme",
    ),
    "frame_file_names_a_folder": (
        _base(lambda d: d["weighting"].update(frame_file="../frames/frame-{year}.csv")),
        "base.yaml",
        "weighting.frame_file",
        "climbs out of its folder",
    ),
    "datamap_absolute": (
        _year(lambda d: d.update(datamap="/tmp/datamap-2024.csv")),
        "2024.yaml",
        "datamap",
        "is absolute",
    ),
    "suppression_below_the_floor": (
        _base(lambda d: d["thresholds"].update(suppression_min_n=0)),
        "base.yaml",
        "thresholds.suppression_min_n",
        "greater than or equal to 5",
    ),
    "no_protection_width": (
        _base(lambda d: d["thresholds"].update(protection_pp=0)),
        "base.yaml",
        "thresholds.protection_pp",
        "greater than or equal to 1",
    ),
    "frequency_rule_off_by_a_large_count": (
        _base(lambda d: d["thresholds"].update(frequency_max_count=50)),
        "base.yaml",
        "thresholds.frequency_max_count",
        "less than or equal to 5",
    ),
    "dominance_item_that_is_not_a_name": (
        _base(lambda d: d["thresholds"].update(dominance_items=["fte; rm -rf /"])),
        "base.yaml",
        "thresholds.dominance_items",
        "does not have the required form",
    ),
    "dominance_item_misspelt": (
        _base(lambda d: d["thresholds"].update(dominance_items=["ftee"])),
        "base.yaml",
        "thresholds.dominance_items",
        "'ftee' is in no datamap",
    ),
    "link_expiry_beyond_seven_days": (
        _base(lambda d: d["publish"].update(link_expiry_seconds=604801)),
        "base.yaml",
        "publish.link_expiry_seconds",
        "less than or equal to 604800",
    ),
    "yaml_syntax_error": (
        _text("2024.yaml", "comparison_years:", "comparison_years: [2023\nbroken:"),
        "2024.yaml",
        "not valid YAML: line",
        "column",
    ),
    "region_profile_key_typo": (
        _text("regions/national.yaml", "region:\n  name:", "regoin:\n  name:"),
        "national.yaml",
        "regoin",
        "did you mean 'region'",
    ),
}


@pytest.fixture(scope="module")
def published(demo: dict, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store holding the demo's published zone (a copy): what a refused run must leave alone."""
    store = tmp_path_factory.mktemp("refused") / "store"
    shutil.copytree(demo["store"] / "published", store / "published")
    return store


def test_at_least_thirty_mistakes() -> None:
    assert len(MISTAKES) >= 30


@pytest.mark.parametrize("name", sorted(MISTAKES))
def test_mistake_is_refused_before_anything_runs(
    name: str, published: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    mistake, file, key, rule = MISTAKES[name]
    cdir = config_with_2024(tmp_path)
    mistake(cdir)
    monkeypatch.setenv("INNOMON_CONFIG_DIR", str(cdir))
    if "national.yaml" in file:
        monkeypatch.setenv("INNOMON_REGION", "national")
    before = tree_hashes(published)
    code = main(["run", "--year", "2024", "--raw-root", str(tmp_path / "exports"), "--store", str(published)])
    err = capsys.readouterr().err.strip()
    assert code == 2, err
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    assert file in err and key in err and rule in err, err
    assert tree_hashes(published) == before

    code = main(["check", "--year", "2024"])  # the operator's own check says the same
    said = capsys.readouterr()
    out = said.out or said.err  # a file that does not parse is one error line, not a list of checks
    assert code == 2 and file in out and key in out and rule in out, out


def test_the_correct_2024_configuration_is_accepted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    """The mistakes above are mistakes: the same files without them pass, and `innomon check` lists
    what changed in the questionnaire against 2023."""
    monkeypatch.setenv("INNOMON_CONFIG_DIR", str(config_with_2024(tmp_path)))
    assert main(["check", "--year", "2024"]) == 0
    out = capsys.readouterr().out
    assert "+ tech_quantum (Q21_14): new in 2024" in out
    assert "- tech_blockchain (Q21_6): asked in 2023, not in 2024" in out
    assert "~ delivery_focus: column Q32 in 2023, Q33 in 2024" in out
    assert "accepted (0 errors" in out


def test_an_unquoted_close_date_is_the_end_of_that_day(tmp_path: Path) -> None:
    """YAML reads `close: 2024-06-14` as a date: accepted, and like the quoted date it closes at the
    end of 14 June (Amsterdam), not at its first moment."""
    import datetime as dt

    from innomon import config
    from schemas.config import close_cutoff

    cdir = config_with_2024(tmp_path)
    _text("2024.yaml", 'close: "2024-06-14"', "close: 2024-06-14")(cdir)
    cfg = config.load(2024, cdir)
    assert cfg["fieldwork"]["close"] == "2024-06-14"
    assert close_cutoff(cfg["fieldwork"]["close"]) == dt.datetime(2024, 6, 15, 0, 0)
    # A zoned time is converted to Amsterdam's clock: 21:59:59Z is 23:59:59 summer time.
    assert close_cutoff("2024-06-14T21:59:59Z") == dt.datetime(2024, 6, 14, 23, 59, 59, 1)
