"""Stage `link`: link a year's firms to the previous year's and give every firm a stable `panel_id`.

First exact on a valid normalised KvK number; then probabilistic (Fellegi-Sunter, Splink on DuckDB)
on normalised name, PC4 and full postcode, e-mail domain, SBI and founding year, with blocking so the
cost grows with the data, not with the product of the two years' sizes. Pairs between the reject and
accept thresholds go to a clerical-review file in the private zone; reviewed decisions (a CSV in the
private zone) override the model on the next run.

`panel_id` is a keyed hash (HMAC-SHA-256): a linked firm inherits the previous year's panel_id, a new
firm gets the hash of its KvK number (or of its ResponseId), so processed or published data cannot
be joined back to a firm without the key.

Linking itself, the clerical-review file and the reviewed decisions speak the survey platform's
response ids (private zone: a reviewer looks a firm up on the platform); the respondent table, the
links and the panel registry carry the responses' keyed pseudonyms, like every table outside
`private/`.
"""

from __future__ import annotations

import io
import logging
from typing import Any

import numpy as np
import pandas as pd

from innomon import progress, refs, storage
from innomon.prefect_support import cached_stage, run_key
from innomon.pseudonyms import keyed_hash
from schemas.config import RunConfig

LINK_COLUMNS = ["response_id", "previous_response_id", "match_probability", "method"]
FIELDS = ["name_norm", "pc4", "postcode_norm", "email_domain", "sbi4", "founding_year", "kvk_norm"]


def panel_ids(identities: pd.DataFrame, year: int, key: bytes) -> pd.Series:
    """HMAC of the KvK number where valid, else of year + ResponseId (for firms not linked)."""
    by_kvk = keyed_hash(identities["kvk_norm"], key, "kvk")
    by_response = keyed_hash(str(year) + ":" + identities["platform_response_id"].astype(str), key, "response")
    return by_kvk.where(by_kvk.notna(), by_response)


def exact_links(cur: pd.DataFrame, prev: pd.DataFrame) -> pd.DataFrame:
    """Pairs with the same valid KvK number (one to one)."""
    a = cur.dropna(subset=["kvk_norm"])[["response_id", "kvk_norm"]]
    b = prev.dropna(subset=["kvk_norm"])[["response_id", "kvk_norm"]].rename(
        columns={"response_id": "previous_response_id"}
    )
    pairs = a.merge(b, on="kvk_norm").drop_duplicates("response_id").drop_duplicates("previous_response_id")
    return pairs.assign(match_probability=1.0, method="kvk")[LINK_COLUMNS]


def _frame(df: pd.DataFrame) -> pd.DataFrame:
    out = df[["response_id", *FIELDS]].copy()
    out = out.rename(columns={"response_id": "unique_id"})
    out["founding_year"] = (
        out["founding_year"].astype("Float64").astype(object).where(out["founding_year"].notna(), None)
    )
    out["founding_year"] = out["founding_year"].map(lambda v: None if v is None else str(int(v)))
    for col in FIELDS:
        out[col] = out[col].astype(object).where(out[col].notna() & (out[col].astype(str) != ""), None)
    return out.reset_index(drop=True)


