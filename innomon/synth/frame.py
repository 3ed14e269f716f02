"""A synthetic invitation frame: the firms a year's survey was sent to, with the demo's respondents
among them, and a population with a planted bias for the weighting study.

Real samples are biased: larger firms answer more often. The demo's respondents are calibrated to
the report and stay as they are; the frame is built around them so that the response rate rises
with size class and varies by sector, as if the respondents had been drawn from it with such a
propensity. `planted_population` is the other direction, for the bias study: a frame with a known
truth, from which respondents are drawn.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from innomon import config as config_mod
from innomon import reference
from innomon.synth import firms
from innomon.synth.generate import FTE_RANGES
from innomon.synth.quota import largest_remainder

# Relative response propensity: a middle-sized firm answers five times as often as a micro firm.
SIZE_PROPENSITY = {"micro": 1.0, "klein": 3.0, "middelgroot": 5.0}
SECTOR_SPREAD = (0.8, 1.25)  # the sectors' propensities, from the first to the last in config order
FRAME_COLUMNS = ["frame_id", "sbi_code", "fte", "postcode"]


def _sector_propensity(sectors: list[str]) -> dict[str, float]:
    return dict(zip(sectors, np.linspace(*SECTOR_SPREAD, len(sectors)), strict=True))


def _register_ids(rng: np.random.Generator, k: int, taken: set[str]) -> list[str]:
    """k new 8-digit register numbers, none of them already taken."""
    out: list[str] = []
    while len(out) < k:
        for number in rng.integers(10_000_000, 99_999_999, size=k - len(out)):
            text = f"{int(number):08d}"
            if text not in taken:
                taken.add(text)
                out.append(text)
    return out


def _postcodes(rng: np.random.Generator, provinces: np.ndarray, pc4: pd.DataFrame) -> np.ndarray:
    """A postcode (`9712 AB`) in each firm's province, drawn for all firms of a province at once."""
    out = np.empty(len(provinces), dtype=object)
    alphabet = np.array(list("ABCDEGHJKLMNPRSTVWXZ"), dtype=object)
    for prov in sorted(set(provinces.tolist())):
        idx = np.flatnonzero(provinces == prov)
        pool = pc4.loc[pc4["province"] == prov, "pc4"].to_numpy(dtype=object)
        codes = pool[rng.integers(len(pool), size=len(idx))]
        letters = alphabet[rng.integers(len(alphabet), size=(len(idx), 2))]
        out[idx] = [f"{c} {a}{b}" for c, (a, b) in zip(codes, letters, strict=True)]
    return out


def _sbi_codes(cfg: dict[str, Any]) -> pd.DataFrame:
    return pd.read_csv(config_mod.reference_path(cfg, "sbi"), dtype=str, keep_default_na=False)


def _firms(
    rng: np.random.Generator, cells: pd.DataFrame, cfg: dict[str, Any], taken: set[str], codes: pd.DataFrame
) -> pd.DataFrame:
    """Frame rows for `cells` (one row per firm: province, size_class, sector); `codes` the SBI list."""
    pc4 = reference.pc4_table(str(config_mod.reference_path(cfg, "pc4")))
    sizes = cells["size_class"].to_numpy(dtype=object)
    lo = np.array([FTE_RANGES[s][0] for s in sizes])
    hi = np.array([FTE_RANGES[s][1] for s in sizes])
    return pd.DataFrame(
        {
            "frame_id": _register_ids(rng, len(cells), taken),
            "sbi_code": firms.sbi_codes_for(rng, cells["sector"].to_numpy(dtype=object), codes),
            "fte": np.round(lo + (hi - lo) * rng.random(len(cells)), 1),
            "postcode": _postcodes(rng, cells["province"].to_numpy(dtype=object), pc4),
        }
    )


def size_class_of(fte: pd.Series, cfg: dict[str, Any]) -> pd.Series:
    from innomon.normalise import classify

    return classify(pd.to_numeric(fte, errors="coerce"), cfg["classes"]["size_class"])


