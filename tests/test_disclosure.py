"""Disclosure control (issue 31, D50): crafted blocks an intruder attacks with the published n of
every cell, the other groups and the overall figure; each ends with every primary cell protected,
and the audit's intervals agree with a brute-force enumeration of every table the published figures
allow."""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from innomon import disclosure

PROJECT = Path(__file__).resolve().parent.parent
RULES = disclosure.Rules(
    min_n=10,
    frequency_max_count=2,
    frequency_below_base=30,
    dominance_p=10.0,
    protection_pp=10.0,
    protection_scale_share=0.1,
    scales={"fte": (0.0, 250.0)},
)


def _block(bases: tuple[int, ...], counts: tuple[int, ...], rest: int = 0) -> pd.DataFrame:
    """A share by company age in one table, with the overall share (of `rest` more firms, in no group)."""
    rows = [
        {
            "table_id": "T20",
            "year": 2023,
            "group": f"age_class=g{i}",
            "item": "markets",
            "category": "1",
            "stat": "pct",
            "value": 100.0 * c / n if n else None,
            "n": n,
            "count": c,
            "flag": "",
        }
        for i, (n, c) in enumerate(zip(bases, counts, strict=True))
    ]
    total = sum(bases) + rest
    overall = sum(counts) + (rest // 2)
    rows.append({**rows[0], "group": "all", "value": 100.0 * overall / total, "n": total, "count": overall})
    return pd.DataFrame(rows)


def _published(cells: pd.DataFrame, hide: pd.Series) -> pd.DataFrame:
    """The cells as a release shows them: suppressed ones flagged `c`, without a value."""
    out = cells.copy()
    out.loc[hide, "value"] = None
    out.loc[hide, "flag"] = "c"
    return out


def _brute_force(cells: pd.DataFrame, hide: pd.Series, target: str) -> tuple[int, int]:
    """The range of the target group's count over every table of whole firms the published figures
    allow: each hidden group between 0 and its n, the firms in no group between 0 and their number."""
    groups = cells[cells["group"] != "all"]
    overall = cells[cells["group"] == "all"].iloc[0]
    shown = groups[~hide[groups.index]]
    hidden = groups[hide[groups.index]]
    known = round(float(overall["value"]) * float(overall["n"]) / 100) - sum(
        round(float(v) * float(n) / 100) for v, n in zip(shown["value"], shown["n"], strict=True)
    )
    rest = int(overall["n"]) - int(groups["n"].sum())
    names = list(hidden["group"])
    seen = []
    for xs in itertools.product(*(range(int(n) + 1) for n in hidden["n"])):
        if 0 <= known - sum(xs) <= rest:
            seen.append(xs[names.index(target)])
    return min(seen), max(seen)


@pytest.mark.parametrize(
    ("bases", "counts", "rest"),
    [
        ((0, 4, 30), (0, 0, 10), 0),
        ((2, 3, 40), (0, 1, 20), 0),
        ((4, 12, 30), (0, 1, 15), 0),
        ((1, 8, 27, 99), (0, 0, 10, 50), 0),
        ((1, 8, 27, 99), (0, 0, 10, 50), 6),  # six firms answered no company age
        ((12, 40, 50), (1, 20, 20), 0),  # a share of 1 firm in 12
    ],
)
def test_a_crafted_block_ends_with_every_primary_cell_protected(bases, counts, rest) -> None:
    cells = _block(bases, counts, rest)
    hide, primaries, audit = disclosure.protect(cells, None, RULES)
    expected = {f"age_class=g{i}" for i, n in enumerate(bases) if 0 < n < 10}
    expected |= {
        f"age_class=g{i}" for i, (n, c) in enumerate(zip(bases, counts, strict=True)) if c in (1, 2) and n < 30
    }
    assert {k[1] for k in primaries if k[5] > 0} == expected
    assert audit.intervals and not audit.failures
    assert bool(hide[cells["group"] == "all"].iloc[0]) is False  # the overall figure stays
    for interval in audit.intervals:
        low, high = _brute_force(cells, hide, interval.key[1])
        n = interval.key[5]
        assert (round(interval.low * n / 100), round(interval.high * n / 100)) == (low, high), interval
        assert 100.0 * (high - low) / n >= RULES.protection_pp
    if bases == (0, 4, 30):  # an empty group protects nothing: the partner of 4 is the 30
        assert hide.tolist() == [True, True, True, False]
    again, _, _ = disclosure.protect(cells, None, RULES)
    assert again.tolist() == hide.tolist()  # the same pattern every time


def test_the_demonstrated_attack_now_fails() -> None:
    """Issue 31's example: startend n=1 and jong n=8 suppressed together, the others and the overall
    share published, so the counts showed both were 0. Now a real partner widens both to 10+ points."""
    cells = _block((1, 8, 27, 99), (0, 0, 10, 50))
    hide, _, audit = disclosure.protect(cells, None, RULES)
    assert hide.tolist() == [True, True, True, False, False]  # the smallest real partner (27) joins
    for interval in audit.intervals:
        assert interval.high - interval.low >= 10


def test_a_partner_published_in_an_earlier_release_is_no_partner() -> None:
    cells = _block((4, 12, 30), (0, 5, 15))
    alone, _, _ = disclosure.protect(cells, None, RULES)
    assert alone.tolist() == [True, True, False, False]  # the smallest partner, 12
    earlier = cells[cells["group"] == "age_class=g1"]  # ... but an earlier release showed it
    hide, _, audit = disclosure.protect(cells, earlier, RULES)
    assert hide.tolist() == [True, False, True, False] and not audit.failures
    # and a cell an earlier release suppressed stays suppressed, needed or not
    hidden_before = _published(cells, cells["group"] == "age_class=g2").iloc[[2]]
    hide2, _, _ = disclosure.protect(_block((20, 40, 30), (10, 20, 15)), hidden_before, RULES)
    assert hide2.tolist() == [False, False, True, False]


def test_a_dominated_magnitude_is_suppressed_and_protected() -> None:
    """The mean FTE of 12 firms where one has 200 and the others 1: the p% rule makes it primary,
    and the partner leaves a range of at least a tenth of the FTE scale (25)."""
    values = np.array([200.0] + [1.0] * 11)
    assert disclosure.dominated(values, 10.0) and not disclosure.dominated(np.array([5.0] * 12), 10.0)
    rows = []
    for group, n, mean, dom in (("g0", 12, values.mean(), True), ("g1", 40, 5.0, False), ("g2", 50, 6.0, False)):
        rows.append(
            {
                "table_id": "T25M",
                "year": 2023,
                "group": f"size_class={group}",
                "item": "fte",
                "category": "",
                "stat": "mean",
                "value": mean,
                "n": n,
                "flag": "",
                "dominated": dom,
            }
        )
    total = sum(r["value"] * r["n"] for r in rows)
    rows.append({**rows[1], "group": "all", "value": total / 102, "n": 102, "dominated": False})
    cells = pd.DataFrame(rows)
    hide, primaries, audit = disclosure.protect(cells, None, RULES)
    assert [k[1] for k, why in primaries.items() if why == "dominance"] == ["size_class=g0"]
    assert hide.tolist() == [True, True, False, False]
    (interval,) = audit.intervals
    s = values.sum() + 40 * 5.0  # what the intruder knows: the two hidden groups' total
    assert interval.low == pytest.approx(max(0.0, s - 250 * 40) / 12)
    assert interval.high == pytest.approx(min(250.0 * 12, s) / 12)
    assert interval.width >= 25


def test_categories_that_make_up_a_group_are_protected_together() -> None:
    """A full distribution (three answers summing to the group's base): hiding one category alone
    would be undone by the other two, so the audit's relations include the row sums."""
    rules = disclosure.Rules(**{**RULES.__dict__, "distributions": frozenset({("T20", "markets")})})
    counts = {"g0": (1, 6, 7), "g1": (10, 12, 18), "g2": (15, 15, 20)}
    rows = []
    for group, cs in counts.items():
        n = sum(cs)
        for cat, c in zip(("1", "2", "3"), cs, strict=True):
            rows.append(
                {
                    "table_id": "T20",
                    "year": 2023,
                    "group": f"age_class={group}",
                    "item": "markets",
                    "category": cat,
                    "stat": "pct",
                    "value": 100.0 * c / n,
                    "n": n,
                    "count": c,
                    "flag": "",
                }
            )
    for i, cat in enumerate(("1", "2", "3")):
        c = sum(cs[i] for cs in counts.values())
        rows.append({**rows[0], "group": "all", "category": cat, "value": 100.0 * c / 104, "n": 104, "count": c})
    cells = pd.DataFrame(rows)
    hide, primaries, audit = disclosure.protect(cells, None, rules)
    assert {k[1] for k in primaries} == {"age_class=g0"} and not audit.failures
    hidden = cells[hide]
    assert hidden["group"].nunique() >= 2 and hidden["category"].nunique() >= 2  # a rectangle at least
    assert not hide[cells["group"] == "all"].any()
    # the intruder's own check: every table of whole firms with these row sums and published cells
    free = [(r.group, r.category, int(r.n)) for r in hidden.itertuples()]
    target = ("age_class=g0", "1")
    known = {(r.group, r.category): r.count for r in cells[~hide].itertuples()}
    options = []
    for xs in itertools.product(*(range(n + 1) for _, _, n in free)):
        full = {**known, **{(g, c): x for (g, c, _), x in zip(free, xs, strict=True)}}
        rows_ok = all(sum(full[(f"age_class={g}", c)] for c in "123") == sum(cs) for g, cs in counts.items())
        cols_ok = all(sum(full[(f"age_class={g}", c)] for g in counts) == full[("all", c)] for c in "123")
        if rows_ok and cols_ok:
            options.append(full[target])
    (interval,) = [i for i in audit.intervals if i.key[1] == "age_class=g0" and i.key[3] == "1"]
    assert (round(interval.low * 14 / 100), round(interval.high * 14 / 100)) == (min(options), max(options))


def test_the_demo_releases_pass_the_audit_counting_every_release(demo: dict) -> None:
    """`innomon audit-disclosure` on each year of the demo store: every primary cell protected,
    against every other release the store holds (exit 0)."""
    for year in (2021, 2022, 2023):
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "innomon.cli",
                "audit-disclosure",
                "--year",
                str(year),
                "--json",
                "--store",
                str(demo["store"]),
            ],
            capture_output=True,
            text=True,
            cwd=PROJECT,
            timeout=600,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        summary = json.loads(done.stdout)
        assert summary["unprotected"] == [] and summary["checked"] > 0 and summary["other_releases"] == 2
        assert summary["narrowest"]["width"] >= summary["narrowest"]["required"]


