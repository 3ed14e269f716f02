"""The universe of valid respondents (SPEC section 2): rules applied in order, every exclusion counted.

Every record read ends in exactly one place: kept, or excluded under the first rule it fails, so
kept + excluded always equals the records read.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
from prefect import get_run_logger, task

from innomon import refs, storage
from innomon.errors import InputError
from innomon.prefect_support import cached_stage
from schemas.config import RunConfig, close_cutoff

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


def apply_universe(df: pd.DataFrame, cfg: RunConfig) -> pd.DataFrame:
    """Adds `exclusion` (empty for valid respondents, else the first rule failed)."""
    uni = cfg.universe
    cutoff = pd.Timestamp(close_cutoff(cfg.fieldwork.close))  # a date-only close: the end of that day
    region = set(cfg.region.provinces)
    fails = {
        "status": ~df["meta_status"].isin(uni.valid_status),
        "after_close": df["recorded_date"] >= cutoff,
        "incomplete": ~(df["finished"].eq(1) | df["progress"].ge(uni.completion_progress)),
        "no_postcode": df["province"].isna(),
        "outside_region": ~df["province"].isin(region),
        "not_sme": df["fte"].ge(uni.sme_fte_limit),
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
        ["_key", "progress", "recorded_date", "response_order"], ascending=[True, False, False, True], kind="mergesort"
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


ANSWER_RULES = {
    "unknown_code": ("An answer is not among the item's answer codes.", "answer cleared"),
    "out_of_range": ("A number lies outside the item's range (e.g. a percentage above 100).", "answer cleared"),
    "unparseable_number": ("A numeric answer cannot be read as a number.", "answer cleared"),
    "unparseable_date": ("A date cannot be read.", "answer cleared"),
    "routing_violation": ("An answer was given where routing says the question was not shown.", "answer cleared"),
    "constant_sum": ("The three turnover parts do not sum to 99-101.", "all three parts cleared"),
    "sbi_unknown": ("The SBI code is not an SBI 2008 code.", "sector left missing"),
    "sbi_ambiguous": ("The SBI code is valid both as written and with a restored leading zero.", "sector left missing"),
    "impossible_founding_year": ("The founding year lies after the fieldwork year or before 1800.", "age left missing"),
}
FILE_RULES = {
    "empty_file": "The export is not empty.",
    "not_an_export": "The file is a survey export (not an HTML page or another ZIP).",
    "unreadable_file": "The file can be read as CSV, SPSS or Excel.",
    "ragged_row": "Every row has as many fields as the header (no truncation).",
    "no_data": "The export holds responses, not only a header.",
    "duplicate_column": "No column id the datamap needs occurs twice.",
    "missing_column": "Every column of the year's datamap is present.",
    "value_labels_mismatch": "SPSS value labels agree with the datamap.",
    "unknown_codes": "No item has unknown codes in more than the configured share of rows.",
    "duplicate_response_id": "ResponseIds are unique and present.",
    "wrong_year": "RecordedDate falls in the configured monitor year.",
    "data_freeze": "The export's SHA-256 matches the pinned one (where the year is frozen).",
    "corrections": "Every correction names a known response and variable and matches the old value.",
    "no_valid_respondents": "At least one valid respondent is left.",
}


def enforce_levels(issues: pd.DataFrame, cfg: RunConfig) -> None:
    """Stop the run on any answer-level rule configured at level `file`."""
    levels: dict[str, str] = dict(cfg.validation.levels)  # rule -> level; a rule not named is `row`
    for rule in sorted(set(issues["rule"])) if len(issues) else []:
        if levels.get(rule, "row") == "file":
            first = issues[issues["rule"] == rule].iloc[0]
            n = int((issues["rule"] == rule).sum())
            raise InputError(  # the variable and the count, never a response id (messages reach logs)
                f"{n} answer(s) fail {rule}, which the configuration treats as a file-level failure.",
                column=str(first["variable"]),
                rule=rule,
            )


def build_report(cfg: RunConfig, counts: dict[str, int], issues: pd.DataFrame, meta: dict[str, Any]) -> dict:
    """The year's validation report: what was checked and how many failed, no row-level detail."""
    answers = summarise_issues(issues)
    levels: dict[str, str] = dict(cfg.validation.levels)  # rule -> level; a rule not named is `row`
    return {
        "year": cfg.year,
        "records": counts["records"],
        "valid": counts["valid"],
        "file_checks": [{"rule": r, "checks": text, "result": "passed"} for r, text in FILE_RULES.items()],
        "rules": [
            {"rule": r, "checks": RULE_TEXT[r], "records_excluded": counts[r], "action": "record excluded"}
            for r in RULES
        ],
        "answers": [
            {"rule": r, "checks": text, "answers": answers.get(r, 0), "action": action, "level": levels.get(r, "row")}
            for r, (text, action) in ANSWER_RULES.items()
        ],
        "corrections_applied": int(meta.get("corrections_applied", 0)),
        "reader": meta.get("reader", ""),
    }