def build_frame(valid: pd.DataFrame, cfg: dict[str, Any], firms_total: int, seed: int) -> pd.DataFrame:
    """The invited firms: the valid respondents (their register number, SBI code, FTE, postcode) and
    `firms_total - len(valid)` firms that did not answer, spread over the strata (province x size
    class x sector) so that the response rate of a stratum is proportional to its propensity."""
    rng = np.random.default_rng([seed, 61])
    sectors = list(cfg["sectors"]["order"])
    prop_sector = _sector_propensity(sectors)
    resp = pd.DataFrame(
        {
            "province": valid["province"].to_numpy(dtype=object),
            "size_class": size_class_of(valid["fte"], cfg).fillna("micro").to_numpy(dtype=object),
            "sector": valid["sector"].to_numpy(dtype=object),
        }
    )
    provinces = list(cfg["region"]["provinces"])
    grid = pd.MultiIndex.from_product([provinces, list(SIZE_PROPENSITY), sectors], names=list(resp.columns))
    n_cell = resp.value_counts().reindex(grid, fill_value=0)
    propensity = np.array([SIZE_PROPENSITY[s] * prop_sector[t] for _, s, t in grid])
    # Expected frame size of a stratum: its respondents (plus a half, so that no stratum is empty)
    # divided by its propensity; the non-respondents fill each stratum up to it.
    expected = (n_cell.to_numpy() + 0.5) / propensity
    expected *= firms_total / expected.sum()
    room = np.maximum(expected - n_cell.to_numpy(), 0)
    extra = largest_remainder(firms_total - len(valid), room / room.sum())
    cells = pd.DataFrame(list(np.repeat(np.array(list(grid), dtype=object), extra, axis=0)), columns=resp.columns)
    taken: set[str] = set()
    own = valid["kvk_number"].fillna("").astype(str).to_numpy(dtype=object)
    ids = [k if len(k) == 8 and k.isdigit() and k not in taken and not taken.add(k) else "" for k in own]
    missing = [i for i, k in enumerate(ids) if not k]
    for i, k in zip(missing, _register_ids(rng, len(missing), taken), strict=True):
        ids[i] = k
    # The register holds a clean SBI code where a respondent typed a wrong one.
    from innomon.normalise import normalise_sbi

    codes = _sbi_codes(cfg)
    valid_sbi = reference.sbi_sections(str(config_mod.reference_path(cfg, "sbi")))
    sbi, _ = normalise_sbi(valid["sbi_code"].reset_index(drop=True), valid_sbi)
    drawn = firms.sbi_codes_for(rng, resp["sector"].to_numpy(dtype=object), codes)
    respondents = pd.DataFrame(
        {
            "frame_id": ids,
            "sbi_code": np.where(sbi.isna().to_numpy(), drawn, sbi.to_numpy(dtype=object)),
            "fte": pd.to_numeric(valid["fte"]).to_numpy(),
            "postcode": valid["postcode"].astype(str).to_numpy(dtype=object),
        }
    )
    frame = pd.concat([respondents, _firms(rng, cells, cfg, taken, codes)], ignore_index=True)
    return frame.iloc[rng.permutation(len(frame))].reset_index(drop=True)[FRAME_COLUMNS]


def frame_csv(frame: pd.DataFrame) -> bytes:
    """The frame as the register delivers it: UTF-8 CSV, one firm per row."""
    out = frame.copy()
    out["fte"] = out["fte"].map(lambda v: f"{float(v):.1f}")
    return out.to_csv(index=False, lineterminator="\n").encode("utf-8")


def planted_population(
    cfg: dict[str, Any], firms_total: int, respondents: int, seed: int
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(frame with each firm's true `innovator`, the firms that answered) for the bias study.

    Larger firms answer more often (SIZE_PROPENSITY) and innovate more often (a logit rising with
    size class), so the respondents' unweighted innovator share overstates the frame's."""
    rng = np.random.default_rng([seed, 67])
    provinces = list(cfg["region"]["provinces"])
    sectors = list(cfg["sectors"]["order"])
    size = rng.choice(list(SIZE_PROPENSITY), size=firms_total, p=[0.80, 0.17, 0.03])
    prov = rng.choice(provinces, size=firms_total, p=np.full(len(provinces), 1 / len(provinces)))
    sector_p = np.linspace(1.4, 0.6, len(sectors))
    sector = rng.choice(sectors, size=firms_total, p=sector_p / sector_p.sum())
    cells = pd.DataFrame({"province": prov, "size_class": size, "sector": sector})
    frame = _firms(rng, cells, cfg, set(), _sbi_codes(cfg))
    lin = pd.Series(size).map({"micro": -1.0, "klein": 0.3, "middelgroot": 1.2}).to_numpy()
    lin = lin + pd.Series(sector).map(dict(zip(sectors, np.linspace(-0.3, 0.3, len(sectors)), strict=True))).to_numpy()
    frame["innovator"] = (rng.random(firms_total) < 1 / (1 + np.exp(-lin))).astype(int)
    frame = pd.concat([frame, cells], axis=1)
    rel = (
        pd.Series(size).map(SIZE_PROPENSITY).to_numpy() * pd.Series(sector).map(_sector_propensity(sectors)).to_numpy()
    )
    answered = rng.random(firms_total) < rel * respondents / rel.sum()
    return frame, frame.loc[answered].reset_index(drop=True)