def test_the_demo_changes_only_where_the_new_rules_suppress_more(demo: dict) -> None:
    """Every figure the 2023 release still shows equals the engine's unsuppressed figure; every cell
    the base rule alone suppressed is still suppressed; the cells suppressed beyond it are listed."""
    from innomon import config
    from schemas.cells import cells_frame
    from tasks.indicators.context import context
    from tasks.indicators.stage import table_rows
    from tests.helpers import latest_release, read_tables

    cells = read_tables(latest_release(demo["store"], 2023))
    run = config.load_typed(2023)
    frames = {
        y: pd.read_parquet(
            max((demo["store"] / "processed" / str(y)).glob("respondents-*.parquet"), key=lambda p: p.stat().st_mtime)
        )
        for y in (2023, 2022, 2021)
    }
    facts = {y: {"records": 0, "valid": len(f), "invited": None, "repeat": None} for y, f in frames.items()}
    ctx = context(run, run.tables_spec)
    plain = [t for t in run.table_specs if not t.id.startswith(("R", "K", "P"))]
    raw = cells_frame([c for spec in plain for c in table_rows(spec, frames, facts, run, ctx)])
    keys = ["table_id", "year", "group", "item", "category", "stat"]
    both = cells[cells["value"].notna()].merge(raw.astype({"category": str}), on=keys, suffixes=("", "_raw"))
    assert len(both) > 1000
    assert np.allclose(both["value"].astype(float), both["value_raw"].astype(float), atol=1e-6)
    record = json.loads(
        max(
            (demo["store"] / "processed" / "2023" / "private").glob("disclosure-*.json"),
            key=lambda p: p.stat().st_mtime,
        ).read_text()
    )
    hidden = cells["flag"].str.contains("c")
    small = cells["n"].lt(10) & ~cells["stat"].isin(["n", "invited"]) & cells["n"].notna()
    assert not (small & ~hidden).any()  # the base rule still holds everywhere
    rules = {p[-1] for p in record["primaries"]}
    assert rules <= {"base", "frequency", "dominance"} and "frequency" in rules
    beyond = cells[hidden & ~small].groupby("table_id").size()
    print("suppressed beyond the base rule, by table:", beyond.to_dict())
    assert 0 < int(beyond.sum()) < 0.1 * len(cells)  # more protection, most figures still shown


