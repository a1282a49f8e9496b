"""Edits: one transaction each with the ETag check, the scope check and the audit entries."""

import threading

import pytest

from layers import audit, edits, status
from layers._errors import ImportValidationError
from layers.keys import OutOfScope

COMMUNE = "D01-01-007"
SET = "qd318-2022-xa-ntm"


def test_etags_follow_the_state_and_nothing_else(demo_store):
    year = edits.commune_year_state(demo_store, COMMUNE, 2024)
    assert year.resource == f"communes/{COMMUNE}/status/2024/{SET}" and len(year.rows) == 19
    assert year.etag == edits.commune_year_state(demo_store, COMMUNE, 2024).etag
    assert year.etag != edits.commune_year_state(demo_store, "D01-01-008", 2024).etag
    cell2 = edits.cell_state(demo_store, COMMUNE, 2024, 2)
    cell5 = edits.cell_state(demo_store, COMMUNE, 2024, 5)
    result = edits.record_cell(demo_store, COMMUNE, 2024, 2, {"met": False}, actor="t", if_match=cell2.etag)
    assert result.etag == edits.cell_state(demo_store, COMMUNE, 2024, 2).etag != cell2.etag
    assert edits.cell_state(demo_store, COMMUNE, 2024, 5).etag == cell5.etag
    assert edits.commune_year_state(demo_store, COMMUNE, 2024).etag != year.etag


def test_if_match_rules():
    assert edits.etag_matches("*", '"a"')
    assert edits.etag_matches('"b", "a"', '"a"')
    assert not edits.etag_matches('W/"a"', '"a"')
    assert not edits.etag_matches('"b"', '"a"')


def test_stale_etag_writes_nothing(demo_store, file_hash):
    old = edits.cell_state(demo_store, COMMUNE, 2024, 2).etag
    edits.record_cell(demo_store, COMMUNE, 2024, 2, {"met": False}, actor="a", if_match=old)
    before = file_hash(demo_store.path)
    with pytest.raises(edits.PreconditionFailed, match="has changed since you read it") as err:
        edits.record_cell(demo_store, COMMUNE, 2024, 2, {"met": True}, actor="b", if_match=old)
    assert err.value.current == edits.cell_state(demo_store, COMMUNE, 2024, 2).etag
    assert file_hash(demo_store.path) == before


def test_cell_write_is_recorded_and_audited(demo_store):
    state = edits.cell_state(demo_store, COMMUNE, 2024, 2)
    result = edits.record_cell(demo_store, COMMUNE, 2024, 2, {"met": False, "value": 55.0, "note": "n"},
                               actor="so-nnptnt", if_match=state.etag, source_document="BC 7",
                               request_id="r1")
    assert result.written == 1 and result.state[0]["met"] is False
    rec = status.current_status(demo_store, year=2024, set_id=SET, unit_codes=[COMMUNE])
    rec = rec[rec["criterion"] == 2].iloc[0]
    assert (rec["met"], rec["value"], rec["recorded_by"], rec["source_document"]) == (False, 55.0, "so-nnptnt", "BC 7")
    (entry,), _ = audit.entries(demo_store)
    assert entry["id"] == result.audit_ids[0] and entry["request_id"] == "r1"
    assert entry["before"] == {"table": "status_records", "rows": [state.rows[0] | {
        "unit_code": COMMUNE, "year": 2024, "set_id": SET}]}
    assert entry["after"]["rows"][0]["value"] == 55.0


def test_whole_commune_year_all_or_nothing_with_located_problems(demo_store, file_hash):
    before = file_hash(demo_store.path)
    cells = [{"criterion": n, "met": True} for n in range(1, 19)] + [{"criterion": 19, "met": "đạt"}]
    with pytest.raises(ImportValidationError) as err:
        edits.record_commune_year(demo_store, COMMUNE, 2024, cells, replace=True, actor="t")
    assert [(p.column, p.message[:4]) for p in err.value.report.errors] == [("criteria[18]", "met:")]
    assert file_hash(demo_store.path) == before
    cells[-1]["met"] = False
    result = edits.record_commune_year(demo_store, COMMUNE, 2024, cells, replace=True, actor="t")
    summary = status.criteria_summary(demo_store, 2024, SET, scope_code=COMMUNE)
    assert summary["n_met"].iloc[0] == 18 and summary["unmet"].iloc[0] == [19]
    assert result.written + len(result.unchanged) == 19
    assert len(audit.entries(demo_store)[0][0]["after"]["rows"]) == result.written


def test_unchanged_cells_are_not_recorded_again(demo_store):
    current = {r["criterion"]: r for r in edits.commune_year_state(demo_store, COMMUNE, 2024).rows}
    n = demo_store.count("status_records")
    cells = [{"criterion": 1, "met": current[1]["met"]}]
    result = edits.record_commune_year(demo_store, COMMUNE, 2024, cells, actor="t")
    assert result.written == 0 and result.unchanged[0]["criterion"] == 1 and result.audit_ids == []
    assert demo_store.count("status_records") == n
    other_source = edits.record_commune_year(demo_store, COMMUNE, 2024, cells, actor="t", source_document="new")
    assert other_source.written == 1  # the same value from a new report is a new assessment


def test_editor_outside_its_provinces_writes_nothing(demo_store, file_hash):
    before = file_hash(demo_store.path)
    with pytest.raises(OutOfScope, match=f"unit '{COMMUNE}' \\(province D01\\)"):
        edits.record_cell(demo_store, COMMUNE, 2024, 2, {"met": False}, actor="t", scope=["D02"])
    assert file_hash(demo_store.path) == before
    edits.record_cell(demo_store, COMMUNE, 2024, 2, {"met": False}, actor="t", scope=["D01"])


