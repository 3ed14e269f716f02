"""Synthetic firm identities: names, KvK numbers, e-mail addresses, postcodes, SBI codes.

All invented; names are built from common Dutch surnames and trade words so that normalisation
and linking meet realistic variation.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

TRADES = {
    "advies_onderzoek": ["Adviesbureau", "Ingenieursbureau", "Onderzoeksbureau", "Consultancy", "Architecten"],
    "bouw": ["Bouwbedrijf", "Aannemersbedrijf", "Installatiebedrijf", "Dakdekkers", "Schildersbedrijf"],
    "dienstverlening": ["Administratiekantoor", "Makelaardij", "Verzekeringen", "Schoonmaakbedrijf", "Kapsalon"],
    "handel": ["Groothandel", "Autobedrijf", "Bakkerij", "Slagerij", "Fietsenwinkel"],
    "industrie_landbouw": ["Machinefabriek", "Metaalbewerking", "Kwekerij", "Melkveebedrijf", "Timmerfabriek"],
    "informatie_communicatie": ["Software", "Webdesign", "Mediabureau", "Drukkerij", "ICT Diensten"],
    "horeca": ["Hotel", "Restaurant", "Café", "Camping", "Lunchroom"],
    "verhuur_vervoer": ["Transport", "Verhuur", "Koeriersdienst", "Taxibedrijf", "Opslag"],
    "overig": ["Zorgpraktijk", "Opleidingen", "Kinderopvang", "Theater", "Fysiotherapie"],
}
SURNAMES = [
    "Jansen",
    "de Vries",
    "Bakker",
    "Visser",
    "Smit",
    "Meijer",
    "de Boer",
    "Mulder",
    "de Groot",
    "Bos",
    "Vos",
    "Peters",
    "Hendriks",
    "Dijkstra",
    "Hoekstra",
    "Postma",
    "Wierda",
    "Kuipers",
    "Veenstra",
    "Zijlstra",
    "Bosma",
    "Hofstra",
    "Brouwer",
    "Dekker",
    "Koster",
    "Prins",
    "Huisman",
    "Boersma",
    "van der Meer",
    "Kramer",
    "Schuurman",
    "Wiersma",
    "Talsma",
    "Haan",
    "Nijboer",
    "Oosting",
    "Pool",
]
LEGAL = ["B.V.", "B.V.", "B.V.", "V.O.F.", "", "Holding B.V."]
# SBI sections per sector, for drawing a realistic code of the firm's sector.
SECTOR_SECTIONS = {
    "advies_onderzoek": ["M", "N"],
    "bouw": ["F"],
    "dienstverlening": ["K", "L", "S"],
    "handel": ["G"],
    "industrie_landbouw": ["A", "C"],
    "informatie_communicatie": ["J"],
    "horeca": ["I"],
    "verhuur_vervoer": ["H"],
    "overig": ["P", "Q", "R"],
}


def sbi_pools(codes: pd.DataFrame) -> dict[str, np.ndarray]:
    """Per sector, the 4- and 5-digit SBI codes to draw from (never division 77 outside verhuur_vervoer)."""
    detailed = codes[codes["niveau"].isin(["klasse", "subklasse"]) & ~codes["code_cijfers"].str.startswith("77")]
    return {
        sector: detailed.loc[detailed["sectie"].isin(sections), "code_cijfers"].to_numpy(dtype=object)
        for sector, sections in SECTOR_SECTIONS.items()
    }


def sbi_codes_for(rng: np.random.Generator, sectors: np.ndarray, codes: pd.DataFrame) -> np.ndarray:
    """An SBI code of each firm's sector, drawn for all firms of a sector at once."""
    pools = sbi_pools(codes)
    out = np.empty(len(sectors), dtype=object)
    for sector in sorted(set(sectors.tolist())):
        idx = np.flatnonzero(sectors == sector)
        out[idx] = pools[sector][rng.integers(len(pools[sector]), size=len(idx))]
    return out


def firm_names(rng: np.random.Generator, sectors: list[str], places: list[str], taken: set[str]) -> list[str]:
    """Unique trade names like `Bakkerij Jansen B.V.`; a place is added when a name is taken."""
    out = []
    for sector, place in zip(sectors, places, strict=True):
        trade = TRADES[sector][int(rng.integers(len(TRADES[sector])))]
        surname = SURNAMES[int(rng.integers(len(SURNAMES)))]
        legal = LEGAL[int(rng.integers(len(LEGAL)))]
        name = f"{trade} {surname}"
        if name.lower() in taken:
            name = f"{name} {place}"
        k = 2
        while name.lower() in taken:
            name = f"{trade} {surname} {place} {k}"
            k += 1
        taken.add(name.lower())
        out.append(f"{name} {legal}".strip())
    return out


def email_for(name: str, place: str = "") -> str:
    """`info@bakkerijjansenassen.nl`: name (legal form dropped) and town, so that two firms of the
    same name in different towns have different domains, as real ones do."""
    base = name.replace("Holding", "").replace("B.V.", "").replace("V.O.F.", "").lower()
    local = "".join(ch for ch in base if ch.isalnum())
    town = "".join(ch for ch in place.lower() if ch.isalnum())[:8]
    return f"info@{local[:40]}{town}.nl"