def test_small_synthetic_years_pass_the_audit_counting_every_release(tmp_path: Path) -> None:
    """Issue 31's setting: about 120 valid firms a year, three years published one after another
    into one store; every release passed the publish stage's audit, and the audit of each year's
    latest release against all the others finds every primary cell protected."""
    from innomon.cli import run_year
    from innomon.disclosure_store import audit_year
    from innomon.synth.export import write_year

    exports, store = tmp_path / "exports", tmp_path / "store"
    for year in (2021, 2022, 2023):
        write_year(year, exports, n=120, seed=31)
    for year in (2021, 2022, 2023):
        run_year(year, str(exports), str(store))
    checked = 0
    for year in (2021, 2022, 2023):
        summary = audit_year(str(store), year)
        assert summary["unprotected"] == [], summary["unprotected"][:3]
        assert summary["other_releases"] == 2
        checked += summary["checked"]
    assert checked > 50  # small groups everywhere: many primary cells, all protected


def test_the_publish_stage_refuses_tables_whose_audit_fails(tmp_path: Path) -> None:
    """A release whose suppressed cell has no partner (tables written by something else than the
    engine, or a rule changed under it) is refused before anything is staged: exit 5, one sentence
    that names the cell but none of its values."""
    from innomon import config, refs
    from innomon.errors import DisclosureError
    from schemas.cells import COLUMNS, tables_csv_bytes
    from tasks.publish.stage import audit_release

    cells = _block((4, 12, 30), (0, 5, 15)).assign(ci_low=None, ci_high=None, sig="")
    hide = cells["group"] == "age_class=g0"  # the primary alone: the overall figure gives it away
    root = (tmp_path / "processed").as_uri()
    primaries = [[2023, "age_class=g0", "markets", "1", "pct", 4, "base"]]
    tables = {
        "tables_csv": refs.put_bytes(root, "tables", tables_csv_bytes(_published(cells, hide)[COLUMNS]), "csv"),
        "disclosure": refs.put_json(root, "disclosure", {"primaries": primaries, "distributions": [], "earlier": {}}),
    }
    cfg = config.load_typed(2023)
    with pytest.raises(DisclosureError) as err:
        audit_release(tables, cfg)
    assert err.value.exit_code == 5
    assert "markets 1 pct, age_class=g0, 2023, n=4: 0.00 < 10" in str(err.value)
    assert "\n" not in str(err.value)
    both = hide | (cells["group"] == "age_class=g1")  # with its partner, the same tables pass
    tables["tables_csv"] = refs.put_bytes(root, "tables", tables_csv_bytes(_published(cells, both)[COLUMNS]), "csv")
    assert audit_release(tables, cfg)["unprotected"] == []