@pytest.mark.parametrize("call, exc, text", [
    (lambda s: edits.commune_year_state(s, "XX", 2024), LookupError, "no commune has code 'XX'"),
    (lambda s: edits.commune_year_state(s, COMMUNE, 2040), ValueError, "year: expected a year from 2010"),
    (lambda s: edits.commune_year_state(s, COMMUNE, 2024, "nope"), ValueError, "set: unknown criteria set"),
    (lambda s: edits.cell_state(s, COMMUNE, 2026, 12), LookupError, "no criterion 12"),
    (lambda s: edits.record_cell(s, COMMUNE, 2024, 2, {"met": True}, actor=""), ValueError, "actor"),
    (lambda s: edits.recognitions_state(s, "D01-01"), None, None),  # districts have recognitions
    (lambda s: edits.recognitions_state(s, "D01"), LookupError, "no district or commune or village"),
])
def test_argument_errors(demo_store, call, exc, text):
    if exc is None:
        call(demo_store)
        return
    with pytest.raises(exc, match=text):
        call(demo_store)


def test_recognitions_record_and_revoke_with_etags(demo_store):
    state = edits.recognitions_state(demo_store, "D01-01-010")
    added = edits.add_recognition(demo_store, "D01-01-010", "dat_chuan", 2025, actor="t", if_match=state.etag,
                                  decision_number="QĐ 1", decision_date="2025-12-01")
    assert len(added.state) == len(state.rows) + 1 and added.summary["id"] == added.state[-1]["id"]
    with pytest.raises(edits.PreconditionFailed):
        edits.revoke_recognition(demo_store, "D01-01-010", "dat_chuan", 2025, actor="t", if_match=state.etag)
    revoked = edits.revoke_recognition(demo_store, "D01-01-010", "dat_chuan", 2025, actor="t",
                                       if_match=added.etag, note="sai")
    assert revoked.state[-1]["revoked"] is True
    entries, _ = audit.entries(demo_store, resource="units/D01-01-010")
    assert [e["action"] for e in entries] == ["recognition.revoke", "recognition.record"]
    assert entries[1]["source_document"] == "QĐ 1" and entries[1]["before"] is None


def test_targets_replace_the_same_key(demo_store):
    state = edits.targets_state(demo_store, "D01")
    first = edits.set_targets(demo_store, "D01", [{"metric": "communes_dat_chuan", "target_year": 2030,
                                                   "value": 90}], actor="t", if_match=state.etag)
    second = edits.set_targets(demo_store, "D01", [{"metric": "communes_dat_chuan", "target_year": 2030,
                                                    "value": 95}], actor="t", if_match=first.etag)
    assert second.summary["replaced"] == 1 and len(second.state) == len(state.rows) + 1
    entry = audit.entries(demo_store)[0][0]
    assert entry["before"]["rows"][0]["value"] == 90.0 and entry["after"]["rows"][0]["value"] == 95.0
    with pytest.raises(ImportValidationError, match=r"'targets\[0\].scope': scope comes from the path"):
        edits.set_targets(demo_store, "D01", [{"scope": "D02", "metric": "communes_dat_chuan", "value": 1}],
                          actor="t")


def test_import_is_audited_per_unit_and_refused_outside_the_scope(demo_store, tmp_path, file_hash):
    path = tmp_path / "xa.csv"
    path.write_text(f"code,year,criterion,met\n{COMMUNE},2024,2,Không đạt\nD01-01-008,2024,2,Không đạt\n",
                    encoding="utf-8")
    before = file_hash(demo_store.path)
    with pytest.raises(OutOfScope):
        edits.run_import(demo_store, "status", path, actor="t", scope=["D02"])
    dry = edits.run_import(demo_store, "status", path, actor="t", dry_run=True)
    assert dry["dry_run"] and dry["audit_entries"] == 0
    assert file_hash(demo_store.path) == before
    summary = edits.run_import(demo_store, "status", path, actor="t", scope=["D01"], request_id="imp")
    assert summary["written"] == 2 and summary["audit_entries"] == 2 and summary["units"] == 2
    entries, _ = audit.entries(demo_store)
    assert {e["unit_code"] for e in entries} == {COMMUNE, "D01-01-008"}
    assert {e["resource"] for e in entries} == {"imports/status/xa.csv"}
    assert all(e["before"]["rows"][0]["met"] is True and e["after"]["rows"][0]["met"] is False for e in entries)
    with pytest.raises(ValueError, match="kind: expected one of"):
        edits.run_import(demo_store, "rasters", path, actor="t")


def test_concurrent_writers_with_the_same_etag_one_wins(demo_store):
    """BEGIN IMMEDIATE serialises the check-and-write: never two winners for one ETag."""
    for round_ in range(4):
        etag = edits.cell_state(demo_store, COMMUNE, 2024, 2).etag
        barrier = threading.Barrier(3)
        outcomes = []

        def writer(k):
            barrier.wait()
            try:
                edits.record_cell(demo_store, COMMUNE, 2024, 2, {"met": True, "value": float(10 * round_ + k)},
                                  actor=f"w{k}", if_match=etag)
                outcomes.append("ok")
            except edits.PreconditionFailed:
                outcomes.append("412")

        threads = [threading.Thread(target=writer, args=(k,)) for k in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(outcomes) == ["412", "412", "ok"]
    assert audit.entries(demo_store)[1] == 4