def report_markdown(report: dict) -> str:
    """The report as markdown, for the Prefect UI."""
    lines = [
        f"# Validation {report['year']}",
        "",
        f"Records read: **{report['records']}**; valid respondents: **{report['valid']}**; "
        f"corrections applied: {report['corrections_applied']}.",
        "",
        "| rule | records excluded | what it checks |",
        "|---|---:|---|",
    ]
    lines += [f"| {r['rule']} | {r['records_excluded']} | {r['checks']} |" for r in report["rules"]]
    lines += ["", "| answer rule | answers | action |", "|---|---:|---|"]
    lines += [f"| {a['rule']} | {a['answers']} | {a['action']} |" for a in report["answers"]]
    return "\n".join(lines) + "\n"


@cached_stage("validate")
def validate_task(derived: dict[str, Any], cfg_ref: dict[str, Any], processed_root: str) -> dict[str, Any]:
    """Prefect wrapper: apply the universe; valid respondents, exclusions and the year's report."""
    cfg = RunConfig.model_validate(refs.get_json(cfg_ref))
    df = apply_universe(refs.get_frame(derived["derived"]), cfg)
    counts = exclusion_counts(df)
    check_accounting(counts)
    if counts["valid"] == 0:
        raise InputError(
            f"No valid respondent is left in {cfg.year} after the universe rules.", rule="no_valid_respondents"
        )
    issues = pd.concat([refs.get_frame(derived["issues"]), refs.get_frame(derived["derive_issues"])], ignore_index=True)
    enforce_levels(issues, cfg)
    report = build_report(cfg, counts, issues, derived)
    get_run_logger().info("Universe %s: %s", cfg.year, counts)
    root = storage.join(processed_root, str(cfg.year))
    valid = df[df["exclusion"] == ""].drop(columns=["exclusion", "response_order"])  # the order served the rules
    from schemas.respondents import respondents_schema
    from schemas.validation import validate_lazy  # pandera: loaded only when a year is validated

    validate_lazy(respondents_schema(cfg), valid.reset_index(drop=True), f"respondents-{cfg.year}", "respondents")
    excluded = df.loc[df["exclusion"] != "", ["response_id", "exclusion"]]
    counts["invited"] = cfg.invited
    return {
        "year": cfg.year,
        "identities": derived["identities"],
        "counts": counts,
        "report": report,
        "valid": refs.put_frame(root, "valid", valid),
        "excluded": refs.put_frame(storage.join(root, "private"), "excluded", excluded),
    }


@task(name="validation-artifact")
def validation_artifact_task(validated: dict[str, Any]) -> str:
    """Never cached: publishes the year's validation summary to the Prefect UI (stable key per year)."""
    from prefect.artifacts import create_markdown_artifact

    year = validated["report"]["year"]
    create_markdown_artifact(
        markdown=report_markdown(validated["report"]),
        key=f"innomon-{year}-validation",
        description=f"Validation report of monitor year {year}",
    )
    return f"innomon-{year}-validation"