def test_audit_disclosure_names_an_unprotected_cell_and_exits_5(demo: dict, tmp_path: Path) -> None:
    """The command against a store whose record names a primary cell the release shows (as a
    changed rule would): exit 5, the cell named, no value printed."""
    import shutil

    store = tmp_path / "store"
    shutil.copytree(demo["store"] / "published", store / "published")
    shutil.copytree(demo["store"] / "processed" / "2023" / "private", store / "processed" / "2023" / "private")
    path = max((store / "processed" / "2023" / "private").glob("disclosure-*.json"), key=lambda p: p.stat().st_mtime)
    record = json.loads(path.read_text())
    from tests.helpers import latest_release, read_tables

    cells = read_tables(latest_release(demo["store"], 2023))
    shown = cells[(cells["table_id"] == "T08") & (cells["group"] == "pyramid=ontwikkelaar") & cells["value"].notna()]
    row = shown[shown["stat"] == "mean"].iloc[0]
    record["primaries"].append(
        [int(row["year"]), row["group"], row["item"], str(row["category"]), "mean", int(row["n"]), "dominance"]
    )
    path.write_text(json.dumps(record))
    done = subprocess.run(
        [sys.executable, "-m", "innomon.cli", "audit-disclosure", "--year", "2023", "--store", str(store)],
        capture_output=True,
        text=True,
        cwd=PROJECT,
        timeout=600,
    )
    assert done.returncode == 5, done.stdout + done.stderr
    assert f"NOT PROTECTED: {row['item']}" in done.stdout and "the audit FAILS" in done.stdout
    assert f"{float(row['value']):.2f}" not in done.stdout  # the figure itself is never printed
