"""Crime categories: violent, property and other, and FBI Part I (index) vs Part II.

Each record's `fbi_code` is the FBI Uniform Crime Reporting offense the City assigns it (the
portal's "FBI Code" column). Part I ("index") offenses are the eight the FBI's UCR program
counts as crime rates: criminal homicide, rape (criminal sexual assault), robbery and
aggravated assault — the violent crimes — and burglary, larceny-theft, motor vehicle theft and
arson — the property crimes. Chicago splits aggravated assault into assault (04A) and battery
(04B), and files involuntary manslaughter (01B) as non-index, as the IUCR code list's
`index_code` does. Every other code is Part II, "other" here. The mapping is written once, here.
"""

from __future__ import annotations

from collections.abc import Mapping

import polars as pl

__all__ = [
    "BREAKDOWN",
    "CATEGORY_CHOICES",
    "CATEGORY_CODES",
    "CATEGORY_LABELS",
    "OTHER",
    "PROPERTY",
    "VIOLENT",
    "category_expr",
    "category_of",
]

VIOLENT = "violent"
PROPERTY = "property"
OTHER = "other"

# FBI codes of the Part I offenses, by category.
_VIOLENT_CODES = ("01A", "02", "03", "04A", "04B")
_PROPERTY_CODES = ("05", "06", "07", "09")

# The three categories every record falls in, in the order charts and tables show them.
BREAKDOWN = (VIOLENT, PROPERTY, OTHER)

# What the `category` filter accepts, and the FBI codes each selects (None: every code but the
# Part I ones, including a missing code).
CATEGORY_CODES: Mapping[str, tuple[str, ...] | None] = {
    VIOLENT: _VIOLENT_CODES,
    PROPERTY: _PROPERTY_CODES,
    "index": _VIOLENT_CODES + _PROPERTY_CODES,
    OTHER: None,
}
CATEGORY_LABELS: Mapping[str, str] = {
    VIOLENT: "Violent (Part I)",
    PROPERTY: "Property (Part I)",
    "index": "All Part I (index)",
    OTHER: "Other (Part II, non-index)",
}
CATEGORY_CHOICES = tuple(CATEGORY_CODES)


def category_of(fbi_code: str | None) -> str:
    """The breakdown category of one FBI code (a missing code is "other")."""
    if fbi_code in _VIOLENT_CODES:
        return VIOLENT
    return PROPERTY if fbi_code in _PROPERTY_CODES else OTHER


def category_expr(column: str) -> pl.Expr:
    """A polars expression naming the breakdown category of the FBI code in `column`."""
    code = pl.col(column)
    return (
        pl.when(code.is_in(_VIOLENT_CODES))
        .then(pl.lit(VIOLENT))
        .when(code.is_in(_PROPERTY_CODES))
        .then(pl.lit(PROPERTY))
        .otherwise(pl.lit(OTHER))
    )
