"""Status history: append-only records, latest wins, as-of dates, summaries, validation."""

from __future__ import annotations

import datetime as dt
import hashlib
import sqlite3

import geopandas as gpd
import pandas as pd
import pytest
import shapely

from geo.text import slugify
from layers import status
from layers._errors import ImportValidationError
from layers.store import Store

SET = "qd318-2022-xa-ntm"
NANG_CAO = "qd318-2022-xa-ntm-nang-cao"


def _square(k: int) -> shapely.MultiPolygon:
    x, y = 104.0 + 0.01 * k, 22.6
    return shapely.MultiPolygon([shapely.box(x, y, x + 0.009, y + 0.009)])


def _units(rows: list[tuple]) -> gpd.GeoDataFrame:
    """(code, name, unit_type, parent_code, valid_from, valid_to) -> feature frame."""
    df = pd.DataFrame(rows, columns=["code", "name", "unit_type", "parent_code", "valid_from", "valid_to"])
    df["slug"] = df["name"].map(slugify)
    return gpd.GeoDataFrame(df, geometry=[_square(k) for k in range(len(df))], crs="EPSG:4326")


def build_store(path) -> Store:
    """1 province, 2 districts, 6 commune vintages (one merged away), 2 villages."""
    store = Store(path, create=True)
    with store.transaction() as conn:
        store.insert_features(conn, "provinces", _units([("10", "Lào Cai", "tinh", None, None, None)]))
        store.insert_features(conn, "districts", _units([
            ("084", "Si Ma Cai", "huyen", "10", None, None),
            ("085", "Bắc Hà", "huyen", "10", None, None),
        ]))
        store.insert_features(conn, "communes", _units([
            ("02836", "Sín Chéng", "xa", "084", None, None),
            ("02839", "Bản Mế", "xa", "084", None, None),
            ("02842", "Lùng Phình", "xa", "084", None, None),
            ("02830", "Quan Thần Sán", "xa", "084", None, "2020-01-10"),
            ("02831", "Quan Hồ Thẩn", "xa", "084", "2020-01-10", None),
            ("02890", "Lùng Phình", "xa", "085", None, None),
        ]))
        store.insert_features(conn, "villages", _units([
            ("0283601", "Sín Chéng", "thon", "02836", None, None),
            ("0283901", "Na Pá", "thon", "02839", None, None),
        ]))
    return store