def probabilistic_links(
    cur: pd.DataFrame,
    prev: pd.DataFrame,
    seed: int = 42,
    em_min_records: int | None = None,
    repeat_share: float = 0.15,
    min_probability: float = 0.5,
) -> pd.DataFrame:
    """Splink link_only between the firms exact matching left over: scored candidate pairs."""
    import splink.comparison_library as cl
    from splink import DuckDBAPI, Linker, SettingsCreator, block_on

    if cur.empty or prev.empty:
        return pd.DataFrame(columns=LINK_COLUMNS)
    left, right = _frame(cur), _frame(prev)
    settings = SettingsCreator(
        link_type="link_only",
        unique_id_column_name="unique_id",
        # prior that two random records are the same firm: about `repeat_share` of the smaller year repeats
        probability_two_random_records_match=min(
            0.5, repeat_share * min(len(left), len(right)) / (len(left) * len(right))
        ),
        # m probabilities start from priors (how often a true repeat firm keeps each field); EM
        # refines them where the data are large enough to estimate them (em_min_records).
        comparisons=[
            cl.JaroWinklerAtThresholds("name_norm", [0.97, 0.90]).configure(m_probabilities=[0.62, 0.16, 0.12, 0.10]),
            cl.ExactMatch("postcode_norm").configure(m_probabilities=[0.78, 0.22]),
            cl.ExactMatch("pc4").configure(m_probabilities=[0.80, 0.20]),
            cl.ExactMatch("email_domain").configure(term_frequency_adjustments=True, m_probabilities=[0.70, 0.30]),
            cl.ExactMatch("sbi4").configure(m_probabilities=[0.95, 0.05]),
            cl.ExactMatch("founding_year").configure(m_probabilities=[0.99, 0.01]),
            cl.LevenshteinAtThresholds("kvk_norm", [1]).configure(m_probabilities=[0.50, 0.45, 0.05]),
        ],
        # Blocking keeps the candidate pairs proportional to the data: same PC4, same name, same
        # founding year and SBI, or same e-mail domain and founding year (common domains alone
        # such as gmail.com would make huge blocks).
        blocking_rules_to_generate_predictions=[
            block_on("pc4"),
            block_on("name_norm"),
            block_on("founding_year", "sbi4"),
            block_on("email_domain", "founding_year"),
        ],
        retain_matching_columns=False,
    )
    db = DuckDBAPI()
    logging.getLogger("splink").setLevel(logging.WARNING)
    linker = Linker([db.register(left), db.register(right)], settings, log_level=logging.WARNING)
    # One chunk: all sampled pairs in one pass (the chunked early stop costs more than it saves here).
    linker.training.estimate_u_using_random_sampling(max_pairs=2e5, seed=seed, num_chunks=1)
    set_unobserved_u(linker)
    if em_min_records is not None and min(len(left), len(right)) >= em_min_records:
        for rule in (block_on("pc4"), block_on("founding_year", "sbi4")):
            try:
                linker.training.estimate_parameters_using_expectation_maximisation(rule, fix_u_probabilities=True)
            except ValueError:  # a level never observed in the block: keep the prior m probabilities
                pass
    scored = linker.inference.predict(threshold_match_probability=min_probability).as_pandas_dataframe()
    if scored.empty:
        return pd.DataFrame(columns=LINK_COLUMNS)
    cur_ids = set(left["unique_id"])
    cur_col = np.where(scored["unique_id_l"].isin(cur_ids), "l", "r")
    out = pd.DataFrame(
        {
            "response_id": np.where(cur_col == "l", scored["unique_id_l"], scored["unique_id_r"]),
            "previous_response_id": np.where(cur_col == "l", scored["unique_id_r"], scored["unique_id_l"]),
            "match_probability": scored["match_probability"].astype(float).round(6),
            "method": "probabilistic",
        }
    )
    return out.sort_values(["match_probability", "response_id"], ascending=[False, True], kind="mergesort")


UNOBSERVED_U = 1e-6


def set_unobserved_u(linker: Any) -> None:
    """Give the u probability of each level that random pairs never reached its value on purpose.

    After exact KvK matching, the firms left have no KvK number in common: two different firms
    never share one, and random pairs of 8-digit numbers one edit apart are about 72 in 10^8. So
    the random sample never observes the `kvk_norm` agreement levels, and Splink warned at every
    run that it falls back to u = 1e-6 for them. That value is the right order for a unique
    identifier, so it is set here as a prior (the same links as before, and no warning that
    means no problem). Splink has no public setter for one level's u after training: this uses
    the linker's settings object."""
    from splink.internals.constants import LEVEL_NOT_OBSERVED_TEXT

    for comparison in linker._settings_obj.comparisons:
        for level in comparison._comparison_levels_excluding_null:
            if level._u_probability in (None, LEVEL_NOT_OBSERVED_TEXT):
                level.u_probability = UNOBSERVED_U


def one_to_one(pairs: pd.DataFrame, threshold: float) -> pd.DataFrame:
    """Greedy one-to-one assignment of pairs at or above the threshold, best first."""
    chosen, used_cur, used_prev = [], set(), set()
    ordered = pairs.sort_values(
        ["match_probability", "response_id", "previous_response_id"], ascending=[False, True, True], kind="mergesort"
    )
    for row in ordered.itertuples(index=False):
        if row.match_probability < threshold or row.response_id in used_cur or row.previous_response_id in used_prev:
            continue
        chosen.append(row)
        used_cur.add(row.response_id)
        used_prev.add(row.previous_response_id)
    return pd.DataFrame(chosen, columns=LINK_COLUMNS)


