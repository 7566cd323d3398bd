"""Community areas as places people live: names from the portal's boundaries (`igwz-8jzy`),
residents from its "ACS 5 Year Data by Community Area" (`t68z-cikk`), and incidents per
100,000 residents.

The crimes name an area by number ("32"), the boundaries give each number its name
(`area_numbe`, `community`) and the ACS table counts residents by name, per ACS year. Rates use
the newest ACS year cached. ACS figures are 5-year survey estimates with a margin of error,
largest for the smallest areas, so a rate is an estimate too.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import polars as pl

__all__ = [
    "AREA_RATES_SCHEMA",
    "PER_RESIDENTS",
    "Population",
    "area_names",
    "area_rates",
    "population_of",
]

PER_RESIDENTS = 100_000
AREA_RATES_SCHEMA = pl.Schema(
    {
        "community_area": pl.String(),
        "name": pl.String(),  # null when the boundaries are not cached
        "incidents": pl.Int64(),
        "population": pl.Int64(),  # null when the ACS table does not name the area
        "rate": pl.Float64(),  # incidents per PER_RESIDENTS residents; null without population
    }
)


@dataclass(frozen=True)
class Population:
    """Residents per community area (by upper-case name) in one ACS 5-year estimate."""

    acs_year: str
    residents: Mapping[str, int]
    synthetic: bool = False  # made by `chicrime demo`


def area_names(boundaries: Mapping[str, object] | None) -> dict[str, str]:
    """Area number → upper-case name, from the boundaries' features; {} without boundaries.
    Features without a usable number or name are skipped."""
    features = boundaries.get("features") if boundaries else None
    names: dict[str, str] = {}
    for feature in features if isinstance(features, list) else []:
        properties = feature.get("properties") if isinstance(feature, dict) else None
        if not isinstance(properties, dict):
            continue
        number, name = properties.get("area_numbe"), properties.get("community")
        named = isinstance(name, str) and bool(name.strip())
        if isinstance(number, str) and number.strip().isdigit() and named:
            names[str(int(number))] = str(name).strip().upper()
    return names


def population_of(document: Mapping[str, object] | None) -> Population | None:
    """The cached population document (`{"acs_year", "residents": {name: n}, "synthetic"}`),
    or None when there is none or it is not one."""
    if not document:
        return None
    year, residents = document.get("acs_year"), document.get("residents")
    if not isinstance(year, str) or not isinstance(residents, dict):
        return None
    counts = {
        str(name).upper(): n
        for name, n in residents.items()
        if type(n) is int and n > 0  # bool is an int, not a count here
    }
    return Population(year, counts, document.get("synthetic") is True) if counts else None


def area_rates(
    counts: pl.DataFrame, names: Mapping[str, str], population: Population | None
) -> pl.DataFrame:
    """Per community area: its name, incidents (`counts`: `community_area`, `incidents`),
    residents and incidents per 100,000 residents. Every named area is listed, 0 incidents
    included; highest rate first, then most incidents, then by number."""
    residents = population.residents if population else {}
    numbers = sorted(set(names) | set(counts.get_column("community_area").drop_nulls()))
    places = pl.DataFrame(
        {
            "community_area": numbers,
            "name": [names.get(n) for n in numbers],
            "population": [residents.get(names.get(n, "")) for n in numbers],
        },
        schema={"community_area": pl.String, "name": pl.String, "population": pl.Int64},
    )
    return (
        places.join(counts.select("community_area", "incidents"), on="community_area", how="left")
        .with_columns(pl.col("incidents").fill_null(0))
        .with_columns(rate=pl.col("incidents") * PER_RESIDENTS / pl.col("population"))
        .sort(  # ties by number ("2" before "10"), anything not a number after them
            [
                "rate",
                "incidents",
                pl.col("community_area").cast(pl.Int64, strict=False),
                "community_area",
            ],
            descending=[True, True, False, False],
            nulls_last=True,
        )
        .select(AREA_RATES_SCHEMA.names())
        .cast(AREA_RATES_SCHEMA)
    )
