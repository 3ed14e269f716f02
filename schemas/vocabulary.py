"""The monitor's fixed vocabulary: the one source of the names every layer shares.

The pipeline's stages, the statistics a table cell may hold, the innovation pyramid's segments, the
questionnaire's item groups the derivations read, and the variables the pipeline derives. Each is
written here once; the configuration's schema, the output schemas, the command line, the flow, the
synthetic generator and the tests import it instead of keeping a copy.
"""

from __future__ import annotations

from typing import Literal, get_args

# The annual flow's stages, in the order a run performs them: what `innomon run --steps` may name.
Stage = Literal["fetch", "ingest", "derive", "validate", "weights", "link", "indicators", "models", "publish"]
STAGES: tuple[str, ...] = get_args(Stage)
# The stages a year performs for itself (cached per year, shared by every later year's run).
YEAR_STAGES: tuple[str, ...] = ("ingest", "derive", "validate", "weights", "link")

# The statistics of a cell: shares and means of the report's tables; counts; R01's invited firms and
# goodness-of-fit test; R02's weighted share and design effect.
Stat = Literal["pct", "pct_top", "mean", "n", "invited", "chi2", "p_value", "pct_w", "deff"]
STATS: tuple[str, ...] = get_args(Stat)
SHARE_STATS = frozenset({"pct", "pct_top"})

# The innovation pyramid's segments, from the most to the least innovative (SPEC section 3).
PYRAMID: tuple[str, ...] = ("koploper", "ontwikkelaar", "toepasser", "volger", "niet_innovatief")

# Item groups of the questionnaire that the derivations combine (SPEC section 3).
PRODUCT: tuple[str, ...] = ("inno_goods", "inno_services")
PROCESS: tuple[str, ...] = ("inno_production", "inno_logistics", "inno_support")
ORGANISATIONAL: tuple[str, ...] = ("org_practices", "org_responsibilities", "org_external")
COLLAB: tuple[str, ...] = (
    "collab_customers",
    "collab_consultants",
    "collab_suppliers",
    "collab_competitors",
    "collab_universities",
    "collab_other_sector",
)
NETWORK: tuple[str, ...] = ("network_innovation", "network_testbed", "network_incubator")
SUBSIDY_SCHEMES: tuple[str, ...] = (
    "subsidy_via",
    "subsidy_kei",
    "subsidy_valorisatie",
    "subsidy_proeftuinen",
    "subsidy_kennisontwikkeling",
    "subsidy_open_innovatie",
    "subsidy_mit_haalbaarheid",
    "subsidy_mit_kennisvoucher",
    "subsidy_mit_rd",
    "subsidy_wbso",
)
RD_AMOUNTS: tuple[str, ...] = ("rd_internal_pct", "rd_external_pct", "rd_employees")
ORIENTATION = {1: "lokaal", 2: "nationaal", 3: "europees", 4: "wereldwijd"}

# Variables the pipeline derives (stage derive, stage link) or fills per run: a table or model may
# name them although no datamap does. tests/test_config_check.py holds this set equal to the columns
# the demo's processed tables really have.
DERIVED = frozenset(
    {
        "age", "age_class", "any_network", "collaboration", "disruptive_any", "disruptive_count", "env_any",
        "innovator", "no_subsidy", "org_innovation", "orientation", "process_innovation", "product_innovation",
        "profit_sign", "province", "pyramid", "radical", "rd_active", "sbi_norm", "sbi_restored", "sector",
        "size_class", "turnover_valid", "in_previous", "panel_id",
    }
)  # fmt: skip
# Groupings only the panel tables build (P01, P02).
PANEL_GROUPS = frozenset({"pyramid_previous", "sample"})

# Identifying columns of a record: kept in the private identities table, never in the answers.
IDENTIFYING: tuple[str, ...] = (
    "company_name", "kvk_number", "email", "postcode", "pc4", "kvk_norm", "name_norm", "external_reference",
)  # fmt: skip