def sha256(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def store(tmp_path) -> Store:
    return build_store(tmp_path / "ntm.gpkg")


def rec(unit="02836", criterion=1, met=True, year=2024, set_id=SET, **extra) -> dict:
    return {"unit_code": unit, "year": year, "set_id": set_id, "criterion": criterion, "met": met, **extra}


# --- recording and reading back -------------------------------------------------------------


def test_latest_record_wins_and_history_is_kept(store):
    status.record_status(store, [rec(met=False)], recorded_by="a", recorded_at="2024-02-01")
    status.record_status(store, [rec(met=True)], recorded_by="b", recorded_at="2024-06-01",
                         source_document="BC 12/BC-UBND")
    cur = status.current_status(store, year=2024, set_id=SET)
    assert len(cur) == 1
    assert bool(cur.loc[0, "met"]) is True
    assert cur.loc[0, "recorded_by"] == "b"
    assert cur.loc[0, "source_document"] == "BC 12/BC-UBND"
    hist = status.status_history(store, "02836")
    assert hist["met"].tolist() == [False, True]
    assert hist["recorded_at"].tolist() == ["2024-02-01T00:00:00.000Z", "2024-06-01T00:00:00.000Z"]
    assert store.count("status_records") == 2


def test_backdated_record_does_not_override_a_later_one(store):
    status.record_status(store, [rec(met=True)], recorded_by="a", recorded_at="2024-06-01")
    status.record_status(store, [rec(met=False)], recorded_by="a", recorded_at="2024-03-01")
    assert bool(status.current_status(store).loc[0, "met"]) is True
    # ...but it is what a Q1 report sees
    q1 = status.current_status(store, as_of=status.quarter_end(2024, 1))
    assert bool(q1.loc[0, "met"]) is False


def test_same_timestamp_is_decided_by_insertion_order(store):
    status.record_status(store, [rec(met=False)], recorded_by="a", recorded_at="2024-05-05")
    status.record_status(store, [rec(met=True)], recorded_by="a", recorded_at="2024-05-05")
    assert bool(status.current_status(store).loc[0, "met"]) is True


def test_as_of_reconstructs_each_quarter_end(store):
    key = dict(unit="02839", criterion=5)
    status.record_status(store, [rec(met=False, **key)], recorded_by="x", recorded_at="2024-02-10")
    status.record_status(store, [rec(met=True, **key)], recorded_by="x",
                         recorded_at="2024-03-31T23:59:59.500Z")
    status.record_status(store, [rec(met=False, **key)], recorded_by="x",
                         recorded_at="2024-04-01T00:00:00.000Z")
    status.record_status(store, [rec(met=None, **key)], recorded_by="x", recorded_at="2024-08-01")

    def met_on(as_of):
        df = status.current_status(store, year=2024, set_id=SET, as_of=as_of)
        return None if df.empty or pd.isna(df.loc[0, "met"]) else bool(df.loc[0, "met"])

    assert met_on(dt.date(2024, 1, 31)) is None  # nothing recorded yet: no row
    assert status.current_status(store, as_of="2024-01-31").empty
    assert met_on(status.quarter_end(2024, 1)) is True  # 23:59:59.5 on 31 March counts
    assert met_on(status.quarter_end(2024, 2)) is False
    assert met_on("2024-04-01T00:00:00Z") is False
    retracted = status.current_status(store, as_of=status.quarter_end(2024, 3))
    assert len(retracted) == 1 and pd.isna(retracted.loc[0, "met"])  # retraction is a record
    assert met_on(None) is None


def test_quarter_end_and_cutoff():
    assert [status.quarter_end(2024, q) for q in (1, 2, 3, 4)] == [
        dt.date(2024, 3, 31), dt.date(2024, 6, 30), dt.date(2024, 9, 30), dt.date(2024, 12, 31)]
    assert status.as_of_cutoff("2024-06-30") == "2024-06-30T23:59:59.999Z"
    aware = dt.datetime(2024, 7, 1, 7, 0, tzinfo=dt.timezone(dt.timedelta(hours=7)))
    assert status.as_of_cutoff(aware) == "2024-07-01T00:00:00.000Z"
    with pytest.raises(ValueError, match="quarter: expected 1, 2, 3 or 4, got 5"):
        status.quarter_end(2024, 5)
    with pytest.raises(ValueError, match="as_of: expected a date"):
        status.as_of_cutoff("end of June")


def test_filters_and_indicator_rows(store):
    status.record_status(store, [
        rec(criterion=2, met=False),
        rec(criterion=2, indicator="2.1", met=True, value=72.5),
        rec(unit="02839", criterion=2, met=True),
        rec(unit="02839", criterion=2, met=True, year=2023),
        rec(unit="02839", criterion=2, met=False, set_id=NANG_CAO),
    ], recorded_by="x")
    assert len(status.current_status(store)) == 4
    assert len(status.current_status(store, include_indicators=True)) == 5
    only = status.current_status(store, year=2024, set_id=SET, unit_codes=["02839"])
    assert only[["unit_code", "year", "set_id"]].values.tolist() == [["02839", 2024, SET]]
    both = status.current_status(store, year=2024, set_id=SET, include_indicators=True,
                                 unit_codes=["02836"])
    assert both["indicator"].tolist()[0] is None or pd.isna(both["indicator"].tolist()[0])
    assert both["indicator"].tolist()[1] == "2.1"
    assert both["value"].tolist()[1] == 72.5


def test_status_records_are_append_only(store):
    status.record_status(store, [rec()], recorded_by="x")
    before = sha256(store.path)
    for sql in ("UPDATE status_records SET met = 0", "DELETE FROM status_records"):
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            with store.transaction() as conn:
                conn.execute(sql)
    assert sha256(store.path) == before
    assert store.count("status_records") == 1


# --- validation ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "bad, message",
    [
        (rec(unit="99999"), r"row 2: unit_code: no commune or village has code '99999'"),
        (rec(set_id="qd999"), r"row 2: set_id: unknown criteria set 'qd999'"),
        (rec(criterion=20), r"row 2: criterion: set 'qd318-2022-xa-ntm' has no criterion 20; expected 1 to 19"),
        (rec(criterion=2, indicator="3.1"), r"indicator: '3.1' does not belong to criterion 2"),
        (rec(year=2009), r"row 2: year: expected a year from 2010 to 2035, got 2009"),
        (rec(year="next"), r"year: expected a year from 2010 to 2035, got 'next'"),
        (rec(met="yes"), r"row 2: met: expected True, False or None \(no data\), got 'yes'"),
        (rec(met=1), r"met: expected True, False or None \(no data\), got 1"),
        (rec(value="85%"), r"value: expected a number, got '85%'"),
        (rec(unit="02830", year=2024), r"unit_code: '02830' did not exist in 2024 \(valid … – 2020-01-10\)"),
        (rec(unit="0283601"), r"unit_code: '0283601' is a village, but set 'qd318-2022-xa-ntm' assesses communes"),
        (rec(unit="02836", criterion=1, note="again"), r"row 2: duplicate record: unit 02836, year 2024, .*criterion 1 is already given in row 1"),
    ],
)
def test_invalid_records_are_refused_and_nothing_is_written(store, bad, message):
    before = sha256(store.path)
    with pytest.raises(ImportValidationError, match=message) as exc:
        status.record_status(store, [rec(), bad], recorded_by="x")
    assert "nothing was written" in str(exc.value)
    assert sha256(store.path) == before
    assert store.count("status_records") == 0


