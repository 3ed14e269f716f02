"""Generate one monitor year's responses in canonical variables, calibrated to the report.

Calibration is by quota allocation (see `quota`): the innovation-pyramid segment of each firm is
allocated first (Tabel 1, normalised), and every item is then allocated with the constraints the
segment rules impose and with weights that plant the report's model effects (Tabel 10, 11, 14).
"""

from __future__ import annotations

import string
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd

from innomon import config as config_mod
from innomon import reference
from innomon.synth import firms
from innomon.synth.quota import (
    allocate,
    allocate_binary,
    choose_weighted,
    largest_remainder,
    scale_to_mean,
    tilted_distribution,
)
from innomon.synth.targets import Targets
from schemas.vocabulary import COLLAB, NETWORK, ORGANISATIONAL, PROCESS, PRODUCT, PYRAMID, SUBSIDY_SCHEMES

INNOVATION = PRODUCT + PROCESS + ORGANISATIONAL
PROFILE_COLUMNS = [
    "firm_id",
    "company_name",
    "kvk_number",
    "email",
    "postcode",
    "province",
    "sector",
    "sbi_code",
    "founding_year",
    "age_class",
    "repeat",
]
AGE_RANGES = {"startend": (0, 1), "jong": (2, 4), "adolescent": (5, 9), "oud": (10, 90)}
FTE_RANGES = {"micro": (1.0, 9.9), "klein": (10.0, 99.0), "middelgroot": (100.0, 249.0)}


@dataclass
class Plan:
    """What to generate for a year (from the year's `synth` config)."""

    year: int
    n_valid: int
    repeats: int
    seed: int
    planted: dict[str, int]
    overig_share: float


def plan_for(cfg: dict[str, Any], n: int | None = None, seed: int | None = None) -> Plan:
    """The generation plan of a year; `n` and `seed` override the config."""
    s = cfg.get("synth") or {}
    n_valid = int(n if n is not None else s.get("n_valid", 400))
    default_n = int(s.get("n_valid", 400))
    repeats = round(int(s.get("repeat_from_previous", 0)) * n_valid / default_n) if default_n else 0
    return Plan(
        year=int(cfg["year"]),
        n_valid=n_valid,
        repeats=repeats,
        seed=int(seed if seed is not None else s.get("seed", cfg["year"])),
        planted={k: int(v) for k, v in (s.get("planted") or {}).items()},
        overig_share=float(s.get("overig_share", 0.05)),
    )


def _rng(seed: int, *salt: int) -> np.random.Generator:
    return np.random.default_rng([seed, *salt])


@lru_cache(maxsize=16)
def _profiles_cached(year: int, n: int | None, seed: int | None, cdir: str, region: str | None) -> pd.DataFrame:
    cfg = config_mod.load(year, region=region)
    plan = plan_for(cfg, n, seed)
    previous = None
    if plan.repeats > 0 and (year - 1) in config_mod.available_years():
        prev_cfg = config_mod.load(year - 1, region=region)
        prev_seed = None if seed is None else seed - 1
        prev_n = None if n is None else round(n * plan_for(prev_cfg).n_valid / plan_for(cfg).n_valid)
        previous = _profiles_cached(year - 1, prev_n, prev_seed, cdir, region)
    return _make_profiles(cfg, plan, previous)


def profiles(year: int, n: int | None = None, seed: int | None = None) -> pd.DataFrame:
    """Valid firms of a year with identity and profile; repeat firms carried over from year - 1."""
    return _profiles_cached(year, n, seed, str(config_mod.config_dir()), config_mod.current_region()).copy()


