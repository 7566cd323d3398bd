"""`normalise` types raw Socrata rows into lake rows and sets bad rows aside with a reason."""

from __future__ import annotations

import datetime as dt

import polars as pl
from hypothesis import given
from hypothesis import strategies as st

from chicrime.ingest.records import normalise
from chicrime.store.schema import LAKE_SCHEMA, RECORD_FIELDS

FULL_ROW = {
    "id": "13311263",
    "case_number": "JG503434",
    "date": "2023-11-05T01:30:00.000",
    "block": "047XX S DR MARTIN LUTHER KING JR DR",
    "iucr": "0486",
    "primary_type": "BATTERY",
    "description": "DOMESTIC BATTERY SIMPLE",
    "location_description": "APARTMENT",
    "arrest": "true",
    "domestic": "false",
    "beat": "0421",
    "district": "004",
    "ward": "03",
    "community_area": "38",
    "fbi_code": "08B",
    "latitude": "41.808",
    "longitude": "-87.616",
    "updated_on": "2023-11-12T15:40:59.000",
}


def raw(**columns: list[str | None]) -> pl.DataFrame:
    """A raw page as the API sends it: every column a string column."""
    return pl.DataFrame(columns, schema={name: pl.String for name in columns})


def test_full_row_is_typed_exactly():
    """A complete row keeps every text value and converts ids, times, booleans and floats."""
    result = normalise(pl.DataFrame([FULL_ROW]))

    assert result.rejected.height == 0
    assert result.rows.to_dicts() == [
        {
            "id": 13311263,
            "case_number": "JG503434",
            "date": dt.datetime(2023, 11, 5, 1, 30),
            "block": "047XX S DR MARTIN LUTHER KING JR DR",
            "iucr": "0486",
            "primary_type": "BATTERY",
            "description": "DOMESTIC BATTERY SIMPLE",
            "location_description": "APARTMENT",
            "arrest": True,
            "domestic": False,
            "beat": "0421",
            "district": "004",
            "ward": "03",
            "community_area": "38",
            "fbi_code": "08B",
            "latitude": 41.808,
            "longitude": -87.616,
            "updated_on": dt.datetime(2023, 11, 12, 15, 40, 59),
            "year": 2023,
            "month": 11,
        }
    ]


def test_output_schema_equals_lake_schema():
    """The typed rows have exactly the lake's columns, in order, with the lake's types."""
    result = normalise(raw(id=["1"], date=["2024-01-01T00:00:00.000"]))

    assert result.rows.schema == LAKE_SCHEMA


def test_rejected_frame_has_raw_columns_and_reason():
    """The rejected frame holds every API field as a string plus a `reason` column."""
    result = normalise(raw(id=["x1"], date=["2024-01-01T00:00:00.000"]))

    assert result.rejected.schema == pl.Schema(
        {**{name: pl.String() for name in RECORD_FIELDS}, "reason": pl.String()}
    )


def test_codes_keep_their_source_spelling():
    """Codes with leading zeros or odd spacing are stored exactly as the source spells them."""
    result = normalise(
        raw(
            id=["1"],
            date=["2024-01-01T00:00:00.000"],
            beat=["0421"],
            district=["004"],
            ward=[" 3"],
            iucr=["041A"],
            block=["001XX n state st"],
        )
    )

    row = result.rows.select("beat", "district", "ward", "iucr", "block").to_dicts()
    assert row == [
        {
            "beat": "0421",
            "district": "004",
            "ward": " 3",
            "iucr": "041A",
            "block": "001XX n state st",
        }
    ]


def test_missing_columns_become_nulls():
    """Columns the API omitted (all values null) are present in the output as nulls."""
    result = normalise(raw(id=["7"], date=["2024-05-06T07:08:09.000"]))

    row = result.rows.to_dicts()[0]
    missing = [name for name in LAKE_SCHEMA if name not in ("id", "date", "year", "month")]
    assert {name: row[name] for name in missing} == dict.fromkeys(missing)
    assert (row["id"], row["date"]) == (7, dt.datetime(2024, 5, 6, 7, 8, 9))


