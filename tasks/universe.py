"""The universe of valid respondents (SPEC section 2): rules applied in order, every exclusion counted.

Every record read ends in exactly one place: kept, or excluded under the first rule it fails, so
kept + excluded always equals the records read.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

RULES = ["status", "after_close", "incomplete", "no_postcode", "outside_region", "not_sme", "duplicate"]

RULE_TEXT = {
    "status": "Response type is a preview, test or spam (only 0 = response and 4 = imported count).",
    "after_close": "Recorded after the configured close of fieldwork.",
    "incomplete": "Neither finished nor at the configured progress threshold.",
    "no_postcode": "Postcode missing or its PC4 unknown.",
    "outside_region": "PC4 lies in a province outside the monitor's region.",
    "not_sme": "250 FTE or more: not an SME.",
    "duplicate": "A second record of a firm already kept this year (same KvK number, or same name and PC4).",
}


def apply_universe(df: pd.DataFrame, cfg: dict[str, Any]) -> pd.DataFrame:
    """Adds `exclusion` (empty for valid respondents, else the first rule failed)."""
    uni = cfg["universe"]
    close = pd.Timestamp(cfg["fieldwork"]["close"])
    region = set(cfg["region"]["provinces"])
    fails = {
        "status": ~df["meta_status"].isin(uni["valid_status"]),
        "after_close": df["recorded_date"] > close,
        "incomplete": ~(df["finished"].eq(1) | df["progress"].ge(uni["completion_progress"])),
        "no_postcode": df["province"].isna(),
        "outside_region": ~df["province"].isin(region),
        "not_sme": df["fte"].ge(uni["sme_fte_limit"]),
    }
    exclusion = pd.Series("", index=df.index, dtype=object)
    for rule in RULES[:-1]:
        hit = (exclusion == "") & fails[rule].fillna(False).astype(bool)
        exclusion[hit] = rule
    out = df.copy()
    out["exclusion"] = exclusion
    out.loc[_duplicates(out), "exclusion"] = "duplicate"
    return out


def _duplicates(df: pd.DataFrame) -> pd.Series:
    """Second and later records of one firm among the records kept so far."""
    kept = df[df["exclusion"] == ""].copy()
    kept["_key"] = kept["firm_hash"]
    kept = kept[kept["_key"].notna()]
    order = kept.sort_values(
        ["_key", "progress", "recorded_date", "response_id"], ascending=[True, False, False, True], kind="mergesort"
    )
    dup_index = order.index[order["_key"].duplicated(keep="first")]
    return pd.Series(df.index.isin(dup_index), index=df.index)


def exclusion_counts(df: pd.DataFrame) -> dict[str, int]:
    """Records read, kept, and excluded per rule (in rule order, zeros included)."""
    counts = {rule: int((df["exclusion"] == rule).sum()) for rule in RULES}
    return {"records": len(df), "valid": int((df["exclusion"] == "").sum()), **counts}


def check_accounting(counts: dict[str, int]) -> None:
    """Kept plus excluded must equal records read."""
    total = counts["valid"] + sum(counts[r] for r in RULES)
    if total != counts["records"]:
        raise AssertionError(f"Universe accounting broken: {total} != {counts['records']} records read.")


def summarise_issues(issues: pd.DataFrame) -> dict[str, int]:
    """Answer-level issues counted by rule (no row detail)."""
    if issues.empty:
        return {}
    counts = issues.groupby("rule").size()
    return {str(k): int(v) for k, v in counts.sort_index().items()}


def _stage_task():
    from prefect import get_run_logger, task

    from innomon import refs, storage
    from innomon.errors import InputError
    from innomon.prefect_support import cache_key
    from schemas import validate_lazy
    from schemas.respondents import respondents_schema

    @task(name="validate", cache_key_fn=cache_key, persist_result=True, result_serializer="json")
    def validate_task(derived: dict[str, Any], cfg_ref: dict[str, Any], processed_root: str) -> dict[str, Any]:
        """Prefect wrapper: apply the universe; valid respondents, exclusions and the year's report."""
        cfg = refs.get_json(cfg_ref)
        df = apply_universe(refs.get_frame(derived["derived"]), cfg)
        counts = exclusion_counts(df)
        check_accounting(counts)
        if counts["valid"] == 0:
            raise InputError(
                f"No valid respondent is left in {cfg['year']} after the universe rules.", rule="no_valid_respondents"
            )
        issues = pd.concat(
            [refs.get_frame(derived["issues"]), refs.get_frame(derived["derive_issues"])], ignore_index=True
        )
        report = {
            "year": cfg["year"],
            "records": counts["records"],
            "valid": counts["valid"],
            "rules": [{"rule": r, "checks": RULE_TEXT[r], "records_excluded": counts[r]} for r in RULES],
            "answers_cleared": summarise_issues(issues),
        }
        get_run_logger().info("Universe %s: %s", cfg["year"], counts)
        root = storage.join(processed_root, str(cfg["year"]))
        valid = df[df["exclusion"] == ""].drop(columns=["exclusion"])
        validate_lazy(
            respondents_schema(cfg), valid.reset_index(drop=True), f"respondents-{cfg['year']}", "respondents"
        )
        excluded = df.loc[df["exclusion"] != "", ["response_id", "exclusion"]]
        counts["invited"] = cfg.get("invited")
        return {
            "year": cfg["year"],
            "identities": derived["identities"],
            "counts": counts,
            "report": report,
            "valid": refs.put_frame(root, "valid", valid),
            "excluded": refs.put_frame(storage.join(root, "private"), "excluded", excluded),
        }

    return validate_task


validate_task = _stage_task()