def _make_profiles(cfg: dict[str, Any], plan: Plan, previous: pd.DataFrame | None) -> pd.DataFrame:
    rng = _rng(plan.seed, 1)
    targets = Targets(plan.year)
    n = plan.n_valid
    year = plan.year
    provinces = list(cfg["region"]["provinces"])
    sectors = list(cfg["sectors"]["order"])
    forced: dict[str, list[Any]] = {"province": [None] * n, "sector": [None] * n, "age_class": [None] * n}
    carried = None
    if previous is not None and plan.repeats:
        pick = np.sort(rng.choice(len(previous), size=min(plan.repeats, len(previous)), replace=False))
        carried = previous.iloc[pick].reset_index(drop=True)
        n_c = len(carried)
        forced["province"][:n_c] = carried["province"].tolist()
        forced["sector"][:n_c] = carried["sector"].tolist()
        forced["age_class"][:n_c] = [_age_class(year - int(f)) for f in carried["founding_year"]]
    pc4 = reference.pc4_table(str(config_mod.reference_path(cfg, "pc4")))
    if cfg.get("synth", {}).get("province_shares") == "pc4":  # e.g. the national profile
        counts = pc4["province"].value_counts()
        prov_p = [float(counts.get(p, 0)) / float(counts.reindex(provinces).sum()) for p in provinces]
    else:  # the report's Tabel 4 shares (the default region)
        prov_p = targets.distribution("province", provinces, [1 / len(provinces)] * len(provinces))
    province = allocate(rng, n, provinces, prov_p, forced["province"])
    eight = sectors[:-1]
    sector_p = [p * (1 - plan.overig_share) for p in targets.distribution("sector", eight, [1 / 8] * 8)]
    sector = allocate(rng, n, sectors, [*sector_p, plan.overig_share], forced["sector"])
    age_keys = list(AGE_RANGES)
    age_class = allocate(
        rng, n, age_keys, targets.distribution("age_class", age_keys, [0.07, 0.11, 0.16, 0.66]), forced["age_class"]
    )
    sbi_codes = pd.read_csv(config_mod.reference_path(cfg, "sbi"), dtype=str, keep_default_na=False)
    taken: set[str] = set()
    if carried is not None:
        taken |= {str(x).lower() for x in carried["company_name"]}
    n_carried = 0 if carried is None else len(carried)
    m = n - n_carried
    # Addresses, SBI codes and founding years are drawn for all new firms at once (no per-firm
    # DataFrame filtering: this runs at 100,000 firms a year in the scale benchmark).
    new_province = np.asarray(province[n_carried:], dtype=object)
    pc4_codes = np.empty(m, dtype=object)
    new_places_arr = np.empty(m, dtype=object)
    for prov in sorted(set(new_province.tolist())):
        idx = np.flatnonzero(new_province == prov)
        pool = pc4[pc4["province"] == prov]
        pick = rng.integers(len(pool), size=len(idx))
        pc4_codes[idx] = pool["pc4"].to_numpy(dtype=object)[pick]
        place = pool["plaats"].where(pool["plaats"] != "", pool["gemeente"]).replace("", "Noord")
        new_places_arr[idx] = place.to_numpy(dtype=object)[pick]
    alphabet = np.array(list("ABCDEGHJKLMNPRSTVWXZ"), dtype=object)
    letters = alphabet[rng.integers(len(alphabet), size=(m, 2))]
    new_postcodes = [f"{code} {a}{b}" for code, (a, b) in zip(pc4_codes, letters, strict=True)]
    new_places = [str(p) for p in new_places_arr]
    names = firms.firm_names(rng, [str(s) for s in sector[n_carried:]], new_places, taken)
    kvk_pool = rng.choice(89_999_999, size=m, replace=False) + 10_000_000
    new_age = np.asarray(age_class[n_carried:], dtype=object)
    lo = np.array([AGE_RANGES[str(a)][0] for a in new_age], dtype=int)
    hi = np.array([AGE_RANGES[str(a)][1] for a in new_age], dtype=int)
    founding = year - rng.integers(lo, hi + 1) if m else np.array([], dtype=int)
    has_kvk = rng.random(m) >= 0.10
    sbi = firms.sbi_codes_for(rng, np.asarray(sector[n_carried:], dtype=object), sbi_codes)
    rows = {
        "firm_id": [f"F{year}-{i:06d}" for i in range(n_carried, n)],
        "company_name": names,
        "kvk_number": [f"{k:08d}" if ok else "" for k, ok in zip(kvk_pool, has_kvk, strict=True)],
        "email": [firms.email_for(name, place) for name, place in zip(names, new_places, strict=True)],
        "postcode": new_postcodes,
        "province": new_province,
        "sector": np.asarray(sector[n_carried:], dtype=object),
        "sbi_code": sbi,
        "founding_year": founding.astype(int),
        "age_class": new_age,
        "repeat": np.zeros(m, dtype=int),
    }
    new = pd.DataFrame(rows, columns=PROFILE_COLUMNS)
    if carried is not None:
        carried = add_identity_noise(_rng(plan.seed, 4), carried.copy(), pc4, cfg.get("synth", {}).get("noise"))
        carried["age_class"] = [_age_class(year - int(f)) for f in carried["founding_year"]]
        carried["repeat"] = 1
        new = plant_namesakes(_rng(plan.seed, 5), new, carried)
        new = pd.concat([carried[PROFILE_COLUMNS], new], ignore_index=True)
    return new


