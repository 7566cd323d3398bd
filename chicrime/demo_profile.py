"""The numbers `chicrime demo` draws its synthetic records from, calibrated on real exports.

Calibration: three portal CSV exports of the real dataset (ijzp-q8t2), restricted to their
complete days: 2014-02-28..03-14 plus 2016-01-01..03 (8,684 rows, the "2014" columns) and
2024-05-15..26 (7,913 rows, the "2024" columns). Shares are row shares; arrest rates are smoothed
towards the era's overall rate with a prior of 5 rows, so rare types do not get 0 % or 100 %.
IUCR descriptions are the current spellings from the IUCR code table (c7ck-438e); early
location spellings ("PARKING LOT/GARAGE(NON.RESID.)") are folded into the current ones.
Geography comes from the same rows: each community area's most frequent district, the beats of
that district seen in the area (share, mean position) and the wards seen there (mean position).
What three short samples cannot show (the long-run trend, seasonality) is stated where it is set.
"""

from __future__ import annotations

from typing import NamedTuple

__all__ = [
    "ANNUAL_ROWS",
    "COMMUNITY_AREAS",
    "EARLY_YEAR",
    "EAST_WEST_STREETS",
    "HOUR_SHARES",
    "LOCATIONS",
    "MIDNIGHT_SHARE",
    "MINUTE_WEIGHTS",
    "NOON_SHARE",
    "NORTH_SOUTH_STREETS",
    "NO_COORDINATES_SHARE",
    "OFFENSES",
    "OTHER_MINUTE_WEIGHT",
    "RECENT_YEAR",
    "SEASONAL_AMPLITUDE",
    "SEASONAL_PEAK_DAY",
    "TYPES",
    "TYPE_LOCATIONS",
    "WEEKDAY_FACTORS",
    "CommunityArea",
    "CrimeType",
    "Offense",
]


class CrimeType(NamedTuple):
    """A primary type: its share of all rows and its arrest rate, in the 2014 and 2024 samples."""

    name: str
    share_2014: float
    share_2024: float
    arrest_2014: float
    arrest_2024: float


class Offense(NamedTuple):
    """An IUCR code of a primary type: its share within the type, how much more (or less) often
    than the type's average it ends in an arrest, and its domestic share."""

    iucr: str
    description: str
    fbi_code: str
    share: float
    arrest_factor: float
    domestic: float


class CommunityArea(NamedTuple):
    """A community area, its district, its share of all rows, and where its incidents happen:
    beats as (beat, share within the area, latitude, longitude) and wards as (ward, lat, lon)."""

    number: str
    name: str
    district: str
    share: float
    beats: tuple[tuple[str, float, float, float], ...]
    wards: tuple[tuple[str, float, float], ...]


# The samples' mid-points: type mix and arrest rates move linearly between them and hold outside.
EARLY_YEAR = 2014.5
RECENT_YEAR = 2024.4

# Approximate rows a year in the live dataset (2025 estimated): not in the samples, these set the
# long-run trend the demo follows (interpolated between mid-years, held beyond the ends).
ANNUAL_ROWS: dict[int, int] = {
    2001: 486_000,
    2002: 487_000,
    2003: 476_000,
    2004: 469_000,
    2005: 454_000,
    2006: 448_000,
    2007: 437_000,
    2008: 427_000,
    2009: 393_000,
    2010: 370_000,
    2011: 352_000,
    2012: 336_000,
    2013: 307_000,
    2014: 276_000,
    2015: 265_000,
    2016: 270_000,
    2017: 269_000,
    2018: 269_000,
    2019: 261_000,
    2020: 212_000,
    2021: 209_000,
    2022: 239_000,
    2023: 262_000,
    2024: 258_000,
    2025: 235_000,
}

# Seasonality, also beyond three short samples: a yearly cosine, about +/-13 % around the mean,
# highest in late July and lowest in late January, as the live dataset's monthly counts run.
SEASONAL_AMPLITUDE = 0.13
SEASONAL_PEAK_DAY = 201  # day of the year

# Rows per day by weekday (Monday first), relative to the mean: the 2014 and 2024 samples averaged.
WEEKDAY_FACTORS = (1.068, 1.008, 0.960, 1.040, 1.078, 0.942, 0.903)

# Records with an unknown time are filed at exactly 00:00 or 12:00.
MIDNIGHT_SHARE = 0.0134
NOON_SHARE = 0.0205
# The other rows' hour of day, 0..23 (low at 5 am, highest mid-afternoon and evening).
HOUR_SHARES = (
    0.0355, 0.0338, 0.0293, 0.0249, 0.0213, 0.0155, 0.0183, 0.0240, 0.0358, 0.0432, 0.0473, 0.0455,
    0.0379, 0.0480, 0.0505, 0.0630, 0.0563, 0.0567, 0.0574, 0.0592, 0.0553, 0.0503, 0.0501, 0.0410,
)  # fmt: skip
# ...and minute of the hour: officers round, so :00 and :30 dominate, then :15/:45, :10s, :05s.
MINUTE_WEIGHTS: tuple[tuple[tuple[int, ...], float], ...] = (
    ((0,), 0.2956),
    ((30,), 0.1509),
    ((15, 45), 0.0489),
    ((10, 20, 40, 50), 0.0316),
    ((5, 25, 35, 55), 0.0167),
)
OTHER_MINUTE_WEIGHT = 0.0055  # each of the other 48 minutes

# Coordinates are missing in 3.0 % of the 2014 rows and 0.03 % of the 2024 ones (they are filled in
# over time); the demo takes a middle value.
NO_COORDINATES_SHARE = 0.015

# Primary types, most frequent first (all 28 seen in the samples).
TYPES: tuple[CrimeType, ...] = (
    CrimeType("BATTERY", 0.2044, 0.2185, 0.207, 0.168),
    CrimeType("THEFT", 0.1885, 0.2153, 0.100, 0.082),
    CrimeType("CRIMINAL DAMAGE", 0.1004, 0.1059, 0.062, 0.050),
    CrimeType("ASSAULT", 0.0629, 0.1093, 0.171, 0.113),
    CrimeType("OTHER OFFENSE", 0.0734, 0.0613, 0.159, 0.204),
    CrimeType("MOTOR VEHICLE THEFT", 0.0470, 0.0781, 0.058, 0.025),
    CrimeType("NARCOTICS", 0.0860, 0.0185, 0.895, 0.939),
    CrimeType("DECEPTIVE PRACTICE", 0.0622, 0.0389, 0.118, 0.044),
    CrimeType("BURGLARY", 0.0545, 0.0316, 0.032, 0.097),
    CrimeType("ROBBERY", 0.0400, 0.0330, 0.057, 0.078),
    CrimeType("CRIMINAL TRESPASS", 0.0276, 0.0193, 0.719, 0.251),
    CrimeType("WEAPONS VIOLATION", 0.0093, 0.0354, 0.699, 0.585),
    CrimeType("OFFENSE INVOLVING CHILDREN", 0.0121, 0.0077, 0.110, 0.057),
    CrimeType("PUBLIC PEACE VIOLATION", 0.0086, 0.0039, 0.651, 0.437),
    CrimeType("CRIMINAL SEXUAL ASSAULT", 0.0055, 0.0047, 0.078, 0.113),
    CrimeType("SEX OFFENSE", 0.0033, 0.0047, 0.150, 0.089),
    CrimeType("INTERFERENCE WITH PUBLIC OFFICER", 0.0029, 0.0042, 0.771, 0.783),
    CrimeType("HOMICIDE", 0.0015, 0.0024, 0.229, 0.322),
    CrimeType("PROSTITUTION", 0.0025, 0.0009, 0.819, 0.561),
    CrimeType("ARSON", 0.0013, 0.0021, 0.070, 0.033),
    CrimeType("STALKING", 0.0009, 0.0020, 0.086, 0.083),
    CrimeType("LIQUOR LAW VIOLATION", 0.0018, 0.0003, 0.672, 0.391),
    CrimeType("KIDNAPPING", 0.0016, 0.0003, 0.164, 0.105),
    CrimeType("INTIMIDATION", 0.0007, 0.0005, 0.101, 0.082),
    CrimeType("CONCEALED CARRY LICENSE VIOLATION", 0.0000, 0.0011, 0.223, 0.695),
    CrimeType("OBSCENITY", 0.0003, 0.0000, 0.389, 0.147),
    CrimeType("GAMBLING", 0.0001, 0.0001, 0.353, 0.289),
    CrimeType("PUBLIC INDECENCY", 0.0001, 0.0000, 0.353, 0.147),
)