def test_every_problem_is_reported_at_once(store):
    with pytest.raises(ImportValidationError) as exc:
        status.record_status(store, [rec(unit="99999"), rec(criterion=0), rec(year=1990)], recorded_by="x")
    assert [p.row for p in exc.value.report.errors] == [1, 2, 3]


def test_merged_commune_accepts_its_own_years(store):
    assert status.record_status(store, [rec(unit="02830", year=2019)], recorded_by="x") == 1
    # valid until 10 Jan 2020: still a unit during 2020
    assert status.record_status(store, [rec(unit="02830", year=2020)], recorded_by="x") == 1


def test_declared_indicators_are_enforced(store):
    with store.transaction() as conn:
        store.insert_rows(conn, "criterion_indicators", [
            {"scope_code": "10", "set_id": SET, "criterion": 2, "indicator": "2.1", "name_vi": "Đường xã"},
            {"scope_code": "10", "set_id": SET, "criterion": 2, "indicator": "2.2", "name_vi": "Đường thôn"},
        ])
    assert status.record_status(store, [rec(criterion=2, indicator="2.2", met=True)], recorded_by="x") == 1
    before = sha256(store.path)
    with pytest.raises(ImportValidationError, match=r"indicator: '2.9' is not declared for set .*; declared: 2.1, 2.2"):
        status.record_status(store, [rec(criterion=2, indicator="2.9", met=True)], recorded_by="x")
    assert sha256(store.path) == before


def test_record_status_arguments(store):
    with pytest.raises(ValueError, match="recorded_by: expected the name"):
        status.record_status(store, [rec()], recorded_by=" ")
    with pytest.raises(ImportValidationError, match=r"unknown column\(s\) \['meet'\]"):
        status.record_status(store, [{**rec(), "meet": True}], recorded_by="x")
    with pytest.raises(ImportValidationError, match=r"missing column\(s\) \['met'\]"):
        status.record_status(store, [{k: v for k, v in rec().items() if k != "met"}], recorded_by="x")
    with pytest.raises(ValueError, match="recorded_at: expected a date"):
        status.record_status(store, [rec()], recorded_by="x", recorded_at="yesterday")
    assert store.count("status_records") == 0


def test_record_status_inside_a_caller_transaction_rolls_back_with_it(store):
    with pytest.raises(RuntimeError, match="boom"):
        with store.transaction() as conn:
            status.record_status(store, [rec()], recorded_by="x", conn=conn)
            raise RuntimeError("boom")
    assert store.count("status_records") == 0


# --- summaries ---------------------------------------------------------------------------------


def _fill(store, unit, met=(), unmet=(), year=2024, recorded_at=None):
    rows = [rec(unit=unit, criterion=n, met=True, year=year) for n in met]
    rows += [rec(unit=unit, criterion=n, met=False, year=year) for n in unmet]
    status.record_status(store, rows, recorded_by="x", recorded_at=recorded_at)