NOISE = {"name_variant": 0.30, "no_kvk": 0.25, "kvk_typo": 0.05, "moved": 0.20, "new_email": 0.50, "namesakes": 0.10}


def _name_variant(rng: np.random.Generator, name: str) -> str:
    """Case, legal form or a typo: how a firm's name drifts between years."""
    kind = int(rng.integers(3))
    if kind == 0:
        return name.lower()
    if kind == 1:
        for form in ("Holding B.V.", "B.V.", "V.O.F."):
            if name.endswith(form):
                return name[: -len(form)].strip() + (" BV" if form == "B.V." else "")
        return f"{name} B.V."
    letters = [i for i, ch in enumerate(name) if ch.isalpha()]
    i = letters[int(rng.integers(1, len(letters) - 1))]
    return name[:i] + name[i + 1] + name[i] + name[i + 2 :]  # two adjacent letters swapped


def add_identity_noise(
    rng: np.random.Generator, carried: pd.DataFrame, pc4: pd.DataFrame, shares: dict[str, float] | None = None
) -> pd.DataFrame:
    """Repeat firms as they answer a year later: name variants, a missing or mistyped KvK number, a
    move within the region, a new e-mail address (shares in the year's `synth.noise`)."""
    shares = {**NOISE, **(shares or {})}
    n = len(carried)
    order = rng.permutation(n)
    n_blank = round(shares["no_kvk"] * n)
    n_typo = round(shares["kvk_typo"] * n)
    blank, typo = set(order[:n_blank]), set(order[n_blank : n_blank + n_typo])
    pools = {prov: grp["pc4"].to_numpy(dtype=object) for prov, grp in pc4.groupby("province", sort=True)}
    names = carried["company_name"].astype(str).tolist()
    kvks = carried["kvk_number"].astype(str).tolist()
    postcodes = carried["postcode"].astype(str).tolist()
    emails = carried["email"].astype(str).tolist()
    provinces = carried["province"].astype(str).tolist()
    for i in range(n):  # per firm, but on plain lists: cheap at 100,000 firms
        if rng.random() < shares["name_variant"]:
            names[i] = _name_variant(rng, names[i])
        kvk = kvks[i]
        if i in blank:
            kvk = ""
        elif i in typo and kvk:
            pos = int(rng.integers(8))
            kvk = kvk[:pos] + str((int(kvk[pos]) + 1 + int(rng.integers(9))) % 10) + kvk[pos + 1 :]
        kvks[i] = kvk
        if rng.random() < shares["moved"]:
            pool = pools[provinces[i]]
            new_pc4 = pool[int(rng.integers(len(pool)))]
            while new_pc4 == postcodes[i][:4] and len(pool) > 1:
                new_pc4 = pool[int(rng.integers(len(pool)))]
            letters = "".join(rng.choice(list("ABCDEGHJKLMNPRSTVWXZ"), size=2))
            postcodes[i] = f"{new_pc4} {letters}"
        if rng.random() < shares["new_email"]:
            local, domain = emails[i].split("@", 1)
            emails[i] = f"contact@{domain}" if rng.random() < 0.5 else f"{local}.{domain.split('.')[0]}@gmail.com"
    carried["company_name"] = names
    carried["kvk_number"] = kvks
    carried["postcode"] = postcodes
    carried["email"] = emails
    return carried


def plant_namesakes(
    rng: np.random.Generator, new: pd.DataFrame, carried: pd.DataFrame, share: float = NOISE["namesakes"]
) -> pd.DataFrame:
    """Some new firms carry exactly the name of a repeat firm, in another town (and another firm)."""
    k = min(len(new), max(1, round(share * len(carried))))
    targets = rng.choice(len(new), size=k, replace=False)
    sources = rng.choice(len(carried), size=k, replace=False)
    for t_idx, s_idx in zip(targets, sources, strict=True):
        if new.iloc[t_idx]["postcode"][:4] != carried.iloc[s_idx]["postcode"][:4]:
            new.iat[t_idx, new.columns.get_loc("company_name")] = carried.iloc[s_idx]["company_name"]
    return new


def _age_class(age: int) -> str:
    for key, (lo, hi) in AGE_RANGES.items():
        if lo <= age <= hi:
            return key
    return "oud"