# The most frequent IUCR codes of each type (up to five, each >= 2 % of the type).
OFFENSES: dict[str, tuple[Offense, ...]] = {
    "BATTERY": (
        Offense("0486", "DOMESTIC BATTERY SIMPLE", "08B", 0.523, 1.10, 0.926),
        Offense("0460", "SIMPLE", "08B", 0.368, 0.98, 0.037),
        Offense("0430", "AGGRAVATED - OTHER DANGEROUS WEAPON", "04B", 0.043, 0.65, 0.091),
        Offense("041A", "AGGRAVATED - HANDGUN", "04B", 0.041, 0.13, 0.019),
        Offense(
            "0497",
            "AGGRAVATED DOMESTIC BATTERY - OTHER DANGEROUS WEAPON",
            "04B",
            0.025,
            1.23,
            0.910,
        ),
    ),
    "THEFT": (
        Offense("0820", "$500 AND UNDER", "06", 0.377, 0.36, 0.078),
        Offense("0810", "OVER $500", "06", 0.274, 0.20, 0.056),
        Offense("0860", "RETAIL THEFT", "06", 0.204, 3.90, 0.000),
        Offense("0890", "FROM BUILDING", "06", 0.116, 0.13, 0.024),
        Offense("0870", "POCKET-PICKING", "06", 0.029, 0.05, 0.002),
    ),
    "CRIMINAL DAMAGE": (
        Offense("1320", "TO VEHICLE", "14", 0.513, 0.49, 0.087),
        Offense("1310", "TO PROPERTY", "14", 0.444, 1.16, 0.171),
        Offense("1305", "CRIMINAL DEFACEMENT", "14", 0.043, 5.42, 0.008),
    ),
    "ASSAULT": (
        Offense("0560", "SIMPLE", "08A", 0.689, 0.75, 0.275),
        Offense("051A", "AGGRAVATED - HANDGUN", "04A", 0.161, 1.20, 0.280),
        Offense("0520", "AGGRAVATED - KNIFE / CUTTING INSTRUMENT", "04A", 0.068, 1.92, 0.504),
        Offense("0530", "AGGRAVATED - OTHER DANGEROUS WEAPON", "04A", 0.047, 1.88, 0.281),
        Offense(
            "0545",
            "PROTECTED EMPLOYEE - HANDS, FISTS, FEET, NO / MINOR INJURY",
            "08A",
            0.036,
            2.10,
            0.026,
        ),
    ),
    "OTHER OFFENSE": (
        Offense("2820", "TELEPHONE THREAT", "26", 0.372, 0.34, 0.392),
        Offense("2825", "HARASSMENT BY TELEPHONE", "26", 0.208, 0.22, 0.356),
        Offense("2826", "HARASSMENT BY ELECTRONIC MEANS", "26", 0.177, 0.17, 0.321),
        Offense("4387", "VIOLATE ORDER OF PROTECTION", "26", 0.150, 4.53, 0.876),
        Offense("5002", "OTHER VEHICLE OFFENSE", "26", 0.093, 1.28, 0.185),
    ),
    "MOTOR VEHICLE THEFT": (
        Offense("0910", "AUTOMOBILE", "07", 0.819, 0.98, 0.016),
        Offense("0920", "ATTEMPT - AUTOMOBILE", "07", 0.120, 0.04, 0.001),
        Offense("0930", "THEFT / RECOVERY - AUTOMOBILE", "07", 0.060, 3.16, 0.016),
    ),
    "NARCOTICS": (
        Offense("1811", "POSSESS - CANNABIS 30 GRAMS OR LESS", "18", 0.511, 1.06, 0.000),
        Offense("2024", "POSSESS - HEROIN (WHITE)", "18", 0.228, 0.99, 0.000),
        Offense("2027", "POSSESS - CRACK", "18", 0.124, 1.05, 0.000),
        Offense("2014", "MANUFACTURE / DELIVER -  HEROIN (WHITE)", "18", 0.073, 0.65, 0.000),
        Offense("2093", "FOUND SUSPECT NARCOTICS", "18", 0.064, 0.91, 0.000),
    ),
    "DECEPTIVE PRACTICE": (
        Offense("1150", "CREDIT CARD FRAUD", "11", 0.293, 0.10, 0.000),
        Offense("1153", "FINANCIAL IDENTITY THEFT OVER $ 300", "11", 0.236, 0.04, 0.007),
        Offense("1130", "FRAUD OR CONFIDENCE GAME", "11", 0.167, 0.29, 0.000),
        Offense("1152", "ILLEGAL USE CASH CARD", "11", 0.153, 0.06, 0.011),
        Offense("1210", "THEFT OF LABOR / SERVICES", "11", 0.150, 6.03, 0.000),
    ),
    "BURGLARY": (
        Offense("0610", "FORCIBLE ENTRY", "05", 0.623, 0.73, 0.005),
        Offense("0620", "UNLAWFUL ENTRY", "05", 0.332, 1.26, 0.042),
        Offense("0630", "ATTEMPT FORCIBLE ENTRY", "05", 0.045, 2.85, 0.003),
    ),
    "ROBBERY": (
        Offense("031A", "ARMED - HANDGUN", "03", 0.432, 0.76, 0.005),
        Offense("0320", "STRONG ARM - NO WEAPON", "03", 0.402, 1.53, 0.044),
        Offense("0330", "AGGRAVATED", "03", 0.063, 0.14, 0.030),
        Offense("0326", "AGGRAVATED VEHICULAR HIJACKING", "03", 0.053, 0.17, 0.034),
        Offense("0313", "ARMED - OTHER DANGEROUS WEAPON", "03", 0.049, 0.73, 0.003),
    ),
    "CRIMINAL TRESPASS": (
        Offense("1330", "TO LAND", "26", 0.667, 1.20, 0.046),
        Offense("1365", "TO RESIDENCE", "26", 0.181, 0.33, 0.202),
        Offense("1360", "TO VEHICLE", "26", 0.079, 0.54, 0.010),
        Offense("1350", "TO STATE SUP LAND", "26", 0.074, 1.33, 0.010),
    ),
    "WEAPONS VIOLATION": (
        Offense("143A", "UNLAWFUL POSSESSION - HANDGUN", "15", 0.684, 1.34, 0.000),
        Offense("1477", "RECKLESS FIREARM DISCHARGE", "15", 0.218, 0.08, 0.000),
        Offense("141B", "UNLAWFUL USE - OTHER FIREARM", "15", 0.037, 0.27, 0.000),
        Offense("141C", "UNLAWFUL USE - OTHER DANGEROUS WEAPON", "15", 0.032, 1.09, 0.000),
        Offense("141A", "UNLAWFUL USE - HANDGUN", "15", 0.029, 0.64, 0.000),
    ),
    "OFFENSE INVOLVING CHILDREN": (
        Offense("1750", "CHILD ABUSE", "20", 0.422, 0.98, 0.689),
        Offense("1780", "OTHER OFFENSE", "26", 0.252, 0.12, 0.647),
        Offense("1710", "ENDANGERING LIFE / HEALTH OF CHILD", "20", 0.211, 2.16, 0.699),
        Offense(
            "1752", "AGGRAVATED CRIMINAL SEXUAL ABUSE BY FAMILY MEMBER", "20", 0.068, 1.15, 0.478
        ),
        Offense(
            "1754", "AGGRAVATED SEXUAL ASSAULT OF CHILD BY FAMILY MEMBER", "02", 0.048, 0.43, 0.680
        ),
    ),
    "PUBLIC PEACE VIOLATION": (
        Offense("0470", "RECKLESS CONDUCT", "24", 0.687, 1.15, 0.016),
        Offense("2890", "OTHER VIOLATION", "24", 0.101, 0.99, 0.143),
        Offense("2850", "BOMB THREAT", "26", 0.101, 0.30, 0.009),
        Offense("2860", "FALSE POLICE REPORT", "24", 0.071, 0.87, 0.012),
        Offense("2851", "ARSON THREAT", "24", 0.040, 0.51, 0.016),
    ),
    "CRIMINAL SEXUAL ASSAULT": (
        Offense("0281", "NON-AGGRAVATED", "02", 0.605, 0.71, 0.221),
        Offense("0265", "AGGRAVATED - OTHER", "02", 0.247, 1.53, 0.158),
        Offense("0261", "AGGRAVATED - HANDGUN", "02", 0.049, 0.73, 0.105),
        Offense("0291", "ATTEMPT NON-AGGRAVATED", "02", 0.049, 2.49, 0.327),
        Offense("0263", "AGGRAVATED - KNIFE / CUTTING INSTRUMENT", "02", 0.049, 0.73, 0.105),
    ),
    "SEX OFFENSE": (
        Offense("1563", "CRIMINAL SEXUAL ABUSE", "17", 0.450, 0.94, 0.113),
        Offense("1570", "PUBLIC INDECENCY", "17", 0.200, 1.77, 0.036),
        Offense("1562", "AGGRAVATED CRIMINAL SEXUAL ABUSE", "17", 0.150, 0.93, 0.115),
        Offense(
            "1581",
            "NON-CONSENSUAL DISSEMINATION OF PRIVATE SEXUAL IMAGES",
            "17",
            0.117,
            0.38,
            0.217,
        ),
        Offense("1585", "OTHER", "17", 0.083, 0.45, 0.161),
    ),
    "INTERFERENCE WITH PUBLIC OFFICER": (
        Offense("3710", "RESIST / OBSTRUCT / DISARM OFFICER", "24", 0.464, 0.98, 0.070),
        Offense("3731", "OBSTRUCTING IDENTIFICATION", "24", 0.446, 1.01, 0.006),
        Offense("3760", "OBSTRUCTING SERVICE", "24", 0.054, 1.06, 0.022),
        Offense("3730", "OBSTRUCTING JUSTICE", "24", 0.036, 1.05, 0.025),
    ),
    "HOMICIDE": (
        Offense("0110", "FIRST DEGREE MURDER", "01A", 0.969, 0.99, 0.128),
        Offense("0142", "RECKLESS HOMICIDE", "01B", 0.031, 1.44, 0.104),
    ),
    "PROSTITUTION": (
        Offense("1506", "SOLICIT ON PUBLIC WAY", "16", 0.655, 1.00, 0.000),
        Offense("1505", "CALL OPERATION", "16", 0.207, 1.03, 0.000),
        Offense("1549", "OTHER PROSTITUTION OFFENSE", "16", 0.069, 1.01, 0.000),
        Offense("1512", "SOLICITING FOR A PROSTITUTE", "16", 0.069, 0.86, 0.000),
    ),
    "ARSON": (
        Offense("1020", "BY FIRE", "09", 0.821, 1.00, 0.000),
        Offense("1090", "ATTEMPT ARSON", "09", 0.107, 1.00, 0.000),
        Offense("1025", "AGGRAVATED", "09", 0.071, 1.00, 0.000),
    ),
    "STALKING": (
        Offense("0580", "SIMPLE", "08A", 0.708, 0.27, 0.587),
        Offense("0584", "VIOLATION OF STALKING NO CONTACT ORDER", "26", 0.250, 3.08, 0.629),
        Offense("0583", "CYBERSTALKING", "08A", 0.042, 0.97, 0.486),
    ),
    "LIQUOR LAW VIOLATION": (
        Offense("2250", "LIQUOR LICENSE VIOLATION", "22", 0.667, 0.95, 0.000),
        Offense("2210", "SELL / GIVE / DELIVER LIQUOR TO MINOR", "22", 0.167, 1.10, 0.000),
        Offense("2230", "ILLEGAL CONSUMPTION BY MINOR", "22", 0.111, 1.09, 0.000),
        Offense("2220", "ILLEGAL POSSESSION BY MINOR", "22", 0.056, 1.06, 0.000),
    ),
    "KIDNAPPING": (
        Offense("4255", "UNLAWFUL VISITATION INTERFERENCE", "26", 0.312, 0.51, 0.519),
        Offense("4220", "AGGRAVATED", "26", 0.188, 1.67, 0.398),
        Offense("1792", "CHILD ABDUCTION / STRANGER", "20", 0.188, 0.64, 0.273),
        Offense("4230", "UNLAWFUL RESTRAINT", "26", 0.188, 1.67, 0.523),
        Offense("4210", "KIDNAPPING", "26", 0.125, 0.73, 0.455),
    ),
    "INTIMIDATION": (Offense("3960", "INTIMIDATION", "26", 1.000, 1.00, 0.000),),
    "CONCEALED CARRY LICENSE VIOLATION": (
        Offense("1480", "OTHER", "15", 0.556, 1.00, 0.000),
        Offense("1478", "PROHIBITED PLACES", "15", 0.333, 1.00, 0.000),
        Offense("1479", "ARMED WHILE UNDER THE INFLUENCE", "15", 0.111, 1.00, 0.000),
    ),
    "OBSCENITY": (
        Offense("1540", "OBSCENE MATTER", "17", 0.667, 1.10, 0.000),
        Offense("1535", "OBSCENITY", "17", 0.333, 0.80, 0.000),
    ),
    "GAMBLING": (Offense("1661", "GAME/DICE", "19", 1.000, 1.00, 0.000),),
    "PUBLIC INDECENCY": (Offense("1536", "LICENSED PREMISE", "17", 1.000, 1.00, 0.000),),
}