def link_firms(
    cur: pd.DataFrame,
    prev: pd.DataFrame,
    accept: float,
    review: float,
    decisions: pd.DataFrame | None = None,
    em_min_records: int | None = None,
    repeat_share: float = 0.15,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(accepted links, pairs for clerical review). Reviewed decisions override the model."""
    exact = exact_links(cur, prev)
    rest_cur = cur[~cur["response_id"].isin(exact["response_id"])]
    rest_prev = prev[~prev["response_id"].isin(exact["previous_response_id"])]
    scored = probabilistic_links(
        rest_cur, rest_prev, em_min_records=em_min_records, repeat_share=repeat_share, min_probability=review
    )
    if decisions is not None and len(decisions):
        key = decisions.set_index(["response_id", "previous_response_id"])["decision"].to_dict()
        decided = [key.get((a, b)) for a, b in zip(scored["response_id"], scored["previous_response_id"], strict=True)]
        scored = scored.assign(decision=decided)
        scored.loc[scored["decision"] == "match", ["match_probability", "method"]] = [1.0, "reviewed"]
        scored = scored[scored["decision"] != "non-match"].drop(columns="decision")
        extra = decisions[
            (decisions["decision"] == "match")
            & ~decisions.set_index(["response_id", "previous_response_id"]).index.isin(
                scored.set_index(["response_id", "previous_response_id"]).index
            )
        ]
        extra = extra[
            extra["response_id"].isin(rest_cur["response_id"])
            & extra["previous_response_id"].isin(rest_prev["response_id"])
        ]
        scored = pd.concat([scored, extra.assign(match_probability=1.0, method="reviewed")[LINK_COLUMNS]])
    accepted = one_to_one(scored, accept)
    linked_cur = set(accepted["response_id"])
    linked_prev = set(accepted["previous_response_id"])
    review_pairs = scored[
        (scored["match_probability"] >= review)
        & (scored["match_probability"] < accept)
        & ~scored["response_id"].isin(linked_cur)
        & ~scored["previous_response_id"].isin(linked_prev)
    ]
    links = pd.concat([exact, accepted], ignore_index=True)
    return links.sort_values("response_id", kind="mergesort").reset_index(drop=True), review_pairs


def assign_panel(
    valid: pd.DataFrame,
    ident: pd.DataFrame,
    links: pd.DataFrame,
    previous_panel: pd.DataFrame | None,
    year: int,
    key: bytes,
) -> pd.DataFrame:
    """The respondent table with `panel_id` (inherited when linked) and `in_previous`."""
    ident = ident.set_index("response_id").loc[valid["response_id"]].reset_index()
    own = panel_ids(ident, year, key).to_numpy()
    out = valid.copy()
    out["panel_id"] = own
    if previous_panel is None:
        out["in_previous"] = pd.NA
        return out
    inherited = links.merge(
        previous_panel.rename(columns={"response_id": "previous_response_id", "panel_id": "inherited"}),
        on="previous_response_id",
    )
    mapping = dict(zip(inherited["response_id"], inherited["inherited"], strict=True))
    out["panel_id"] = [mapping.get(r, p) for r, p in zip(out["response_id"], out["panel_id"], strict=True)]
    out["in_previous"] = out["response_id"].isin(mapping).astype("int64")
    return out


def by_platform_id(identities: pd.DataFrame) -> pd.DataFrame:
    """Identities with the platform's response id as `response_id`: what linking, the review file
    and the reviewed decisions speak."""
    return identities.assign(response_id=identities["platform_response_id"])


def to_pseudonyms(links: pd.DataFrame, cur: pd.DataFrame, prev: pd.DataFrame) -> pd.DataFrame:
    """Links between platform ids as links between the responses' pseudonyms."""
    own = dict(zip(cur["platform_response_id"], cur["response_id"], strict=True))
    before = dict(zip(prev["platform_response_id"], prev["response_id"], strict=True))
    return links.assign(
        response_id=links["response_id"].map(own), previous_response_id=links["previous_response_id"].map(before)
    )


def registry_uri(processed_root: str, year: int, key_id: str) -> str:
    """The panel registry's entry of one year (private zone): every valid firm's `panel_id` and
    whether it answered the year before, as linked with that year's own predecessor. One folder per
    linkage key (its fingerprint), since panel ids are keyed hashes."""
    return storage.join(processed_root, "panel", key_id, f"{year}.parquet")


def registered_panel(processed_root: str, year: int, response_ids: pd.Series, key_id: str) -> pd.DataFrame | None:
    """The registry's entry of `year` if it holds exactly these respondents, else None."""
    uri = registry_uri(processed_root, year, key_id)
    if not storage.exists(uri):
        return None
    entry = pd.read_parquet(io.BytesIO(storage.read_bytes(uri)))
    if set(entry["response_id"]) != set(response_ids):
        return None  # the year's valid respondents changed (a correction): link it anew
    return entry


def register_panel(
    processed_root: str, year: int, table: pd.DataFrame, known: pd.DataFrame | None, key_id: str
) -> None:
    """Keep a year's panel ids for later windows. `known` is the registry's entry for these
    respondents (`registered_panel`). An entry linked with its predecessor is never replaced by one
    without (the year became the oldest of a window) for the same respondents."""
    entry = table[["response_id", "panel_id", "in_previous"]].astype({"in_previous": "Int64"})
    entry = entry.sort_values("response_id", kind="mergesort").reset_index(drop=True)
    if known is not None and (entry["in_previous"].isna().all() and known["in_previous"].notna().any()):
        return
    data = refs.frame_bytes(entry)
    uri = registry_uri(processed_root, year, key_id)
    if not storage.exists(uri) or storage.read_bytes(uri) != data:
        storage.write_bytes(uri, data)


@cached_stage("link", reads={"validated": ("year", "valid", "identities", "counts")})
def link_task(
    validated: dict[str, Any],
    previous: dict[str, Any] | None,
    cfg_ref: dict[str, Any],
    processed_root: str,
    decisions: dict[str, Any] | None,
    key_id: str,
) -> dict[str, Any]:
    """Prefect wrapper: valid respondents of a year (+ the previous year's linked table) -> the
    processed respondent table with panel_id, the links, and the clerical-review candidates.
    `key_id`: the run's panel key's fingerprint, which names the key's panel registry."""
    cfg = RunConfig.model_validate(refs.get_json(cfg_ref))
    year = int(validated["year"])
    valid = refs.get_frame(validated["valid"])
    ident = refs.get_frame(validated["identities"])
    ident = ident[ident["response_id"].isin(valid["response_id"])]
    root = storage.join(processed_root, str(year))
    links = pd.DataFrame(columns=LINK_COLUMNS)
    review = pd.DataFrame(columns=LINK_COLUMNS)
    previous_panel = None
    if previous is not None:
        prev_ident = refs.get_frame(previous["identities"])
        prev_table = refs.get_frame(previous["respondents"])[["response_id", "panel_id"]]
        prev_ident = prev_ident[prev_ident["response_id"].isin(prev_table["response_id"])]
        linking = cfg.linking
        reviewed = pd.read_csv(io.BytesIO(refs.get_bytes(decisions)), dtype=str) if decisions else None
        with progress.steps("link", year, 1) as step:
            step(f"linking {len(ident):,} firms to {len(prev_ident):,} of {year - 1} (exact KvK, then Splink)")
            links, review = link_firms(
                by_platform_id(ident),
                by_platform_id(prev_ident),
                float(linking.accept),
                float(linking.review),
                reviewed,
                linking.em_min_records,
                float(linking.expected_repeat_share),
            )
        links = to_pseudonyms(links, ident, prev_ident)
        previous_panel = prev_table
    key = run_key(cfg.linking.key_env, key_id)
    table = assign_panel(valid, ident, links, previous_panel, year, key).drop(columns=["firm_hash"])
    known = registered_panel(processed_root, year, table["response_id"], key_id)
    if previous is None and known is not None:  # the oldest year of a window: ids and repeats as once linked
        kept = known.set_index("response_id").loc[table["response_id"]]
        table["panel_id"] = kept["panel_id"].to_numpy()
        if kept["in_previous"].notna().all():
            table["in_previous"] = kept["in_previous"].astype("int64").to_numpy()
    register_panel(processed_root, year, table, known, key_id)
    known = table["in_previous"].notna().all() and len(table) > 0
    repeats = int(table["in_previous"].astype("Int64").sum()) if known else None
    facts = {**validated["counts"], "repeat": repeats}
    private = storage.join(root, "private")
    return {
        "year": year,
        "respondents": refs.put_frame(root, "respondents", table),
        "facts": facts,
        "identities": validated["identities"],
        "links": refs.put_frame(private, "links", links),
        "review": refs.put_bytes(private, "review-candidates", review.to_csv(index=False).encode(), "csv"),
    }