def test_criteria_summary_counts_and_lists(store):
    _fill(store, "02836", met=range(1, 20))
    _fill(store, "02839", met=range(1, 18), unmet=(18, 19))
    _fill(store, "02842", met=range(1, 11), unmet=(11, 12, 13))
    _fill(store, "02890", met=(1, 2))
    summary = status.criteria_summary(store, 2024, SET, scope_code="084").set_index("unit_code")
    # 4 communes of Si Ma Cai valid at the end of 2024 (Quan Thần Sán was merged in 2020)
    assert sorted(summary.index) == ["02831", "02836", "02839", "02842"]
    assert summary.loc["02836", ["n_met", "n_assessed", "n_total"]].tolist() == [19, 19, 19]
    assert summary.loc["02839", "unmet"] == [18, 19]
    assert summary.loc["02842", "met"] == list(range(1, 11))
    assert summary.loc["02842", "unmet"] == [11, 12, 13]
    assert summary.loc["02842", "no_data"] == list(range(14, 20))
    assert summary.loc["02831", ["n_met", "n_assessed"]].tolist() == [0, 0]
    assert summary.loc["02831", "no_data"] == list(range(1, 20))
    # the plans' arithmetic: criteria held in the district and the average per commune
    assert summary["n_met"].sum() == 19 + 17 + 10
    assert round(summary["n_met"].mean(), 2) == 11.5
    assert len(status.criteria_summary(store, 2024, SET, scope_code="10")) == 5
    assert len(status.criteria_summary(store, 2024, SET)) == 5
    assert status.criteria_summary(store, 2024, SET, scope_code="02890")["n_met"].tolist() == [2]


def test_criteria_summary_as_of(store):
    _fill(store, "02836", met=(1, 2), recorded_at="2024-03-15")
    _fill(store, "02836", met=(3,), unmet=(2,), recorded_at="2024-09-15")
    q1 = status.criteria_summary(store, 2024, SET, as_of=status.quarter_end(2024, 1), scope_code="02836")
    q4 = status.criteria_summary(store, 2024, SET, scope_code="02836")
    assert (q1.loc[0, "met"], q1.loc[0, "unmet"]) == ([1, 2], [])
    assert (q4.loc[0, "met"], q4.loc[0, "unmet"]) == ([1, 3], [2])


def test_status_changes_gained_lost_unassessed(store):
    _fill(store, "02836", met=(1, 2, 3, 4), unmet=(5,), year=2023)
    _fill(store, "02836", met=(1, 5, 6), unmet=(2,), year=2024)
    _fill(store, "02839", met=(7,), year=2024)
    changes = status.status_changes(store, SET, 2024, scope_code="084").set_index("unit_code")
    row = changes.loc["02836"]
    assert row["gained"] == [5, 6]
    assert row["lost"] == [2]
    assert row["unassessed"] == [3, 4]
    assert (row["n_met_previous"], row["n_met"], row["change"]) == (4, 3, -1)
    assert changes.loc["02839", "gained"] == [7]
    assert changes.loc["02842", ["n_met", "change"]].tolist() == [0, 0]
    explicit = status.status_changes(store, SET, 2024, previous_year=2022, scope_code="02836")
    assert explicit.loc[0, "gained"] == [1, 5, 6]


# --- status by year, start and end of a year ---------------------------------------------------


def _met(df: pd.DataFrame, key: tuple, cols: list[str]) -> list:
    """Values of ``cols`` for one key (unit, [year,] criterion), NA as None."""
    row = df.set_index(list(df.columns[: len(key)])).loc[key, cols]
    return [None if pd.isna(v) else bool(v) for v in row]