def test_year_and_month_derive_from_date():
    """`year` and `month` come from `date`, not from `updated_on`."""
    result = normalise(
        raw(
            id=["1", "2"],
            date=["2001-01-01T00:00:00.000", "2024-12-31T23:59:59.000"],
            updated_on=["2024-06-01T00:00:00.000", "2025-01-02T00:00:00.000"],
        )
    )

    assert result.rows.select("id", "year", "month").to_dicts() == [
        {"id": 1, "year": 2001, "month": 1},
        {"id": 2, "year": 2024, "month": 12},
    ]


def test_dst_wall_clock_times_survive_unshifted():
    """A spring-forward 02:30 and a fall-back 01:30 keep exactly that wall-clock time."""
    result = normalise(
        raw(
            id=["1", "2"],
            date=["2014-03-09T02:30:00.000", "2023-11-05T01:30:00.000"],
            updated_on=["2014-03-09T02:59:59.000", "2023-11-05T01:00:00.000"],
        )
    )

    assert result.rejected.height == 0
    assert result.rows.select("date", "updated_on").to_dicts() == [
        {"date": dt.datetime(2014, 3, 9, 2, 30), "updated_on": dt.datetime(2014, 3, 9, 2, 59, 59)},
        {"date": dt.datetime(2023, 11, 5, 1, 30), "updated_on": dt.datetime(2023, 11, 5, 1, 0)},
    ]
    assert result.rows.schema["date"] == pl.Datetime("us", time_zone=None)


def test_timestamps_parse_with_and_without_fraction():
    """`...T12:34:56.000`, `...T12:34:56` and `...T12:34:56.5` all parse to the same second."""
    result = normalise(
        raw(
            id=["1", "2", "3"],
            date=["2024-02-10T12:34:56.000", "2024-02-10T12:34:56", "2024-02-10T12:34:56.500"],
        )
    )

    assert result.rows.get_column("date").to_list() == [
        dt.datetime(2024, 2, 10, 12, 34, 56),
        dt.datetime(2024, 2, 10, 12, 34, 56),
        dt.datetime(2024, 2, 10, 12, 34, 56, 500_000),
    ]


def test_bad_rows_are_rejected_with_exact_reasons_and_raw_values():
    """Each unusable row goes to `rejected` with its raw values and a reason naming the column."""
    frame = raw(
        id=["1", None, "x1", "4", "5", "6", "7"],
        date=[
            "2024-01-01T00:00:00.000",
            "2024-01-01T00:00:00.000",
            "2024-01-01T00:00:00.000",
            None,
            "yesterday",
            "2024-01-01T00:00:00.000",
            "2024-01-01T00:00:00.000",
        ],
        latitude=["41.9", None, None, None, None, "abc", None],
        arrest=["false", None, None, None, None, None, "maybe"],
        beat=["0421", "0111", "0222", "0333", "0444", "0555", "0666"],
    )

    result = normalise(frame)

    assert result.rows.select("id", "beat", "latitude", "arrest").to_dicts() == [
        {"id": 1, "beat": "0421", "latitude": 41.9, "arrest": False}
    ]
    rejected = result.rejected.select("id", "date", "latitude", "arrest", "beat", "reason")
    assert rejected.to_dicts() == [
        {
            "id": None,
            "date": "2024-01-01T00:00:00.000",
            "latitude": None,
            "arrest": None,
            "beat": "0111",
            "reason": "id: missing",
        },
        {
            "id": "x1",
            "date": "2024-01-01T00:00:00.000",
            "latitude": None,
            "arrest": None,
            "beat": "0222",
            "reason": "id: cannot parse x1",
        },
        {
            "id": "4",
            "date": None,
            "latitude": None,
            "arrest": None,
            "beat": "0333",
            "reason": "date: missing",
        },
        {
            "id": "5",
            "date": "yesterday",
            "latitude": None,
            "arrest": None,
            "beat": "0444",
            "reason": "date: cannot parse yesterday",
        },
        {
            "id": "6",
            "date": "2024-01-01T00:00:00.000",
            "latitude": "abc",
            "arrest": None,
            "beat": "0555",
            "reason": "latitude: cannot parse abc",
        },
        {
            "id": "7",
            "date": "2024-01-01T00:00:00.000",
            "latitude": None,
            "arrest": "maybe",
            "beat": "0666",
            "reason": "arrest: cannot parse maybe",
        },
    ]


