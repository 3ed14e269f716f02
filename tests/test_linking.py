"""Linking repeat respondents: accuracy against the generator's truth, pseudonymous panel ids,
identities kept private, reviewed decisions overriding the model."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd

from innomon.cli import run_year
from schemas.vocabulary import IDENTIFYING
from tasks.link.stage import by_platform_id, link_firms
from tests.helpers import latest_release, read_tables


def _latest(folder: Path, pattern: str) -> pd.DataFrame:
    paths = sorted(folder.glob(pattern), key=lambda p: p.stat().st_mtime)
    return pd.read_parquet(paths[-1])


def _valid_identities(store: Path, year: int) -> pd.DataFrame:
    """The valid firms' identities as linking reads them (by the platform's response ids)."""
    valid = _latest(store / "processed" / str(year), "valid-*.parquet")["response_id"]
    ident = _latest(store / "processed" / str(year) / "private", "identities-*.parquet")
    return by_platform_id(ident[ident["response_id"].isin(valid)])


def precision_recall(store: Path, exports: Path, year: int) -> tuple[float, float, int]:
    cur, prev = _valid_identities(store, year), _valid_identities(store, year - 1)
    links, _ = link_firms(cur, prev, 0.95, 0.5)
    firm = {}
    for y in (year, year - 1):
        truth = pd.read_csv(exports / "_truth" / f"truth-{y}.csv")
        firm[y] = dict(zip(truth["response_id"], truth["firm_id"], strict=True))
    prev_by_firm = {firm[year - 1][r]: r for r in prev["response_id"]}
    true = {(r, prev_by_firm[firm[year][r]]) for r in cur["response_id"] if firm[year][r] in prev_by_firm}
    pred = set(zip(links["response_id"], links["previous_response_id"], strict=True))
    tp = len(true & pred)
    return tp / len(pred), tp / len(true), len(true)


def test_linking_precision_and_recall_at_default_size(demo: dict) -> None:
    for year in (2022, 2023):
        precision, recall, n_true = precision_recall(demo["store"], demo["exports"], year)
        assert n_true >= 55
        assert precision >= 0.99 and recall >= 0.95, (year, precision, recall)


def test_generator_plants_identity_noise(demo: dict) -> None:
    cur, prev = _valid_identities(demo["store"], 2023), _valid_identities(demo["store"], 2022)
    truth = {y: pd.read_csv(demo["exports"] / "_truth" / f"truth-{y}.csv") for y in (2022, 2023)}
    firm = {y: dict(zip(t["response_id"], t["firm_id"], strict=True)) for y, t in truth.items()}
    a = cur.assign(firm=cur["response_id"].map(firm[2023]))
    b = prev.assign(firm=prev["response_id"].map(firm[2022]))
    pairs = a.merge(b, on="firm", suffixes=("", "_prev"))
    assert len(pairs) == 65
    assert pairs["kvk_norm"].isna().mean() >= 0.15  # about 25% without a KvK number
    assert (pairs["company_name"] != pairs["company_name_prev"]).mean() >= 0.15  # name variants
    assert (pairs["pc4"] != pairs["pc4_prev"]).mean() >= 0.08  # moved
    assert (pairs["email"] != pairs["email_prev"]).mean() >= 0.3  # new e-mail address
    names_prev = set(pairs["company_name"])
    namesakes = a[a["company_name"].isin(names_prev) & ~a["firm"].isin(pairs["firm"])]
    assert len(namesakes) >= 1  # another firm with a repeat firm's name, elsewhere


def test_no_identifying_field_in_processed_tables(demo: dict) -> None:
    """No identifying column in any processed table, and no platform response id outside `private/`
    in any column of any table (they carry keyed pseudonyms)."""
    platform_ids = {
        str(r)
        for y in (2021, 2022, 2023)
        for r in pd.read_csv(demo["exports"] / "_truth" / f"truth-{y}.csv")["response_id"]
    }
    checked = outside = 0
    for path in (demo["store"] / "processed").rglob("*.parquet"):
        if path.name.startswith("identities-"):
            continue
        frame = pd.read_parquet(path)
        columns = set(frame.columns)
        assert not (columns & set(IDENTIFYING)), (path.name, columns & set(IDENTIFYING))
        checked += 1
        if "private" not in path.parts:
            text = {str(v) for c in frame.columns if frame[c].dtype == object for v in frame[c].dropna()}
            assert not (text & platform_ids), (path.name, sorted(text & platform_ids)[:3])
            outside += "response_id" in columns
    assert checked >= 15 and outside >= 6
    respondents = _latest(demo["store"] / "processed" / "2023", "respondents-*.parquet")
    assert respondents["panel_id"].str.fullmatch(r"[0-9a-f]{32}").all()


def test_different_keys_give_unlinkable_panel_ids(demo: dict, tmp_path: Path, monkeypatch) -> None:
    store = tmp_path / "store"
    monkeypatch.setenv("INNOMON_PANEL_KEY", "another-key-for-this-test-0123456789abcdef")
    run_year(2023, str(demo["exports"]), str(store))
    ours = _latest(demo["store"] / "processed" / "2023", "respondents-*.parquet")
    theirs = _latest(store / "processed" / "2023", "respondents-*.parquet")
    assert len(ours) == len(theirs) == 423
    assert not set(ours["panel_id"]) & set(theirs["panel_id"])
    # the figures do not depend on the key
    a = read_tables(latest_release(demo["store"], 2023))
    b = read_tables(latest_release(store, 2023))
    assert a["value"].fillna(-1).tolist() == b["value"].fillna(-1).tolist()


def test_reviewed_decisions_override_the_model(demo: dict, tmp_path: Path) -> None:
    store = tmp_path / "store"
    shutil.copytree(demo["store"], store)
    links = _latest(store / "processed" / "2023" / "private", "links-*.parquet")
    probabilistic = links[links["method"] == "probabilistic"].iloc[0]
    # links carry pseudonyms; a reviewer names the firms by the platform's ids (private identities)
    platform = {
        y: _latest(store / "processed" / str(y) / "private", "identities-*.parquet").set_index("response_id")[
            "platform_response_id"
        ]
        for y in (2022, 2023)
    }
    folder = store / "processed" / "linking"
    folder.mkdir(parents=True)
    (folder / "reviewed-2023.csv").write_text(
        "response_id,previous_response_id,decision,reviewer\n"
        f"{platform[2023][probabilistic['response_id']]},{platform[2022][probabilistic['previous_response_id']]},"
        "non-match,team\n"
    )
    run_year(2023, str(demo["exports"]), str(store))
    k01 = read_tables(latest_release(store, 2023))
    repeat = k01[
        (k01.table_id == "K01") & (k01.year == 2023) & (k01["item"] == "repeat_respondents") & (k01.stat == "n")
    ]["value"].iloc[0]
    assert repeat == 64


def test_linking_warns_of_nothing_and_sets_the_unobserved_kvk_u(demo: dict, caplog) -> None:
    """Splink used to warn at every run that the `kvk_norm` agreement levels had no u estimate; the
    u of a level random pairs never reach is now set on purpose (1e-6), with the same links."""
    import logging

    from tasks.link import stage as link_mod

    cur, prev = _valid_identities(demo["store"], 2023), _valid_identities(demo["store"], 2022)
    seen: list[dict[str, object]] = []
    original = link_mod.set_unobserved_u

    def spy(linker: object) -> None:
        original(linker)
        for comparison in linker._settings_obj.comparisons:  # type: ignore[attr-defined]
            for level in comparison._comparison_levels_excluding_null:
                seen.append({"column": comparison.output_column_name, "u": level._u_probability})

    link_mod.set_unobserved_u = spy
    try:
        with caplog.at_level(logging.WARNING):
            links, _ = link_firms(cur, prev, 0.95, 0.5)
    finally:
        link_mod.set_unobserved_u = original
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING], [r.getMessage() for r in caplog.records]
    assert all(isinstance(s["u"], float) for s in seen), seen  # every level has a number, none "not observed"
    assert any(s["column"] == "kvk_norm" and s["u"] == link_mod.UNOBSERVED_U for s in seen)
    assert len(links) == 65  # the generator's 65 repeat firms of 2023, as before the change