# Location descriptions with >= 0.2 % of rows, renormalised: the mix for types without their own.
LOCATIONS: tuple[tuple[str, float], ...] = (
    ("STREET", 0.2545),
    ("APARTMENT", 0.1639),
    ("RESIDENCE", 0.1485),
    ("SIDEWALK", 0.0775),
    ("PARKING LOT / GARAGE (NON RESIDENTIAL)", 0.0331),
    ("SMALL RETAIL STORE", 0.0285),
    ("RESTAURANT", 0.0244),
    ("ALLEY", 0.0205),
    ("OTHER", 0.0199),
    ("DEPARTMENT STORE", 0.0194),
    ("SCHOOL - PUBLIC BUILDING", 0.0193),
    ("VEHICLE NON-COMMERCIAL", 0.0154),
    ("RESIDENCE - GARAGE", 0.0138),
    ("RESIDENCE - PORCH / HALLWAY", 0.0138),
    ("GAS STATION", 0.0126),
    ("RESIDENCE - YARD (FRONT / BACK)", 0.0115),
    ("GROCERY FOOD STORE", 0.0111),
    ("COMMERCIAL / BUSINESS OFFICE", 0.0093),
    ("SCHOOL - PUBLIC GROUNDS", 0.0086),
    ("BAR OR TAVERN", 0.0083),
    ("CTA TRAIN", 0.0079),
    ("OTHER (SPECIFY)", 0.0074),
    ("CONVENIENCE STORE", 0.0070),
    ("PARK PROPERTY", 0.0067),
    ("HOTEL / MOTEL", 0.0067),
    ("CTA PLATFORM", 0.0063),
    ("DRUG STORE", 0.0055),
    ("HOSPITAL BUILDING / GROUNDS", 0.0053),
    ("CTA BUS", 0.0049),
    ("VACANT LOT / LAND", 0.0035),
    ("BANK", 0.0028),
    ("TAVERN / LIQUOR STORE", 0.0027),
    ("CHA APARTMENT", 0.0027),
    ("NURSING / RETIREMENT HOME", 0.0027),
    ("CHURCH / SYNAGOGUE / PLACE OF WORSHIP", 0.0026),
    ("ATHLETIC CLUB", 0.0024),
    ("GOVERNMENT BUILDING / PROPERTY", 0.0024),
    ("POLICE FACILITY / VEHICLE PARKING LOT", 0.0023),
    ("DRIVEWAY - RESIDENTIAL", 0.0023),
    ("CTA BUS STOP", 0.0021),
)

# A type's own most frequent locations (>= 3 % of its rows, types with >= 30 rows); the rest of
# its rows take the overall mix.
TYPE_LOCATIONS: dict[str, tuple[tuple[str, float], ...]] = {
    "BATTERY": (
        ("APARTMENT", 0.292),
        ("RESIDENCE", 0.186),
        ("STREET", 0.144),
        ("SIDEWALK", 0.106),
        ("SCHOOL - PUBLIC BUILDING", 0.040),
    ),
    "THEFT": (
        ("STREET", 0.252),
        ("SMALL RETAIL STORE", 0.089),
        ("APARTMENT", 0.081),
        ("DEPARTMENT STORE", 0.072),
        ("RESIDENCE", 0.072),
    ),
    "CRIMINAL DAMAGE": (
        ("STREET", 0.388),
        ("APARTMENT", 0.161),
        ("RESIDENCE", 0.130),
        ("PARKING LOT / GARAGE (NON RESIDENTIAL)", 0.068),
    ),
    "ASSAULT": (
        ("APARTMENT", 0.210),
        ("STREET", 0.200),
        ("RESIDENCE", 0.158),
        ("SIDEWALK", 0.094),
        ("SCHOOL - PUBLIC BUILDING", 0.035),
    ),
    "OTHER OFFENSE": (
        ("RESIDENCE", 0.355),
        ("APARTMENT", 0.228),
        ("STREET", 0.202),
        ("OTHER", 0.035),
    ),
    "MOTOR VEHICLE THEFT": (("STREET", 0.776), ("PARKING LOT / GARAGE (NON RESIDENTIAL)", 0.079)),
    "NARCOTICS": (
        ("STREET", 0.368),
        ("SIDEWALK", 0.307),
        ("ALLEY", 0.060),
        ("VEHICLE NON-COMMERCIAL", 0.042),
        ("RESIDENCE", 0.034),
    ),
    "DECEPTIVE PRACTICE": (
        ("RESIDENCE", 0.319),
        ("APARTMENT", 0.119),
        ("OTHER", 0.067),
        ("STREET", 0.061),
        ("CTA PLATFORM", 0.058),
    ),
    "BURGLARY": (
        ("APARTMENT", 0.356),
        ("RESIDENCE", 0.307),
        ("RESIDENCE - GARAGE", 0.147),
        ("RESTAURANT", 0.043),
        ("SMALL RETAIL STORE", 0.034),
    ),
    "ROBBERY": (
        ("STREET", 0.294),
        ("SIDEWALK", 0.294),
        ("ALLEY", 0.069),
        ("SMALL RETAIL STORE", 0.035),
        ("APARTMENT", 0.033),
    ),
    "CRIMINAL TRESPASS": (
        ("APARTMENT", 0.149),
        ("RESIDENCE", 0.104),
        ("RESTAURANT", 0.082),
        ("STREET", 0.073),
        ("GAS STATION", 0.059),
    ),
    "WEAPONS VIOLATION": (
        ("STREET", 0.414),
        ("SIDEWALK", 0.190),
        ("ALLEY", 0.133),
        ("APARTMENT", 0.042),
        ("GAS STATION", 0.040),
    ),
    "OFFENSE INVOLVING CHILDREN": (
        ("RESIDENCE", 0.441),
        ("APARTMENT", 0.255),
        ("STREET", 0.081),
        ("SIDEWALK", 0.050),
        ("SCHOOL - PUBLIC GROUNDS", 0.031),
    ),
    "PUBLIC PEACE VIOLATION": (
        ("STREET", 0.330),
        ("SIDEWALK", 0.223),
        ("RESIDENCE", 0.068),
        ("SCHOOL - PUBLIC BUILDING", 0.049),
        ("APARTMENT", 0.049),
    ),
    "CRIMINAL SEXUAL ASSAULT": (
        ("APARTMENT", 0.301),
        ("RESIDENCE", 0.265),
        ("STREET", 0.096),
        ("HOSPITAL BUILDING / GROUNDS", 0.060),
        ("SIDEWALK", 0.048),
    ),
    "SEX OFFENSE": (
        ("APARTMENT", 0.185),
        ("RESIDENCE", 0.154),
        ("SIDEWALK", 0.092),
        ("SCHOOL - PUBLIC BUILDING", 0.077),
        ("STREET", 0.062),
    ),
    "INTERFERENCE WITH PUBLIC OFFICER": (
        ("STREET", 0.500),
        ("SIDEWALK", 0.138),
        ("RESIDENCE", 0.069),
        ("ALLEY", 0.069),
        ("RESTAURANT", 0.034),
    ),
    "HOMICIDE": (
        ("STREET", 0.550),
        ("APARTMENT", 0.200),
        ("ALLEY", 0.150),
        ("RESTAURANT", 0.050),
        ("GAS STATION", 0.050),
    ),
}