def generate_valid(cfg: dict[str, Any], n: int | None = None, seed: int | None = None) -> pd.DataFrame:
    """Canonical answers of the year's valid respondents (identity columns included)."""
    plan = plan_for(cfg, n, seed)
    prof = profiles(plan.year, n, seed)
    rng = _rng(plan.seed, 2)
    t = Targets(plan.year)
    n = len(prof)
    year = plan.year
    df = prof.copy()
    asked_vars = {r["variable"] for r in cfg["datamap_rows"]}

    # Size (Tabel 2) and FTE.
    size_keys = list(FTE_RANGES)
    size = allocate(rng, n, size_keys, t.distribution("size_class", size_keys, [0.6, 0.35, 0.05]))
    df["fte"] = [round(float(rng.uniform(*FTE_RANGES[str(s)])), 1) for s in size]
    df["family_business"] = allocate(rng, n, [1, 2], [0.55, 0.45])

    # Pyramid segment (Tabel 1, normalised) and the volger subtypes: volgers without any innovation
    # (R&D or collaboration only) make up the non-innovators beyond the niet-innovatieven (K02).
    seg = allocate(rng, n, PYRAMID, t.distribution("pyramid", PYRAMID, [0.4, 0.05, 0.15, 0.25, 0.15]))
    niet = seg == "niet_innovatief"
    volger = rng.permutation(np.flatnonzero(seg == "volger"))
    if t.has("innovator", "pct"):
        k_ni = round(n * (1 - t.value("innovator", "pct", "1") / 100)) - int(niet.sum())
    else:
        k_ni = len(volger) // 2
    k_ni = int(np.clip(k_ni, 0, len(volger)))
    ni_volger = np.isin(np.arange(n), volger[:k_ni])
    rest = volger[k_ni:]
    pp_volger = np.isin(np.arange(n), rest[: len(rest) // 2])
    org_volger = np.isin(np.arange(n), rest[len(rest) // 2 :])
    must_pp = np.isin(seg, ["koploper", "ontwikkelaar", "toepasser"]) | pp_volger
    np_volger = ni_volger | org_volger
    seg_weight = (
        pd.Series(seg)
        .map({"koploper": 2.0, "ontwikkelaar": 1.5, "toepasser": 1.2, "volger": 0.6, "niet_innovatief": 0.1})
        .to_numpy(dtype=float)
    )
    everyone = np.ones(n, dtype=bool)
    none = np.zeros(n, dtype=bool)

    # Innovation items (Tabel 6) under the segment constraints.
    pp_items = PRODUCT + PROCESS
    pp_share = np.array([t.value(i, "pct", "1", 40.0) for i in pp_items])
    forced_pp = {i: np.zeros(n, dtype=bool) for i in pp_items}
    for u in np.flatnonzero(must_pp):
        forced_pp[pp_items[int(rng.choice(len(pp_items), p=pp_share / pp_share.sum()))]][u] = True
    forced_org = {i: np.zeros(n, dtype=bool) for i in ORGANISATIONAL}
    for u in np.flatnonzero(org_volger):
        forced_org[ORGANISATIONAL[int(rng.integers(3))]][u] = True
    for item in pp_items:
        df[item] = _yn(
            allocate_binary(
                rng, t.value(item, "pct", "1", 40.0) / 100, everyone, forced_pp[item], niet | np_volger, seg_weight
            )
        )
    for item in ORGANISATIONAL:
        df[item] = _yn(
            allocate_binary(
                rng, t.value(item, "pct", "1", 30.0) / 100, everyone, forced_org[item], niet | ni_volger, seg_weight
            )
        )
    prodproc = df[list(pp_items)].eq(1).any(axis=1).to_numpy()
    innovator = df[list(INNOVATION)].eq(1).any(axis=1).to_numpy()

    # Who developed (routing: product or process innovators).
    dev = np.full(n, np.nan)
    dev[seg == "ontwikkelaar"] = 1
    for u in np.flatnonzero(prodproc & (seg != "ontwikkelaar")):
        dev[u] = rng.choice([1, 2, 3], p=[0.3, 0.45, 0.25]) if seg[u] == "koploper" else rng.choice([2, 3])
    df["inno_developer"] = dev

    # R&D (koplopers continuous and systematic; only firms without product/process innovation may be
    # systematic without being koploper; niet-innovatieven do none).
    rd = np.where(rng.random(n) < 0.55, 2.0, 3.0)
    rd[seg == "koploper"] = 1
    rd[org_volger] = rng.choice([1.0, 2.0, 3.0], size=int(org_volger.sum()), p=[0.25, 0.45, 0.30])
    rd[ni_volger] = rng.choice([1.0, 2.0], size=int(ni_volger.sum()), p=[0.3, 0.7])  # volger through R&D
    rd[niet] = 3
    df["rd_systematic"] = rd
    rd_active = np.isin(rd, [1, 2])
    _rd_amounts(rng, df, t, rd_active, rd == 1)

    # Delivery focus (Tabel 24, 2023+) first, so that protection (which drives the model effects) can
    # follow Tabel 25 by orientation.
    orientation_keys = ["lokaal", "nationaal", "europees", "wereldwijd"]
    if "delivery_focus" in asked_vars:
        probs = t.distribution("orientation", orientation_keys, [0.3, 0.4, 0.2, 0.1])
        df["delivery_focus"] = allocate(rng, n, [1.0, 2.0, 3.0, 4.0], probs).astype(float)
        groups = [
            (f"orientation={k}", df["delivery_focus"].eq(i + 1).to_numpy()) for i, k in enumerate(orientation_keys)
        ]
    else:
        groups = [("all", everyone)]
    for item, default in (("protect_patents", 15.0), ("protect_secrecy", 45.0)):
        ones = np.zeros(n, dtype=int)
        for group, members in groups:
            share = t.value(item, "pct", "1", default, group=group) if t.has(item, "pct", group) else default
            ones |= allocate_binary(
                rng, share / 100, members, none, none, seg_weight if item == "protect_patents" else None
            )
        df[item] = _yn(ones)

    # Collaboration and networks (Tabel 17, 18): toepassers need one, pp-volgers and niet none.
    forced_collab = {i: np.zeros(n, dtype=bool) for i in COLLAB}
    for u in np.flatnonzero(seg == "toepasser"):
        forced_collab[COLLAB[int(rng.integers(len(COLLAB)))]][u] = True
    no_collab = pp_volger | niet
    for item in COLLAB:
        df[item] = _yn(
            allocate_binary(
                rng, t.value(item, "pct", "1", 20.0) / 100, everyone, forced_collab[item], no_collab, seg_weight
            )
        )
    # Networks (Tabel 18); where the report gives Tabel 22's bases per province, that many
    # participants of each province also say where the network is (the others leave it blank).
    netloc_answer = {}
    provinces = df["province"].to_numpy()
    for item in NETWORK:
        loc = item.replace("network_", "netloc_", 1)
        forced = np.zeros(n, dtype=bool)
        if loc in asked_vars:
            for prov in sorted(set(provinces)):
                k = (
                    t.value(loc, "n", "", None, group=f"province={prov}")
                    if t.has(loc, "n", f"province={prov}")
                    else None
                )
                if k:
                    pool = np.where((provinces == prov) & ~no_collab, seg_weight, 0.0)
                    forced[choose_weighted(rng, pool, int(k))] = True
        ones = allocate_binary(rng, t.value(item, "pct", "1", 10.0) / 100, everyone, forced, no_collab, seg_weight)
        netloc_answer[loc] = forced if forced.any() else ones.astype(bool)
        df[item] = _yn(ones)

    _turnover(rng, df, t, seg == "koploper")
    _technologies(rng, df, t, rd_active)
    _profit(rng, df, t)
    _likerts(rng, df, t, innovator, prodproc)
    _subsidies(rng, df, t, year, asked_vars)
    _regional(rng, df, t, asked_vars, netloc_answer)
    _unmodelled_items(_rng(plan.seed, 7), df, cfg)
    return df


def _unmodelled_items(rng: np.random.Generator, df: pd.DataFrame, cfg: dict[str, Any]) -> None:
    """Answers to the items of the year's datamap the generator has no model for (a new item such as
    `tech_quantum`): uniform over the item's answer codes (or its range), only where routing says the
    question was shown, so a new item is tabulated instead of coming out "not asked". Its own random
    stream: the modelled items' answers do not change when an item is added."""
    from schemas.datamap import parse_codes
    from tasks.derive.stage import routing_masks

    masks: dict[str, pd.Series] | None = None
    for row in cfg["datamap_rows"]:
        var, typ = row["variable"], row["type"]
        if var in df.columns or row.get("block") == "meta" or typ in ("id", "text", "datetime"):
            continue
        spec = parse_codes(row["codes"])
        if spec.codes:
            values = rng.choice(np.array(sorted(spec.codes), dtype=float), size=len(df))
        else:
            low, high = spec.low if spec.low is not None else 0.0, spec.high if spec.high is not None else 100.0
            values = np.floor(rng.uniform(low, high + 1, size=len(df))).clip(low, high)
        rule = (row.get("routing") or "").strip()
        if rule:
            masks = masks if masks is not None else routing_masks(df, int(cfg["year"]))
            if rule not in masks:  # a routing the generator cannot evaluate: leave the item unanswered
                continue
            values = np.where(masks[rule].to_numpy(dtype=bool), values, np.nan)
        df[var] = values


def _yn(ones: np.ndarray) -> np.ndarray:
    """1/0 -> the datamap's 1 = Ja, 2 = Nee."""
    return np.where(ones == 1, 1.0, 2.0)


def _rd_amounts(
    rng: np.random.Generator, df: pd.DataFrame, t: Targets, active: np.ndarray, systematic: np.ndarray
) -> None:
    """R&D spend and staff of R&D-active firms (Tabel 12); not asked of the others."""
    k = int(active.sum())
    for item, default, high in (
        ("rd_internal_pct", 20.0, 100.0),
        ("rd_external_pct", 6.0, 100.0),
        ("rd_employees", 4.7, 500.0),
    ):
        raw = rng.gamma(1.3, 1.0, size=k) * np.where(systematic[active], 1.4, 0.8)
        raw[rng.random(k) < 0.08] = 0.0
        vals = scale_to_mean(raw, t.value(item, "mean", "", default), 0, high)
        col = np.full(len(df), np.nan)
        col[active] = np.round(vals)
        df[item] = col


def _turnover(rng: np.random.Generator, df: pd.DataFrame, t: Targets, koploper: np.ndarray) -> None:
    """Constant sum (Tabel 9); new-to-market share rises with secrecy and internal R&D (Tabel 10)."""
    n = len(df)
    secrecy = df["protect_secrecy"].eq(1).to_numpy()
    rd_int = np.nan_to_num(df["rd_internal_pct"].to_numpy(dtype=float))
    z = 1.0 * secrecy + 0.035 * rd_int + rng.normal(0, 1.0, n)
    positive = koploper.copy()
    others = np.flatnonzero(~koploper)
    n_pos = round(0.5 * len(others))
    positive[others[np.argsort(-z[others], kind="stable")[:n_pos]]] = True
    values = np.zeros(n)
    draws = np.sort(rng.gamma(1.6, 1.0, size=int(positive.sum())))
    order = np.flatnonzero(positive)[np.argsort(z[positive], kind="stable")]
    values[order] = draws
    target = t.value("turnover_new_market", "mean", "", 25.0)
    values[positive] = scale_to_mean(values[positive], target * n / positive.sum(), 1, 95)
    new_market = np.round(values)
    new_market[positive & (new_market < 1)] = 1
    remainder = 100 - new_market
    share = rng.beta(2.0, 4.0, size=n)
    goal = t.value("turnover_new_firm", "mean", "", 20.0)
    for _ in range(30):
        current = float(np.round(remainder * np.clip(share, 0, 1)).mean())
        if current <= 0 or abs(current - goal) < 0.05:
            break
        share = share * goal / current
    new_firm = np.round(remainder * np.clip(share, 0, 1))
    df["turnover_new_market"] = new_market
    df["turnover_new_firm"] = new_firm
    df["turnover_unchanged"] = 100 - new_market - new_firm


def _technologies(rng: np.random.Generator, df: pd.DataFrame, t: Targets, active: np.ndarray) -> None:
    """Tabel 13 among R&D-active firms; active use concentrated on firms with more internal R&D,
    more staff and without secrecy (Tabel 14)."""
    secrecy = df["protect_secrecy"].eq(1).to_numpy()
    rd_int = np.nan_to_num(df["rd_internal_pct"].to_numpy(dtype=float))
    fte = df["fte"].to_numpy(dtype=float)
    org = df[list(ORGANISATIONAL)].eq(1).any(axis=1).to_numpy()
    latent = 0.05 * rd_int + 0.012 * fte - 1.3 * secrecy + 0.5 * org + rng.normal(0, 0.8, len(df))
    weight = np.exp(1.6 * latent)
    idx = np.flatnonzero(active)
    codes = ["1", "2", "3"]
    for item in [c for c in TECH_ITEMS]:
        probs = t.distribution(item, codes, [0.6, 0.25, 0.15])
        counts = largest_remainder(len(idx), probs)
        col = np.full(len(df), np.nan)
        chosen = idx[choose_weighted(rng, weight[idx], int(counts[2]))]
        col[chosen] = 3
        rest = np.setdiff1d(idx, chosen)
        rng.shuffle(rest)
        col[rest[: counts[1]]] = 2
        col[rest[counts[1] :]] = 1
        df[item] = col


TECH_ITEMS = [
    "tech_iot",
    "tech_sensors",
    "tech_additive",
    "tech_robotics",
    "tech_bigdata",
    "tech_blockchain",
    "tech_ai",
    "tech_arvr",
    "tech_drones",
    "tech_nano",
    "tech_biotech",
    "tech_photonics",
    "tech_hydrogen",
]


def _profit(rng: np.random.Generator, df: pd.DataFrame, t: Targets) -> None:
    """Net profit margin (Tabel 11 text): sign shares and mean; lower with internal R&D and size."""
    n = len(df)
    rd_int = np.nan_to_num(df["rd_internal_pct"].to_numpy(dtype=float))
    fte = df["fte"].to_numpy(dtype=float)
    z = -0.06 * rd_int - 0.015 * fte + rng.normal(0, 1.0, n)
    dont_know = rng.random(n) < 0.06
    idx = np.flatnonzero(~dont_know)
    m = len(idx)
    neg, zero, pos = largest_remainder(
        m,
        [
            t.value("profit_margin", "pct", "neg", 13.0),
            t.value("profit_margin", "pct", "zero", 3.0),
            t.value("profit_margin", "pct", "pos", 84.0),
        ],
    )
    negatives = -np.round(rng.uniform(1, 30, size=neg))
    positives = rng.gamma(2.0, 1.0, size=pos)
    goal = t.value("profit_margin", "mean", "", 15.0)
    needed = (goal * m - negatives.sum()) / max(pos, 1)
    positives = np.round(scale_to_mean(positives, needed, 1, 100))
    values = np.sort(np.concatenate([negatives, np.zeros(zero), positives]))
    col = np.full(n, 99999.0)
    col[idx[np.argsort(z[idx], kind="stable")]] = values
    df["profit_margin"] = col


def _likerts(
    rng: np.random.Generator, df: pd.DataFrame, t: Targets, innovator: np.ndarray, prodproc: np.ndarray
) -> None:
    """Environmental innovations (Tabel 7), barriers (Tabel 8), creativity (Tabel 19)."""
    n = len(df)
    env_items = ["env_material", "env_energy", "env_co2", "env_substitution", "env_pollution", "env_recycling"]
    innovators = rng.permutation(np.flatnonzero(innovator))
    k_any = round(len(innovators) * t.value("env_any", "pct", "1", 75.0) / 100)
    no_env = np.isin(np.arange(n), innovators[k_any:])  # innovators without any environmental innovation
    shares = np.array([t.value(i, "pct", "1", 40.0) for i in env_items])
    forced_env = {i: np.zeros(n, dtype=bool) for i in env_items}
    for u in innovators[:k_any]:
        forced_env[env_items[int(rng.choice(len(env_items), p=shares / shares.sum()))]][u] = True
    for item, share in zip(env_items, shares, strict=True):
        ones = allocate_binary(rng, share / 100, innovator, forced_env[item], no_env)
        df[item] = np.where(innovator, np.where(ones == 1, 1.0, 2.0), np.nan)
    for item in [
        "barrier_internal_finance",
        "barrier_external_finance",
        "barrier_partners",
        "barrier_regulation",
        "barrier_subsidies",
        "barrier_staff",
        "barrier_time",
        "barrier_ideas",
        "barrier_conversion",
        "barrier_risk",
    ]:
        top = t.value(item, "pct_top", "4", 10.0) / 100
        probs = tilted_distribution([1, 2, 3, 4], t.value(item, "mean", "", 2.2), {3: top})
        df[item] = allocate(rng, n, [1.0, 2.0, 3.0, 4.0], probs).astype(float)
    for item in [
        "creat_breakthrough",
        "creat_boundary",
        "creat_different",
        "creat_small_adjust",
        "creat_procedures",
        "creat_improvements",
    ]:
        probs = tilted_distribution([1, 2, 3, 4, 5], t.value(item, "mean", "", 3.3))
        df[item] = allocate(rng, n, [1.0, 2.0, 3.0, 4.0, 5.0], probs).astype(float)


def _subsidies(rng: np.random.Generator, df: pd.DataFrame, t: Targets, year: int, asked: set[str]) -> None:
    """Subsidy schemes (Tabel 15, 2021-2022) or the 2023 question; reasons (Tabel 16) for no_subsidy."""
    n = len(df)
    if "subsidy_any_applied" in asked:
        no_share = t.value("no_subsidy", "pct", "1", 65.0) / 100
        df["subsidy_any_applied"] = allocate(rng, n, [2.0, 1.0], [no_share, 1 - no_share]).astype(float)
        no_sub = df["subsidy_any_applied"].eq(2).to_numpy()
    else:
        for item in SUBSIDY_SCHEMES:
            probs = t.distribution(item, ["1", "2", "3"], [0.5, 0.4, 0.1])
            df[item] = allocate(rng, n, [1.0, 2.0, 3.0], probs).astype(float)
        no_sub = ~df[list(SUBSIDY_SCHEMES)].eq(3).any(axis=1).to_numpy()
    idx = np.flatnonzero(no_sub)
    for item in [
        "nosub_costs",
        "nosub_bureaucracy",
        "nosub_duration",
        "nosub_support",
        "nosub_unsuitable",
        "nosub_not_considered",
        "nosub_no_overview",
        "nosub_principle",
    ]:
        top = t.value(item, "pct_top", "3", 20.0) / 100
        probs = tilted_distribution([1, 2, 3], t.value(item, "mean", "", 1.9), {2: top})
        col = np.full(n, np.nan)
        col[idx] = allocate(rng, len(idx), [1.0, 2.0, 3.0], probs).astype(float)
        df[item] = col


def _regional(
    rng: np.random.Generator, df: pd.DataFrame, t: Targets, asked: set[str], netloc_answer: dict[str, np.ndarray]
) -> None:
    """2023 items: region (Tabel 20), partner locations (Figuur 2), network provinces (Tabel 21, and
    Tabel 22 by the firm's own province), website languages (Tabel 23)."""
    n = len(df)
    if "region_costs" not in asked:
        return
    for item in [v for v in sorted(asked) if v.startswith("region_")]:
        probs = t.distribution(item, ["1", "2", "3"], [0.3, 0.2, 0.5])
        df[item] = allocate(rng, n, [1.0, 2.0, 3.0], probs).astype(float)
    loc_codes = ["1", "2", "3", "4", "5"]
    for item in [v for v in sorted(asked) if v.startswith("loc_")]:
        who = df[item.replace("loc_", "collab_", 1)].eq(1).to_numpy()
        col = np.full(n, np.nan)
        probs = t.distribution(item, loc_codes, [0.35, 0.25, 0.25, 0.1, 0.05])
        col[who] = allocate(rng, int(who.sum()), [1.0, 2.0, 3.0, 4.0, 5.0], probs).astype(float)
        df[item] = col
    provinces = df["province"].to_numpy()
    for item in [v for v in sorted(asked) if v.startswith("netloc_")]:
        who = netloc_answer.get(item, df[item.replace("netloc_", "network_", 1)].eq(1).to_numpy())
        col = np.full(n, np.nan)
        overall = t.distribution(item, ["1", "2", "3"], [0.25, 0.3, 0.45])
        for prov in sorted(set(provinces)):
            members = who & (provinces == prov)
            group = f"province={prov}"
            probs = (
                t.distribution(item, ["1", "2", "3"], overall, group=group) if t.has(item, "pct", group) else overall
            )
            col[members] = allocate(rng, int(members.sum()), [1.0, 2.0, 3.0], probs).astype(float)
        df[item] = col
    website = [str(k) for k in range(1, 6)]
    probs = t.distribution("website_languages", website, [0.5, 0.3, 0.1, 0.05, 0.05])
    df["website_languages"] = allocate(rng, n, [float(k) for k in website], probs).astype(float)


def response_id(rng: np.random.Generator) -> str:
    """A Qualtrics-style ResponseId (`R_` + 15 characters)."""
    chars = np.array(list(string.ascii_letters + string.digits))
    return "R_" + "".join(rng.choice(chars, size=15))
