"""The audit log: appended with the change it describes, never edited, read back per unit."""

import sqlite3

import pytest

from layers import audit

COMMUNE = "D01-01-007"


def add(store, **entry):
    with store.transaction() as conn:
        return audit.record(store, conn, **({"actor": "t", "action": "x", "resource": "r"} | entry))


def test_record_and_read_back_decoded(demo_store):
    add(demo_store, unit_code=COMMUNE, before={"met": True}, after=[{"met": False, "ghi_chú": "đạt"}],
        source_document="BC 1", request_id="abc", resource=f"communes/{COMMUNE}/status/2024/s/2")
    entries, total = audit.entries(demo_store)
    assert total == 1
    e = entries[0]
    assert e["before"] == {"met": True} and e["after"] == [{"met": False, "ghi_chú": "đạt"}]
    assert (e["actor"], e["source_document"], e["request_id"], e["unit_code"]) == ("t", "BC 1", "abc", COMMUNE)
    assert e["at"].endswith("Z") and isinstance(e["id"], int)


def test_entries_roll_back_with_their_change(demo_store):
    with pytest.raises(RuntimeError):
        with demo_store.transaction() as conn:
            audit.record(demo_store, conn, actor="t", action="x", resource="r")
            raise RuntimeError("the change failed")
    assert demo_store.count("audit_log") == 0


def test_the_log_is_append_only(demo_store):
    add(demo_store)
    for sql in ("UPDATE audit_log SET actor = 'someone else'", "DELETE FROM audit_log"):
        with pytest.raises(sqlite3.IntegrityError, match="audit_log is append-only"):
            with demo_store.transaction() as conn:
                conn.execute(sql)
    assert audit.entries(demo_store)[0][0]["actor"] == "t"


def test_an_entry_needs_an_actor(demo_store):
    with demo_store.transaction() as conn, pytest.raises(ValueError, match="actor: expected who"):
        audit.record(demo_store, conn, actor=" ", action="x", resource="r")


def test_filters_and_pages(demo_store):
    for k in range(5):
        add(demo_store, actor=f"a{k % 2}", action="status.record" if k < 3 else "targets.set",
            resource=f"communes/{COMMUNE}/status/{2020 + k}")
    add(demo_store, resource=f"communes/{COMMUNE}0/status/2024")  # a different commune's path
    entries, total = audit.entries(demo_store, resource=f"communes/{COMMUNE}", limit=2)
    assert total == 5 and [e["resource"][-4:] for e in entries] == ["2024", "2023"]  # newest first
    assert [e["resource"][-4:] for e in audit.entries(demo_store, resource=f"communes/{COMMUNE}",
                                                      offset=4)[0]] == ["2020"]
    assert audit.entries(demo_store, action="targets.set")[1] == 2
    assert audit.entries(demo_store, actor="a1")[1] == 2


def test_history_of_a_commune_includes_its_villages_only(demo_store):
    village = demo_store.read_table("villages", "parent_code = ?", [COMMUNE], columns=["code"])["code"][0]
    add(demo_store, unit_code=COMMUNE)
    add(demo_store, unit_code=village)
    add(demo_store, unit_code="D01-01-008")
    entries, total = audit.history(demo_store, COMMUNE)
    assert total == 2 and {e["unit_code"] for e in entries} == {COMMUNE, village}
    assert audit.history(demo_store, COMMUNE, villages=False)[1] == 1


def test_capture_sees_inserts_updates_and_deletes_and_leaves_no_trace(demo_store, file_hash):
    before = file_hash(demo_store.path)
    with pytest.raises(RuntimeError):
        with demo_store.transaction() as conn:
            cap = audit.Capture(demo_store, conn, ["recognitions", "roads"])
            conn.execute("UPDATE recognitions SET revoked = 1 WHERE id = 1")
            conn.execute("DELETE FROM roads WHERE fid = 1")
            conn.execute("INSERT INTO recognitions (unit_code, unit_level, level, year, recorded_at) "
                         "VALUES ('X', 'commune', 'dat_chuan', 2024, 'now')")
            changes = cap.changes()
            cap.close()
            assert [(c.table, c.op) for c in changes] == [("recognitions", "update"), ("roads", "delete"),
                                                          ("recognitions", "insert")]
            assert changes[0].old["revoked"] is False and changes[0].new["revoked"] is True
            assert changes[1].new is None and "geom" not in changes[1].old and changes[1].row["fid"] == 1
            assert changes[2].old is None and changes[2].new["unit_code"] == "X"
            raise RuntimeError("roll back")
    assert file_hash(demo_store.path) == before
    with demo_store.transaction() as conn:  # nothing is captured on a connection without a Capture
        conn.execute("UPDATE recognitions SET note = 'x' WHERE id = 1")
        assert conn.execute("SELECT count(*) FROM sqlite_temp_master").fetchone()[0] == 0