# The 77 community areas with their district, share of rows, beats and wards.
# fmt: off
COMMUNITY_AREAS: tuple[CommunityArea, ...] = (
    CommunityArea("1", "ROGERS PARK", "024", 0.0154, beats=(
        ("2422", 0.270, 42.0194, -87.6708), ("2423", 0.157, 42.0123, -87.6690),
        ("2424", 0.133, 42.0135, -87.6785), ("2431", 0.161, 42.0076, -87.6662),
        ("2432", 0.278, 42.0016, -87.6658),
    ), wards=(("40", 42.0009, -87.6685), ("49", 42.0119, -87.6696),)),
    CommunityArea("2", "WEST RIDGE", "024", 0.0127, beats=(
        ("2411", 0.312, 42.0120, -87.6917), ("2412", 0.347, 41.9995, -87.6907),
        ("2413", 0.335, 41.9945, -87.6922), ("2433", 0.006, 41.9989, -87.6870),
    ), wards=(("40", 41.9922, -87.6903), ("50", 42.0015, -87.6935),)),
    CommunityArea("3", "UPTOWN", "019", 0.0162, beats=(
        ("1912", 0.102, 41.9647, -87.6690), ("1913", 0.244, 41.9649, -87.6592),
        ("1914", 0.406, 41.9655, -87.6529), ("1915", 0.249, 41.9595, -87.6511),
    ), wards=(
        ("46", 41.9643, -87.6543), ("47", 41.9673, -87.6694), ("48", 41.9732, -87.6550),
    )),
    CommunityArea("4", "LINCOLN SQUARE", "020", 0.0063, beats=(
        ("2011", 0.386, 41.9789, -87.6940), ("2012", 0.086, 41.9788, -87.6821),
        ("2031", 0.386, 41.9720, -87.6937), ("2032", 0.143, 41.9720, -87.6798),
    ), wards=(("40", 41.9764, -87.6923), ("47", 41.9671, -87.6853),)),
    CommunityArea("5", "NORTH CENTER", "019", 0.0041, beats=(
        ("1911", 0.200, 41.9556, -87.6834), ("1912", 0.077, 41.9549, -87.6777),
        ("1921", 0.431, 41.9450, -87.6873), ("1922", 0.138, 41.9467, -87.6777),
        ("1931", 0.154, 41.9383, -87.6796),
    ), wards=(("32", 41.9393, -87.6803), ("47", 41.9508, -87.6842),)),
    CommunityArea("6", "LAKE VIEW", "019", 0.0203, beats=(
        ("1912", 0.027, 41.9557, -87.6656), ("1922", 0.070, 41.9444, -87.6669),
        ("1923", 0.177, 41.9502, -87.6554), ("1924", 0.207, 41.9443, -87.6537),
        ("1925", 0.207, 41.9460, -87.6465), ("1931", 0.015, 41.9375, -87.6652),
        ("1932", 0.012, 41.9388, -87.6610), ("1933", 0.140, 41.9369, -87.6542),
        ("1934", 0.143, 41.9361, -87.6441),
    ), wards=(
        ("32", 41.9387, -87.6672), ("44", 41.9420, -87.6513), ("46", 41.9506, -87.6493),
    )),
    CommunityArea("7", "LINCOLN PARK", "018", 0.0140, beats=(
        ("1811", 0.368, 41.9209, -87.6587), ("1812", 0.241, 41.9214, -87.6467),
        ("1813", 0.180, 41.9143, -87.6454), ("1814", 0.211, 41.9180, -87.6364),
    ), wards=(
        ("2", 41.9164, -87.6516), ("32", 41.9257, -87.6650), ("43", 41.9228, -87.6455),
    )),
    CommunityArea("8", "NEAR NORTH SIDE", "018", 0.0411, beats=(
        ("1821", 0.114, 41.9075, -87.6370), ("1822", 0.068, 41.9058, -87.6476),
        ("1823", 0.030, 41.8993, -87.6380), ("1824", 0.108, 41.9034, -87.6297),
        ("1831", 0.191, 41.8912, -87.6331), ("1832", 0.099, 41.8954, -87.6304),
        ("1833", 0.113, 41.8978, -87.6250), ("1834", 0.276, 41.8923, -87.6231),
    ), wards=(
        ("2", 41.8997, -87.6276), ("27", 41.9052, -87.6412), ("42", 41.8941, -87.6281),
    )),
    CommunityArea("9", "EDISON PARK", "016", 0.0013, beats=(
        ("1611", 0.850, 42.0083, -87.8137), ("1612", 0.150, 42.0035, -87.8152),
    ), wards=(("41", 42.0073, -87.8140),)),
    CommunityArea("10", "NORWOOD PARK", "016", 0.0054, beats=(
        ("1611", 0.241, 41.9960, -87.7933), ("1612", 0.207, 41.9879, -87.8048),
        ("1613", 0.379, 41.9772, -87.8017), ("1614", 0.034, 41.9814, -87.8199),
        ("1622", 0.138, 41.9864, -87.7860),
    ), wards=(("41", 41.9841, -87.8034), ("45", 41.9891, -87.7843),)),
    CommunityArea("11", "JEFFERSON PARK", "016", 0.0029, beats=(
        ("1611", 0.021, 41.9814, -87.7705), ("1621", 0.021, 41.9805, -87.7679),
        ("1622", 0.511, 41.9786, -87.7747), ("1623", 0.447, 41.9741, -87.7627),
    ), wards=(("39", 41.9897, -87.7718), ("45", 41.9762, -87.7685),)),
    CommunityArea("12", "FOREST GLEN", "016", 0.0018, beats=(
        ("1621", 0.750, 41.9994, -87.7646), ("1623", 0.250, 41.9772, -87.7524),
    ), wards=(
        ("39", 41.9890, -87.7446), ("41", 42.0096, -87.7777), ("45", 41.9878, -87.7584),
    )),
    CommunityArea("13", "NORTH PARK", "017", 0.0036, beats=(
        ("1711", 0.569, 41.9896, -87.7162), ("1712", 0.379, 41.9785, -87.7149),
        ("1713", 0.052, 41.9777, -87.7143),
    ), wards=(
        ("39", 41.9820, -87.7164), ("40", 41.9791, -87.7089), ("50", 41.9933, -87.7151),
    )),
    CommunityArea("14", "ALBANY PARK", "017", 0.0095, beats=(
        ("1712", 0.303, 41.9704, -87.7261), ("1713", 0.245, 41.9692, -87.7099),
        ("1722", 0.103, 41.9652, -87.7304), ("1723", 0.284, 41.9651, -87.7195),
        ("1724", 0.065, 41.9633, -87.7090),
    ), wards=(("33", 41.9668, -87.7132), ("39", 41.9684, -87.7267),)),
    CommunityArea("15", "PORTAGE PARK", "016", 0.0131, beats=(
        ("1622", 0.173, 41.9641, -87.7740), ("1623", 0.089, 41.9634, -87.7578),
        ("1624", 0.196, 41.9556, -87.7610), ("1633", 0.263, 41.9467, -87.7689),
        ("1634", 0.279, 41.9444, -87.7534),
    ), wards=(
        ("30", 41.9431, -87.7555), ("38", 41.9508, -87.7667), ("45", 41.9586, -87.7557),
    )),
    CommunityArea("16", "IRVING PARK", "017", 0.0096, beats=(
        ("1722", 0.152, 41.9596, -87.7349), ("1723", 0.120, 41.9580, -87.7199),
        ("1724", 0.215, 41.9573, -87.7064), ("1731", 0.259, 41.9448, -87.7351),
        ("1732", 0.120, 41.9513, -87.7221), ("1733", 0.133, 41.9501, -87.7066),
    ), wards=(
        ("30", 41.9444, -87.7344), ("33", 41.9558, -87.7073), ("35", 41.9505, -87.7107),
        ("38", 41.9536, -87.7363), ("39", 41.9585, -87.7279), ("45", 41.9588, -87.7358),
    )),
    CommunityArea("17", "DUNNING", "016", 0.0054, beats=(
        ("1614", 0.034, 41.9499, -87.8226), ("1631", 0.391, 41.9445, -87.8198),
        ("1632", 0.391, 41.9465, -87.7974), ("1633", 0.184, 41.9436, -87.7829),
    ), wards=(("36", 41.9423, -87.8020), ("38", 41.9471, -87.8070),)),
    CommunityArea("18", "MONTCLARE", "025", 0.0019, beats=(
        ("2511", 0.258, 41.9329, -87.7974), ("2512", 0.742, 41.9275, -87.7987),
    ), wards=(("29", 41.9274, -87.8048), ("36", 41.9294, -87.7971),)),
    CommunityArea("19", "BELMONT CRAGIN", "025", 0.0190, beats=(
        ("2511", 0.045, 41.9338, -87.7832), ("2512", 0.122, 41.9248, -87.7820),
        ("2514", 0.170, 41.9323, -87.7661), ("2515", 0.273, 41.9218, -87.7649),
        ("2521", 0.203, 41.9309, -87.7510), ("2522", 0.170, 41.9211, -87.7493),
        ("2533", 0.016, 41.9189, -87.7515),
    ), wards=(
        ("26", 41.9197, -87.7482), ("29", 41.9220, -87.7736), ("30", 41.9300, -87.7686),
        ("31", 41.9286, -87.7529), ("36", 41.9249, -87.7760), ("37", 41.9200, -87.7624),
    )),
    CommunityArea("20", "HERMOSA", "025", 0.0061, beats=(
        ("2521", 0.168, 41.9304, -87.7411), ("2522", 0.228, 41.9200, -87.7358),
        ("2523", 0.079, 41.9323, -87.7366), ("2524", 0.149, 41.9274, -87.7355),
        ("2525", 0.158, 41.9207, -87.7293), ("2533", 0.040, 41.9184, -87.7371),
        ("2534", 0.168, 41.9154, -87.7298), ("2535", 0.010, 41.9202, -87.7315),
    ), wards=(
        ("26", 41.9152, -87.7319), ("30", 41.9165, -87.7302), ("31", 41.9280, -87.7377),
        ("35", 41.9198, -87.7307),
    )),
    CommunityArea("21", "AVONDALE", "017", 0.0080, beats=(
        ("1732", 0.407, 41.9417, -87.7206), ("1733", 0.593, 41.9431, -87.7069),
    ), wards=(
        ("30", 41.9390, -87.7228), ("31", 41.9370, -87.7274), ("33", 41.9431, -87.7040),
        ("35", 41.9386, -87.7107),
    )),
    CommunityArea("22", "LOGAN SQUARE", "014", 0.0207, beats=(
        ("1411", 0.032, 41.9292, -87.6990), ("1412", 0.097, 41.9301, -87.7104),
        ("1413", 0.130, 41.9216, -87.7111), ("1414", 0.202, 41.9241, -87.7020),
        ("1421", 0.058, 41.9164, -87.7001), ("1422", 0.051, 41.9167, -87.7125),
        ("1431", 0.112, 41.9218, -87.6928), ("1432", 0.213, 41.9232, -87.6796),
        ("1433", 0.025, 41.9173, -87.6765), ("1434", 0.079, 41.9166, -87.6864),
    ), wards=(
        ("1", 41.9216, -87.6946), ("26", 41.9177, -87.7153), ("32", 41.9210, -87.6782),
        ("35", 41.9256, -87.7093),
    )),
    CommunityArea("23", "HUMBOLDT PARK", "011", 0.0296, beats=(
        ("1111", 0.155, 41.8976, -87.7307), ("1112", 0.324, 41.8983, -87.7208),
        ("1121", 0.410, 41.8955, -87.7117), ("1122", 0.090, 41.8915, -87.7206),
        ("1123", 0.021, 41.8917, -87.7144),
    ), wards=(
        ("26", 41.9077, -87.7142), ("27", 41.8957, -87.7156), ("36", 41.9047, -87.7252),
        ("37", 41.9007, -87.7305),
    )),
    CommunityArea("24", "WEST TOWN", "014", 0.0270, beats=(
        ("1421", 0.057, 41.9102, -87.6943), ("1423", 0.242, 41.9060, -87.6921),
        ("1424", 0.361, 41.9064, -87.6770), ("1433", 0.216, 41.9085, -87.6659),
        ("1434", 0.123, 41.9106, -87.6822),
    ), wards=(
        ("1", 41.9041, -87.6763), ("26", 41.9029, -87.6931), ("27", 41.8947, -87.6582),
        ("32", 41.9080, -87.6737), ("36", 41.8958, -87.6851),
    )),
    CommunityArea("25", "AUSTIN", "015", 0.0581, beats=(
        ("1511", 0.081, 41.8959, -87.7690), ("1512", 0.081, 41.8861, -87.7682),
        ("1513", 0.102, 41.8774, -87.7693), ("1522", 0.139, 41.8776, -87.7601),
        ("1523", 0.096, 41.8867, -87.7609), ("1524", 0.081, 41.8950, -87.7605),
        ("1531", 0.091, 41.8970, -87.7515), ("1532", 0.138, 41.8877, -87.7507),
        ("1533", 0.192, 41.8779, -87.7501),
    ), wards=(
        ("28", 41.8835, -87.7507), ("29", 41.8876, -87.7669), ("37", 41.8999, -87.7556),
    )),
    CommunityArea("26", "WEST GARFIELD PARK", "011", 0.0175, beats=(
        ("1113", 0.111, 41.8812, -87.7364), ("1114", 0.142, 41.8843, -87.7291),
        ("1115", 0.174, 41.8793, -87.7294), ("1122", 0.181, 41.8809, -87.7233),
        ("1131", 0.101, 41.8741, -87.7355), ("1132", 0.215, 41.8734, -87.7272),
        ("1133", 0.076, 41.8734, -87.7219),
    ), wards=(("24", 41.8725, -87.7279), ("28", 41.8804, -87.7291),)),
    CommunityArea("27", "EAST GARFIELD PARK", "011", 0.0192, beats=(
        ("1122", 0.019, 41.8829, -87.7139), ("1123", 0.236, 41.8833, -87.7104),
        ("1124", 0.197, 41.8788, -87.7028), ("1125", 0.046, 41.8782, -87.6960),
        ("1133", 0.185, 41.8731, -87.7152), ("1134", 0.178, 41.8730, -87.7060),
        ("1135", 0.139, 41.8728, -87.6977),
    ), wards=(
        ("2", 41.8784, -87.6972), ("24", 41.8723, -87.7122), ("27", 41.8809, -87.6989),
        ("28", 41.8797, -87.7074),
    )),
    CommunityArea("28", "NEAR WEST SIDE", "012", 0.0387, beats=(
        ("1214", 0.112, 41.8864, -87.6489), ("1215", 0.036, 41.8854, -87.6626),
        ("1222", 0.015, 41.8820, -87.6829), ("1223", 0.174, 41.8824, -87.6788),
        ("1224", 0.133, 41.8832, -87.6584), ("1225", 0.131, 41.8750, -87.6792),
        ("1231", 0.127, 41.8721, -87.6639), ("1232", 0.165, 41.8738, -87.6511),
        ("1233", 0.107, 41.8650, -87.6645),
    ), wards=(
        ("2", 41.8745, -87.6627), ("27", 41.8825, -87.6675), ("28", 41.8679, -87.6594),
        ("34", 41.8806, -87.6487),
    )),
    CommunityArea("29", "NORTH LAWNDALE", "010", 0.0308, beats=(
        ("1011", 0.214, 41.8638, -87.7228), ("1012", 0.112, 41.8561, -87.7286),
        ("1013", 0.041, 41.8513, -87.7291), ("1014", 0.192, 41.8561, -87.7194),
        ("1021", 0.219, 41.8619, -87.7121), ("1022", 0.105, 41.8616, -87.7053),
        ("1023", 0.061, 41.8625, -87.6961), ("1024", 0.056, 41.8547, -87.7119),
    ), wards=(("24", 41.8611, -87.7173), ("28", 41.8648, -87.6963),)),
    CommunityArea("30", "SOUTH LAWNDALE", "010", 0.0165, beats=(
        ("1013", 0.108, 41.8469, -87.7208), ("1022", 0.049, 41.8520, -87.7038),
        ("1023", 0.045, 41.8519, -87.6970), ("1024", 0.194, 41.8481, -87.7098),
        ("1031", 0.228, 41.8401, -87.7267), ("1032", 0.142, 41.8408, -87.7109),
        ("1033", 0.172, 41.8474, -87.7004), ("1034", 0.063, 41.8474, -87.6947),
    ), wards=(
        ("12", 41.8476, -87.6978), ("22", 41.8432, -87.7187), ("24", 41.8502, -87.7020),
        ("25", 41.8477, -87.7008),
    )),
    CommunityArea("31", "LOWER WEST SIDE", "012", 0.0107, beats=(
        ("1233", 0.115, 41.8574, -87.6621), ("1234", 0.504, 41.8554, -87.6740),
        ("1235", 0.381, 41.8556, -87.6515),
    ), wards=(("25", 41.8549, -87.6665),)),
    CommunityArea("32", "LOOP", "001", 0.0342, beats=(
        ("0111", 0.224, 41.8846, -87.6276), ("0112", 0.189, 41.8816, -87.6272),
        ("0113", 0.115, 41.8779, -87.6277), ("0114", 0.113, 41.8824, -87.6213),
        ("0122", 0.162, 41.8825, -87.6336), ("0123", 0.197, 41.8711, -87.6284),
    ), wards=(
        ("2", 41.8736, -87.6289), ("4", 41.8734, -87.6266), ("34", 41.8800, -87.6289),
        ("42", 41.8838, -87.6274),
    )),
    CommunityArea("33", "NEAR SOUTH SIDE", "001", 0.0075, beats=(
        ("0131", 0.602, 41.8598, -87.6260), ("0132", 0.341, 41.8582, -87.6203),
        ("0133", 0.057, 41.8493, -87.6214),
    ), wards=(
        ("2", 41.8614, -87.6227), ("3", 41.8564, -87.6254), ("4", 41.8529, -87.6180),
        ("34", 41.8670, -87.6253),
    )),
    CommunityArea("34", "ARMOUR SQUARE", "009", 0.0042, beats=(
        ("0914", 0.632, 41.8504, -87.6340), ("0915", 0.368, 41.8308, -87.6328),
    ), wards=(
        ("3", 41.8256, -87.6324), ("11", 41.8432, -87.6333), ("25", 41.8530, -87.6344),
    )),
    CommunityArea("35", "DOUGLAS", "002", 0.0108, beats=(
        ("0211", 0.485, 41.8338, -87.6174), ("0212", 0.377, 41.8287, -87.6169),
        ("0213", 0.138, 41.8282, -87.6247),
    ), wards=(
        ("2", 41.8366, -87.6206), ("3", 41.8333, -87.6242), ("4", 41.8343, -87.6156),
    )),
    CommunityArea("36", "OAKLAND", "002", 0.0026, beats=(
        ("0212", 0.698, 41.8272, -87.6077), ("0214", 0.302, 41.8210, -87.6032),
    ), wards=(("4", 41.8252, -87.6063),)),
    CommunityArea("37", "FULLER PARK", "009", 0.0034, beats=(
        ("0925", 0.512, 41.8146, -87.6330), ("0935", 0.488, 41.8004, -87.6325),
    ), wards=(("3", 41.8056, -87.6323), ("20", 41.8055, -87.6322),)),
    CommunityArea("38", "GRAND BOULEVARD", "002", 0.0144, beats=(
        ("0213", 0.189, 41.8192, -87.6224), ("0214", 0.088, 41.8196, -87.6126),
        ("0215", 0.168, 41.8132, -87.6218), ("0221", 0.109, 41.8132, -87.6118),
        ("0223", 0.193, 41.8065, -87.6122), ("0224", 0.252, 41.8061, -87.6225),
    ), wards=(("3", 41.8122, -87.6209), ("4", 41.8117, -87.6092),)),
    CommunityArea("39", "KENWOOD", "002", 0.0060, beats=(
        ("0221", 0.134, 41.8126, -87.6042), ("0222", 0.742, 41.8091, -87.5964),
        ("0223", 0.124, 41.8070, -87.6039),
    ), wards=(("4", 41.8097, -87.5993), ("5", 41.8043, -87.5858),)),
    CommunityArea("40", "WASHINGTON PARK", "002", 0.0094, beats=(
        ("0225", 0.205, 41.7956, -87.6241), ("0231", 0.354, 41.7965, -87.6195),
        ("0232", 0.331, 41.7885, -87.6205), ("0233", 0.110, 41.7958, -87.6109),
    ), wards=(("3", 41.7977, -87.6214), ("20", 41.7885, -87.6191),)),
    CommunityArea("41", "HYDE PARK", "002", 0.0057, beats=(
        ("0233", 0.181, 41.7985, -87.6008), ("0234", 0.542, 41.7997, -87.5886),
        ("0235", 0.277, 41.7932, -87.5932),
    ), wards=(("4", 41.8007, -87.5920), ("5", 41.7950, -87.5897),)),
    CommunityArea("42", "WOODLAWN", "003", 0.0151, beats=(
        ("0312", 0.175, 41.7781, -87.6096), ("0313", 0.221, 41.7833, -87.6101),
        ("0314", 0.229, 41.7804, -87.5929), ("0321", 0.325, 41.7737, -87.6016),
        ("0331", 0.050, 41.7774, -87.5785),
    ), wards=(
        ("5", 41.7781, -87.5866), ("6", 41.7694, -87.6073), ("20", 41.7793, -87.6056),
    )),
    CommunityArea("43", "SOUTH SHORE", "003", 0.0346, beats=(
        ("0321", 0.017, 41.7683, -87.5867), ("0324", 0.181, 41.7624, -87.5857),
        ("0331", 0.203, 41.7693, -87.5722), ("0332", 0.214, 41.7699, -87.5840),
        ("0333", 0.194, 41.7637, -87.5751), ("0334", 0.192, 41.7622, -87.5634),
    ), wards=(
        ("5", 41.7677, -87.5791), ("7", 41.7584, -87.5634), ("8", 41.7572, -87.5826),
    )),
    CommunityArea("44", "CHATHAM", "006", 0.0265, beats=(
        ("0621", 0.009, 41.7474, -87.6279), ("0622", 0.103, 41.7416, -87.6299),
        ("0623", 0.121, 41.7495, -87.6262), ("0624", 0.107, 41.7500, -87.6060),
        ("0631", 0.290, 41.7466, -87.6065), ("0632", 0.257, 41.7384, -87.6104),
        ("0633", 0.075, 41.7301, -87.6078), ("0634", 0.037, 41.7363, -87.6258),
    ), wards=(
        ("6", 41.7438, -87.6151), ("8", 41.7423, -87.6031), ("17", 41.7497, -87.6314),
        ("21", 41.7389, -87.6294),
    )),
    CommunityArea("45", "AVALON PARK", "004", 0.0041, beats=(
        ("0411", 0.493, 41.7484, -87.5902), ("0412", 0.448, 41.7398, -87.5833),
        ("0414", 0.060, 41.7452, -87.5834),
    ), wards=(("8", 41.7442, -87.5866),)),
    CommunityArea("46", "SOUTH CHICAGO", "004", 0.0177, beats=(
        ("0411", 0.003, 41.7448, -87.5666), ("0412", 0.049, 41.7419, -87.5677),
        ("0414", 0.132, 41.7493, -87.5726), ("0421", 0.010, 41.7483, -87.5527),
        ("0422", 0.178, 41.7495, -87.5577), ("0423", 0.376, 41.7374, -87.5564),
        ("0424", 0.251, 41.7369, -87.5474),
    ), wards=(
        ("7", 41.7450, -87.5582), ("8", 41.7472, -87.5732), ("10", 41.7351, -87.5497),
    )),
    CommunityArea("47", "BURNSIDE", "004", 0.0017, beats=(
        ("0413", 1.000, 41.7278, -87.5981),
    ), wards=(("8", 41.7278, -87.5981),)),
    CommunityArea("48", "CALUMET HEIGHTS", "004", 0.0057, beats=(
        ("0412", 0.272, 41.7351, -87.5815), ("0413", 0.533, 41.7284, -87.5768),
        ("0423", 0.196, 41.7300, -87.5630),
    ), wards=(("7", 41.7289, -87.5657), ("8", 41.7317, -87.5817),)),
    CommunityArea("49", "ROSELAND", "005", 0.0245, beats=(
        ("0511", 0.277, 41.7138, -87.6223), ("0512", 0.267, 41.7037, -87.6216),
        ("0513", 0.240, 41.6955, -87.6208), ("0522", 0.083, 41.6906, -87.6271),
        ("0531", 0.133, 41.6904, -87.6185),
    ), wards=(
        ("6", 41.7217, -87.6189), ("9", 41.7024, -87.6201), ("21", 41.7108, -87.6322),
        ("34", 41.6963, -87.6302),
    )),
    CommunityArea("50", "PULLMAN", "005", 0.0042, beats=(
        ("0511", 0.373, 41.7163, -87.5976), ("0512", 0.299, 41.7055, -87.6030),
        ("0513", 0.090, 41.6984, -87.5977), ("0531", 0.239, 41.6922, -87.6050),
    ), wards=(("8", 41.7172, -87.5973), ("9", 41.6985, -87.6031),)),
    CommunityArea("51", "SOUTH DEERING", "004", 0.0078, beats=(
        ("0413", 0.061, 41.7200, -87.5758), ("0431", 0.661, 41.7173, -87.5674),
        ("0434", 0.278, 41.7018, -87.5657),
    ), wards=(("7", 41.7180, -87.5712), ("10", 41.7036, -87.5689),)),
    CommunityArea("52", "EAST SIDE", "004", 0.0049, beats=(
        ("0432", 0.840, 41.7082, -87.5360), ("0433", 0.160, 41.6927, -87.5360),
    ), wards=(("10", 41.7054, -87.5360),)),
    CommunityArea("53", "WEST PULLMAN", "005", 0.0159, beats=(
        ("0522", 0.175, 41.6800, -87.6290), ("0523", 0.323, 41.6683, -87.6344),
        ("0524", 0.323, 41.6795, -87.6464), ("0532", 0.179, 41.6777, -87.6201),
    ), wards=(
        ("9", 41.6738, -87.6260), ("21", 41.6788, -87.6439), ("34", 41.6760, -87.6401),
    )),
    CommunityArea("54", "RIVERDALE", "005", 0.0056, beats=(
        ("0532", 0.044, 41.6741, -87.6059), ("0533", 0.956, 41.6555, -87.6047),
    ), wards=(("9", 41.6575, -87.6064), ("10", 41.6556, -87.6025),)),
    CommunityArea("55", "HEGEWISCH", "004", 0.0026, beats=(
        ("0433", 0.977, 41.6566, -87.5453), ("0434", 0.023, 41.6541, -87.5506),
    ), wards=(("10", 41.6564, -87.5456),)),
    CommunityArea("56", "GARFIELD RIDGE", "008", 0.0069, beats=(
        ("0811", 0.312, 41.7923, -87.7798), ("0813", 0.152, 41.7903, -87.7427),
        ("0814", 0.384, 41.8016, -87.7506), ("0815", 0.152, 41.8060, -87.7433),
    ), wards=(
        ("13", 41.7893, -87.7603), ("22", 41.8079, -87.7450), ("23", 41.7981, -87.7593),
    )),
    CommunityArea("57", "ARCHER HEIGHTS", "008", 0.0039, beats=(
        ("0815", 0.688, 41.8059, -87.7294), ("0821", 0.312, 41.8080, -87.7222),
    ), wards=(("14", 41.8094, -87.7241), ("23", 41.8007, -87.7332),)),
    CommunityArea("58", "BRIGHTON PARK", "009", 0.0091, beats=(
        ("0911", 0.172, 41.8244, -87.6989), ("0921", 0.359, 41.8191, -87.6952),
        ("0922", 0.469, 41.8112, -87.6947),
    ), wards=(
        ("12", 41.8178, -87.6958), ("14", 41.8131, -87.7011), ("15", 41.8089, -87.6855),
    )),
    CommunityArea("59", "MCKINLEY PARK", "009", 0.0044, beats=(
        ("0911", 0.139, 41.8301, -87.6840), ("0912", 0.861, 41.8309, -87.6734),
    ), wards=(("11", 41.8300, -87.6713), ("12", 41.8318, -87.6804),)),
    CommunityArea("60", "BRIDGEPORT", "009", 0.0055, beats=(
        ("0913", 0.494, 41.8373, -87.6525), ("0914", 0.180, 41.8423, -87.6434),
        ("0915", 0.326, 41.8324, -87.6439),
    ), wards=(("11", 41.8366, -87.6480),)),
    CommunityArea("61", "NEW CITY", "009", 0.0168, beats=(
        ("0921", 0.004, 41.8110, -87.6701), ("0922", 0.011, 41.8066, -87.6756),
        ("0924", 0.215, 41.8120, -87.6697), ("0925", 0.084, 41.8125, -87.6442),
        ("0931", 0.157, 41.8057, -87.6711), ("0932", 0.175, 41.7976, -87.6701),
        ("0933", 0.150, 41.8046, -87.6585), ("0934", 0.146, 41.7984, -87.6559),
        ("0935", 0.058, 41.8040, -87.6452),
    ), wards=(
        ("3", 41.8066, -87.6498), ("11", 41.8121, -87.6474), ("12", 41.8128, -87.6751),
        ("15", 41.8089, -87.6651), ("16", 41.7987, -87.6655), ("20", 41.8044, -87.6588),
    )),
    CommunityArea("62", "WEST ELSDON", "008", 0.0043, beats=(
        ("0813", 0.357, 41.7899, -87.7308), ("0815", 0.229, 41.7963, -87.7251),
        ("0822", 0.414, 41.7928, -87.7200),
    ), wards=(("13", 41.7897, -87.7289), ("23", 41.7952, -87.7227),)),
    CommunityArea("63", "GAGE PARK", "008", 0.0099, beats=(
        ("0821", 0.115, 41.8018, -87.7032), ("0822", 0.346, 41.7937, -87.7062),
        ("0824", 0.538, 41.7895, -87.6908),
    ), wards=(
        ("14", 41.7959, -87.7011), ("15", 41.7923, -87.6891), ("16", 41.7906, -87.6867),
    )),
    CommunityArea("64", "CLEARING", "008", 0.0045, beats=(
        ("0811", 0.027, 41.7816, -87.7813), ("0812", 0.667, 41.7791, -87.7773),
        ("0813", 0.280, 41.7780, -87.7497), ("0833", 0.027, 41.7757, -87.7538),
    ), wards=(("13", 41.7784, -87.7635), ("23", 41.7800, -87.7879),)),
    CommunityArea("65", "WEST LAWN", "008", 0.0085, beats=(
        ("0813", 0.206, 41.7795, -87.7295), ("0822", 0.028, 41.7794, -87.7235),
        ("0823", 0.149, 41.7789, -87.7201), ("0833", 0.610, 41.7615, -87.7317),
        ("0835", 0.007, 41.7659, -87.7234),
    ), wards=(
        ("13", 41.7725, -87.7270), ("18", 41.7556, -87.7392), ("23", 41.7723, -87.7201),
    )),
    CommunityArea("66", "CHICAGO LAWN", "008", 0.0201, beats=(
        ("0822", 0.006, 41.7800, -87.7005), ("0823", 0.242, 41.7798, -87.7010),
        ("0824", 0.052, 41.7846, -87.6925), ("0825", 0.215, 41.7794, -87.6880),
        ("0831", 0.258, 41.7698, -87.6970), ("0832", 0.185, 41.7701, -87.6838),
        ("0835", 0.042, 41.7614, -87.6893),
    ), wards=(
        ("14", 41.7791, -87.7053), ("15", 41.7770, -87.6947), ("16", 41.7786, -87.6889),
        ("17", 41.7668, -87.6919), ("18", 41.7626, -87.6898),
    )),
    CommunityArea("67", "WEST ENGLEWOOD", "007", 0.0213, beats=(
        ("0713", 0.198, 41.7872, -87.6602), ("0714", 0.096, 41.7822, -87.6692),
        ("0715", 0.119, 41.7897, -87.6709), ("0724", 0.044, 41.7753, -87.6572),
        ("0725", 0.198, 41.7748, -87.6639), ("0726", 0.096, 41.7749, -87.6725),
        ("0734", 0.105, 41.7643, -87.6593), ("0735", 0.145, 41.7644, -87.6688),
    ), wards=(
        ("15", 41.7821, -87.6697), ("16", 41.7841, -87.6624), ("17", 41.7661, -87.6643),
    )),
    CommunityArea("68", "ENGLEWOOD", "007", 0.0239, beats=(
        ("0711", 0.175, 41.7858, -87.6381), ("0712", 0.199, 41.7874, -87.6498),
        ("0722", 0.114, 41.7747, -87.6355), ("0723", 0.175, 41.7743, -87.6443),
        ("0724", 0.088, 41.7735, -87.6511), ("0732", 0.117, 41.7648, -87.6405),
        ("0733", 0.133, 41.7642, -87.6488),
    ), wards=(
        ("6", 41.7695, -87.6399), ("16", 41.7824, -87.6484), ("17", 41.7656, -87.6482),
        ("20", 41.7824, -87.6355),
    )),
    CommunityArea("69", "GREATER GRAND CROSSING", "003", 0.0272, beats=(
        ("0312", 0.197, 41.7770, -87.6167), ("0321", 0.034, 41.7671, -87.6039),
        ("0322", 0.350, 41.7687, -87.6193), ("0323", 0.360, 41.7619, -87.6135),
        ("0324", 0.059, 41.7640, -87.6028),
    ), wards=(
        ("6", 41.7618, -87.6201), ("17", 41.7559, -87.6337), ("20", 41.7761, -87.6177),
    )),
    CommunityArea("70", "ASHBURN", "008", 0.0093, beats=(
        ("0833", 0.013, 41.7475, -87.7138), ("0834", 0.529, 41.7437, -87.7220),
        ("0835", 0.458, 41.7474, -87.6954),
    ), wards=(("13", 41.7488, -87.7332), ("18", 41.7452, -87.7081),)),
    CommunityArea("71", "AUBURN GRESHAM", "006", 0.0293, beats=(
        ("0611", 0.171, 41.7513, -87.6680), ("0612", 0.242, 41.7517, -87.6563),
        ("0613", 0.211, 41.7422, -87.6509), ("0614", 0.164, 41.7431, -87.6638),
        ("0621", 0.169, 41.7521, -87.6452), ("0622", 0.043, 41.7407, -87.6422),
    ), wards=(
        ("17", 41.7508, -87.6550), ("18", 41.7458, -87.6697), ("21", 41.7410, -87.6527),
    )),
    CommunityArea("72", "BEVERLY", "022", 0.0031, beats=(
        ("2211", 0.204, 41.7090, -87.6837), ("2212", 0.184, 41.7049, -87.6698),
        ("2213", 0.510, 41.7155, -87.6727), ("2221", 0.102, 41.7230, -87.6764),
    ), wards=(("19", 41.7130, -87.6749),)),
    CommunityArea("73", "WASHINGTON HEIGHTS", "022", 0.0108, beats=(
        ("2213", 0.139, 41.7195, -87.6580), ("2221", 0.150, 41.7274, -87.6619),
        ("2222", 0.214, 41.7273, -87.6548), ("2223", 0.225, 41.7211, -87.6427),
        ("2232", 0.237, 41.7086, -87.6459), ("2233", 0.035, 41.7065, -87.6455),
    ), wards=(
        ("9", 41.7152, -87.6366), ("21", 41.7219, -87.6523), ("34", 41.7065, -87.6459),
    )),
    CommunityArea("74", "MOUNT GREENWOOD", "022", 0.0022, beats=(
        ("2211", 1.000, 41.6953, -87.7090),
    ), wards=(("19", 41.6953, -87.7090),)),
    CommunityArea("75", "MORGAN PARK", "022", 0.0071, beats=(
        ("2212", 0.402, 41.6870, -87.6757), ("2233", 0.051, 41.6922, -87.6479),
        ("2234", 0.547, 41.6896, -87.6564),
    ), wards=(
        ("19", 41.6870, -87.6764), ("21", 41.6891, -87.6558), ("34", 41.6907, -87.6546),
    )),
    CommunityArea("76", "OHARE", "016", 0.0057, beats=(
        ("1614", 0.275, 41.9776, -87.8433), ("1651", 0.198, 41.9785, -87.9038),
        ("1652", 0.033, 41.9772, -87.8956), ("1653", 0.176, 41.9768, -87.8986),
        ("1654", 0.231, 41.9826, -87.8876), ("1655", 0.088, 41.9755, -87.8888),
    ), wards=(("41", 41.9787, -87.8820),)),
    CommunityArea("77", "EDGEWATER", "020", 0.0109, beats=(
        ("2012", 0.271, 41.9824, -87.6698), ("2013", 0.305, 41.9836, -87.6635),
        ("2022", 0.220, 41.9862, -87.6577), ("2023", 0.203, 41.9813, -87.6580),
    ), wards=(("40", 41.9868, -87.6702), ("48", 41.9870, -87.6597),)),
)
# fmt: on