def test_status_by_year_latest_and_earliest(store):
    status.record_status(store, [rec(criterion=1, met=False), rec(criterion=2, met=True),
                                 rec(criterion=1, met=True, year=2023)],
                         recorded_by="x", recorded_at="2024-02-01")
    status.record_status(store, [rec(criterion=1, met=True), rec(criterion=2, met=None),
                                 rec(criterion=1, indicator="1.1", met=False),
                                 rec(criterion=1, met=False, set_id=NANG_CAO)],
                         recorded_by="x", recorded_at="2024-06-01")
    # same timestamp: the later insert is the latest, the earlier one the earliest
    status.record_status(store, [rec(unit="02839", criterion=3, met=False)], recorded_by="x",
                         recorded_at="2024-05-05")
    status.record_status(store, [rec(unit="02839", criterion=3, met=True)], recorded_by="x",
                         recorded_at="2024-05-05")

    latest = status.status_by_year(store, SET, [2024, 2023])
    assert list(latest.columns) == ["unit_code", "year", "criterion", "met"]
    assert latest["met"].dtype == "boolean" and latest["year"].dtype == "int64"
    assert len(latest) == 4  # no indicator row, nothing of the other set
    assert _met(latest, ("02836", 2024, 1), ["met"]) == [True]
    assert _met(latest, ("02836", 2024, 2), ["met"]) == [None]  # retracted
    assert _met(latest, ("02836", 2023, 1), ["met"]) == [True]
    assert _met(latest, ("02839", 2024, 3), ["met"]) == [True]

    earliest = status.status_by_year(store, SET, [2024], pick="earliest")
    assert len(earliest) == 3 and set(earliest["year"]) == {2024}
    assert _met(earliest, ("02836", 2024, 1), ["met"]) == [False]
    assert _met(earliest, ("02836", 2024, 2), ["met"]) == [True]
    assert _met(earliest, ("02839", 2024, 3), ["met"]) == [False]

    # as of a date: the end of that day, like current_status
    q1 = status.status_by_year(store, SET, [2024], as_of=status.quarter_end(2024, 1))
    assert _met(q1, ("02836", 2024, 1), ["met"]) == [False]
    assert _met(q1, ("02836", 2024, 2), ["met"]) == [True]
    assert len(q1) == 2
    on_day = status.status_by_year(store, SET, [2024], as_of="2024-06-01")
    assert _met(on_day, ("02836", 2024, 1), ["met"]) == [True]
    assert status.status_by_year(store, SET, [2024], as_of="2024-01-31").empty
    assert status.status_by_year(store, SET, [2022]).empty
    with pytest.raises(ValueError, match="pick: expected 'latest' or 'earliest', got 'first'"):
        status.status_by_year(store, SET, [2024], pick="first")


def test_start_end_status_with_and_without_a_previous_year(store):
    # 02836 TC1: met in 2023, first assessed not met in 2024, met at the end of 2024
    status.record_status(store, [rec(criterion=1, met=True, year=2023),
                                 rec(unit="02842", criterion=2, met=True, year=2023)],
                         recorded_by="x", recorded_at="2023-12-01")
    status.record_status(store, [rec(criterion=1, met=False), rec(unit="02839", criterion=1, met=False)],
                         recorded_by="x", recorded_at="2024-02-01")
    status.record_status(store, [rec(criterion=1, met=True), rec(unit="02839", criterion=1, met=True)],
                         recorded_by="x", recorded_at="2024-09-01")
    cols = ["met_start", "met_end"]

    se = status.start_end_status(store, SET, 2024)
    assert list(se.columns) == ["unit_code", "criterion", *cols]
    assert (se["met_start"].dtype, se["met_end"].dtype) == ("boolean", "boolean")
    assert len(se) == 3
    assert _met(se, ("02836", 1), cols) == [True, True]  # start from the previous year
    assert _met(se, ("02839", 1), cols) == [False, True]  # no 2023: the first record of 2024
    assert _met(se, ("02842", 2), cols) == [True, None]  # not assessed in 2024 yet

    q1 = status.start_end_status(store, SET, 2024, as_of="2024-03-31")
    assert _met(q1, ("02839", 1), cols) == [False, False]
    assert _met(q1, ("02836", 1), cols) == [True, False]

    # a start year without records: every start is the first record of the year
    from_2022 = status.start_end_status(store, SET, 2024, start_year=2022)
    assert len(from_2022) == 2
    assert _met(from_2022, ("02836", 1), cols) == [False, True]
    assert _met(from_2022, ("02839", 1), cols) == [False, True]


def test_set_for_status_year_falls_back_to_the_recorded_set(demo_store_path):
    """2021 precedes QĐ 318's entry into force; the demo's 2021 records name QĐ 318, so
    maps and reports of 2021 use it instead of failing."""
    from layers import criteria
    from layers._errors import CriteriaError
    from layers.store import Store

    store = Store(demo_store_path)
    assert status.set_for_status_year(store, 2024).id == criteria.set_for_year(2024).id == "qd318-2022-xa-ntm"
    assert status.set_for_status_year(store, 2026).id == "qd51-2025-xa-ntm"
    with pytest.raises(CriteriaError):
        criteria.set_for_year(2021)
    assert status.set_for_status_year(store, 2021).id == "qd318-2022-xa-ntm"
    with pytest.raises(CriteriaError, match="2019"):
        status.set_for_status_year(store, 2019)  # neither a set in force nor records