def test_every_problem_of_a_row_is_listed_in_its_reason():
    """A row with several bad values gets one reason naming each of them, in column order."""
    result = normalise(raw(id=["x1"], date=["yesterday"], domestic=["yes"], longitude=["west"]))

    assert result.rejected.get_column("reason").to_list() == [
        "id: cannot parse x1; date: cannot parse yesterday; domestic: cannot parse yes; "
        "longitude: cannot parse west"
    ]


def test_blank_strings_in_typed_columns_are_nulls_not_rejections():
    """Empty or blank optional typed values become nulls and the row is kept."""
    result = normalise(
        raw(
            id=["1", "2"],
            date=["2024-01-01T00:00:00.000", "2024-01-01T00:00:00.000"],
            latitude=["", "   "],
            longitude=[" ", ""],
            arrest=["", " "],
            domestic=["  ", ""],
            updated_on=["", "  "],
        )
    )

    assert result.rejected.height == 0
    assert result.rows.select(
        "id", "latitude", "longitude", "arrest", "domestic", "updated_on"
    ).to_dicts() == [
        {
            "id": 1,
            "latitude": None,
            "longitude": None,
            "arrest": None,
            "domestic": None,
            "updated_on": None,
        },
        {
            "id": 2,
            "latitude": None,
            "longitude": None,
            "arrest": None,
            "domestic": None,
            "updated_on": None,
        },
    ]


def test_blank_id_or_date_is_rejected_as_missing():
    """A blank `id` or `date` counts as missing, so the row is rejected."""
    result = normalise(raw(id=[" ", "2"], date=["2024-01-01T00:00:00.000", ""]))

    assert result.rows.height == 0
    assert result.rejected.get_column("reason").to_list() == ["id: missing", "date: missing"]


def test_rows_without_any_lake_column_are_each_rejected():
    """A page whose rows carry no lake column yields one rejected row per input row."""
    result = normalise(pl.DataFrame({"x_coordinate": ["1", "2", "3"]}))

    assert result.rows.height == 0
    assert result.rejected.get_column("reason").to_list() == ["id: missing; date: missing"] * 3


PROPERTY_COLUMNS = ("id", "date", "latitude", "arrest", "beat", "x_coordinate")
raw_values = st.one_of(
    st.none(),
    st.text(alphabet="0123456789 .:-Tabcefrstux", max_size=10),
    st.integers(-5, 10**6).map(str),
    st.sampled_from(["true", "false", "2024-01-01T00:00:00.000", "2014-03-09T02:30:00", " "]),
)
raw_rows = st.lists(
    st.dictionaries(st.sampled_from(PROPERTY_COLUMNS), raw_values, max_size=len(PROPERTY_COLUMNS)),
    max_size=12,
)


@given(raw_rows)
def test_every_input_row_lands_in_exactly_one_output(rows):
    """For any raw rows, typed rows plus rejected rows equal the input rows, one to one."""
    columns = sorted({key for row in rows for key in row})
    frame = pl.DataFrame(rows, schema=dict.fromkeys(columns, pl.String))

    result = normalise(frame)

    assert result.rows.height + result.rejected.height == frame.height == len(rows)
    assert result.rows.schema == LAKE_SCHEMA