# Streets for block strings, on Chicago's address grid (800 numbers a mile from State and
# Madison): east-west streets by their north (+) / south (-) number, north-south streets by their
# east (+) / west (-) number. South of Roosevelt the demo adds the numbered streets (13TH ST ...).
EAST_WEST_STREETS: tuple[tuple[int, str], ...] = (
    (7600, "HOWARD ST"),
    (7200, "TOUHY AVE"),
    (7000, "LUNT AVE"),
    (6800, "PRATT BLVD"),
    (6400, "DEVON AVE"),
    (6200, "GRANVILLE AVE"),
    (6000, "PETERSON AVE"),
    (5600, "BRYN MAWR AVE"),
    (5400, "BALMORAL AVE"),
    (5200, "FOSTER AVE"),
    (5000, "ARGYLE ST"),
    (4800, "LAWRENCE AVE"),
    (4600, "WILSON AVE"),
    (4400, "MONTROSE AVE"),
    (4000, "IRVING PARK RD"),
    (3800, "GRACE ST"),
    (3600, "ADDISON ST"),
    (3400, "ROSCOE ST"),
    (3200, "BELMONT AVE"),
    (3000, "WELLINGTON AVE"),
    (2800, "DIVERSEY AVE"),
    (2600, "WRIGHTWOOD AVE"),
    (2400, "FULLERTON AVE"),
    (2200, "WEBSTER AVE"),
    (2000, "ARMITAGE AVE"),
    (1800, "CORTLAND ST"),
    (1600, "NORTH AVE"),
    (1400, "SCHILLER ST"),
    (1200, "DIVISION ST"),
    (1000, "AUGUSTA BLVD"),
    (800, "CHICAGO AVE"),
    (700, "HURON ST"),
    (600, "OHIO ST"),
    (500, "GRAND AVE"),
    (400, "KINZIE ST"),
    (200, "LAKE ST"),
    (150, "RANDOLPH ST"),
    (100, "WASHINGTON BLVD"),
    (0, "MADISON ST"),
    (-100, "MONROE ST"),
    (-200, "ADAMS ST"),
    (-300, "JACKSON BLVD"),
    (-400, "VAN BUREN ST"),
    (-500, "CONGRESS PKWY"),
    (-600, "HARRISON ST"),
    (-800, "POLK ST"),
    (-1000, "TAYLOR ST"),
    (-1200, "ROOSEVELT RD"),
    (-2200, "CERMAK RD"),
    (-3900, "PERSHING RD"),
    (-5500, "GARFIELD BLVD"),
    (-6700, "MARQUETTE RD"),
)
NORTH_SOUTH_STREETS: tuple[tuple[int, str], ...] = (
    (3000, "COMMERCIAL AVE"),
    (2400, "YATES BLVD"),
    (2000, "JEFFERY BLVD"),
    (1600, "STONY ISLAND AVE"),
    (1400, "DORCHESTER AVE"),
    (1200, "WOODLAWN AVE"),
    (800, "COTTAGE GROVE AVE"),
    (400, "KING DR"),
    (100, "MICHIGAN AVE"),
    (0, "STATE ST"),
    (-100, "CLARK ST"),
    (-200, "WELLS ST"),
    (-300, "FRANKLIN ST"),
    (-500, "CANAL ST"),
    (-600, "JEFFERSON ST"),
    (-800, "HALSTED ST"),
    (-1000, "MORGAN ST"),
    (-1200, "RACINE AVE"),
    (-1400, "LOOMIS ST"),
    (-1600, "ASHLAND AVE"),
    (-1800, "WOOD ST"),
    (-2000, "DAMEN AVE"),
    (-2200, "LEAVITT ST"),
    (-2400, "WESTERN AVE"),
    (-2600, "ROCKWELL ST"),
    (-2800, "CALIFORNIA AVE"),
    (-3000, "SACRAMENTO AVE"),
    (-3200, "KEDZIE AVE"),
    (-3400, "HOMAN AVE"),
    (-3600, "CENTRAL PARK AVE"),
    (-3800, "HAMLIN AVE"),
    (-4000, "PULASKI RD"),
    (-4200, "KEELER AVE"),
    (-4400, "KOSTNER AVE"),
    (-4800, "CICERO AVE"),
    (-5200, "LARAMIE AVE"),
    (-5600, "CENTRAL AVE"),
    (-6000, "AUSTIN AVE"),
    (-6400, "NARRAGANSETT AVE"),
    (-6800, "OAK PARK AVE"),
    (-7200, "HARLEM AVE"),
    (-8400, "CUMBERLAND AVE"),
)
