"""Stage `ingest`: read the archived export, map it by datamap, and split off the identities.

From here on, company name, KvK number, e-mail, postcode and the platform's response id live only
in the private identities table; the answers table carries the province, a keyed pseudonym of the
response (`response_id`), the response's rank among the platform's ids (`response_order`, the rules'
tie-break) and a keyed hash of the firm (for the duplicate rule), never the identifying fields.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
from prefect import get_run_logger

from innomon import config as config_mod
from innomon import reference, refs, storage
from innomon.exports import details_json, read_export
from innomon.normalise import normalise_kvk, normalise_name, normalise_postcode
from innomon.prefect_support import cached_stage, run_key
from innomon.pseudonyms import keyed_hash, response_order, response_pseudonyms
from schemas.config import RunConfig
from schemas.vocabulary import IDENTIFYING
from tasks.ingest.corrections import apply_corrections, read_corrections
from tasks.ingest.mapping import map_export


def split_identities(mapped: pd.DataFrame, pc4_path: str, key: bytes, year: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(answers without identifying fields, identities table); both carry the response's keyed
    pseudonym as `response_id`, the identities also the platform's own id (`platform_response_id`)."""
    pseudonym = response_pseudonyms(mapped["response_id"], year, key)
    ident = mapped[["company_name", "kvk_number", "email", "postcode", "sbi_code", "founding_year"]].copy()
    ident.insert(0, "platform_response_id", mapped["response_id"].astype(str))
    ident.insert(0, "response_id", pseudonym)
    ident["pc4"] = normalise_postcode(ident["postcode"])
    ident["postcode_norm"] = (
        ident["postcode"]
        .fillna("")
        .astype(str)
        .str.upper()
        .str.replace(r"[\s\-.]", "", regex=True)
        .where(lambda s: s.str.fullmatch(r"[1-9]\d{3}[A-Z]{2}"), None)
    )
    ident["email_domain"] = ident["email"].fillna("").astype(str).str.lower().str.extract(r"@([\w.-]+)$")[0]
    ident["sbi4"] = ident["sbi_code"].fillna("").astype(str).str.replace(r"\D", "", regex=True).str[:4]
    ident["kvk_norm"] = normalise_kvk(ident["kvk_number"])
    ident["name_norm"] = normalise_name(ident["company_name"])
    by_name = ("name:" + ident["name_norm"].fillna("") + "|" + ident["pc4"].fillna("")).where(
        ident["name_norm"].notna() & ident["pc4"].notna(), None
    )
    firm_key = ("kvk:" + ident["kvk_norm"]).where(ident["kvk_norm"].notna(), by_name)
    answers = mapped.drop(columns=[c for c in mapped.columns if c in IDENTIFYING])
    answers.insert(answers.columns.get_loc("response_id") + 1, "response_order", response_order(mapped["response_id"]))
    answers["response_id"] = pseudonym
    answers["province"] = ident["pc4"].map(reference.pc4_to_province(pc4_path)).astype(object)
    answers["firm_hash"] = keyed_hash(firm_key, key, "firm")
    return answers, ident


def ingest(data: bytes, name: str, cfg: RunConfig, key: bytes, corrections: bytes | None = None) -> dict[str, Any]:
    """Read + map + apply corrections + split; raises InputError for file-level failures."""
    from innomon import progress
    from schemas.export import export_schema
    from schemas.validation import validate_lazy  # pandera: loaded only when an export is read

    with progress.steps("ingest", cfg.year, 5) as step:
        step(f"reading {name}")
        export = read_export(data, name)
        step("mapping by the datamap")
        mapped, issues = map_export(export, cfg, name)
        applied = 0
        step("corrections")
        if corrections is not None:
            fixes = read_corrections(corrections, "corrections")
            mapped, applied = apply_corrections(mapped, fixes, cfg, f"corrections for {name}")
        step("checking the export schema")
        validate_lazy(export_schema(cfg), mapped, name, "export")
        step("separating identities")
        answers, ident = split_identities(mapped, str(config_mod.reference_path(cfg, "pc4")), key, cfg.year)
    return {
        "answers": answers,
        "identities": ident,
        "issues": issues,
        "reader": details_json(export),
        "records": len(mapped),
        "corrections_applied": applied,
    }


@cached_stage("ingest")
def ingest_task(
    raw: refs.Ref, cfg_ref: refs.Ref, processed_root: str, corrections: refs.Ref | None, key_id: str
) -> dict[str, Any]:
    """Prefect wrapper: archived export (+ corrections) -> answers, identities and issues. `key_id`:
    the run's panel key's fingerprint (a new key pseudonymises again)."""
    cfg = RunConfig.model_validate(refs.get_json(cfg_ref))
    fixes = refs.get_bytes(corrections) if corrections else None
    out = ingest(refs.get_bytes(raw), raw["name"], cfg, run_key(cfg.linking.key_env, key_id), fixes)
    get_run_logger().info("Read %s: %s, %d records", raw["name"], out["reader"], out["records"])
    root = storage.join(processed_root, str(cfg.year))
    return {
        "year": cfg.year,
        "answers": refs.put_frame(root, "answers", out["answers"]),
        "identities": refs.put_frame(storage.join(root, "private"), "identities", out["identities"]),
        "issues": refs.put_frame(storage.join(root, "private"), "mapping-issues", out["issues"]),
        "records": out["records"],
        "corrections_applied": out["corrections_applied"],
        "reader": out["reader"],
    }
