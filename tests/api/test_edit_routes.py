"""The editing endpoints: status (commune-year and one criterion), recognitions, targets, history."""

import pytest

from _edit_fixtures import COMMUNE, build_base, make_env

SET = "qd318-2022-xa-ntm"
YEAR_URL = f"/communes/{COMMUNE}/status/2024"
CELL_URL = f"/communes/{COMMUNE}/status/2024/2"


@pytest.fixture(scope="module")
def base(demo_store_path, tmp_path_factory):
    return build_base(demo_store_path, tmp_path_factory.mktemp("routes"))


@pytest.fixture
def env(base, tmp_path):
    env = make_env(base, tmp_path)
    env.warm("editor_in")  # so that store hashes compare data only
    return env


def write(env, method, url, body, *, etag=None, role="editor_in", **headers):
    h = env.auth(role) | headers
    if etag is not None:
        h["If-Match"] = etag
    return env.client.request(method, url, json=body, headers=h)


# --- reading ----------------------------------------------------------------------------


def test_commune_year_lists_every_criterion_with_an_etag(env):
    r = env.client.get(YEAR_URL)
    body = r.json()
    assert r.status_code == 200 and r.headers["content-type"] == "application/json"
    assert body["set_id"] == SET and body["n_total"] == 19 and len(body["criteria"]) == 19
    assert [c["criterion"] for c in body["criteria"]] == list(range(1, 20))
    assert body["criteria"][1]["name_vi"] == "Giao thông" and body["name"]
    assert body["n_met"] == sum(c["met"] is True for c in body["criteria"])
    assert r.headers["etag"] == env.client.get(YEAR_URL).headers["etag"]  # stable
    assert env.client.get(YEAR_URL, headers={"If-None-Match": r.headers["etag"]}).status_code == 304
    assert env.client.get(YEAR_URL, headers={"If-None-Match": '"other"'}).status_code == 200


def test_set_in_force_is_the_default_and_set_can_be_chosen(env):
    assert env.client.get(f"/communes/{COMMUNE}/status/2026").json()["set_id"] == "qd51-2025-xa-ntm"
    r = env.client.get(f"/communes/{COMMUNE}/status/2024?set=qd318-2022-xa-ntm-nang-cao")
    assert r.status_code == 200 and r.json()["set_id"] == "qd318-2022-xa-ntm-nang-cao"


@pytest.mark.parametrize("url, status, parameter, text", [
    ("/communes/NOPE/status/2024", 404, None, "no commune has code 'NOPE'"),
    (f"/communes/{COMMUNE}/status/2024?set=xyz", 400, "set", "unknown criteria set 'xyz'"),
    (f"/communes/{COMMUNE}/status/2050", 400, "year", "expected a year from 2010 to 2035"),
    (f"/communes/{COMMUNE}/status/abcd", 400, "year", "valid integer"),
    (f"/communes/{COMMUNE}/status/2024/20", 404, None, "has no criterion 20"),
    (f"/communes/{COMMUNE}/status/2026/11", 404, None, "set 'qd51-2025-xa-ntm' has no criterion 11"),
    ("/communes/NOPE/history", 404, None, "no commune has code 'NOPE'"),
    ("/units/NOPE/recognitions", 404, None, "has code 'NOPE'"),
    ("/units/NOPE/targets", 404, None, "has code 'NOPE'"),
])
def test_read_errors_name_what_is_wrong(env, url, status, parameter, text):
    r = env.client.get(url)
    body = r.json()
    assert r.status_code == status and text in body["description"], body
    assert body.get("parameter") == parameter


# --- writing status -----------------------------------------------------------------------


def test_write_without_if_match_is_428_and_writes_nothing(env, file_hash):
    env.client.get(CELL_URL, headers=env.auth("editor_in"))
    before = file_hash(env.store.path)
    r = write(env, "PUT", CELL_URL, {"met": False})
    assert r.status_code == 428 and r.json()["code"] == "PreconditionRequired" and r.json()["parameter"] == "If-Match"
    assert file_hash(env.store.path) == before


def test_cell_put_records_and_returns_the_new_etag(env):
    etag = env.client.get(CELL_URL).headers["etag"]
    r = write(env, "PUT", CELL_URL, {"met": False, "value": 61.5, "note": "đường xuống cấp",
                                     "source_document": "BC 12/BC-UBND"}, etag=etag, **{"X-Request-ID": "req-42"})
    body = r.json()
    assert r.status_code == 200 and body["written"] == 1 and body["met"] is False and body["value"] == 61.5
    assert body["recorded_by"] == "editor-d01" and body["source_document"] == "BC 12/BC-UBND"
    assert r.headers["x-request-id"] == "req-42"
    assert r.headers["etag"] == env.client.get(CELL_URL).headers["etag"] != etag
    entry = env.client.get(f"/communes/{COMMUNE}/history").json()["entries"][0]
    assert entry["request_id"] == "req-42" and entry["actor"] == "editor-d01"
    assert entry["before"]["rows"][0]["met"] is True and entry["after"]["rows"][0]["value"] == 61.5


def test_stale_etag_is_412_with_the_current_one_and_writes_nothing(env, file_hash):
    etag = env.client.get(CELL_URL).headers["etag"]
    first = write(env, "PUT", CELL_URL, {"met": False}, etag=etag)
    assert first.status_code == 200
    before = file_hash(env.store.path)
    r = write(env, "PUT", CELL_URL, {"met": True}, etag=etag)
    assert r.status_code == 412 and r.json()["code"] == "PreconditionFailed"
    assert r.headers["etag"] == r.json()["etag"] == first.headers["etag"]
    assert file_hash(env.store.path) == before
    assert write(env, "PUT", CELL_URL, {"met": True}, etag=f'W/{first.headers["etag"]}').status_code == 412
    assert write(env, "PUT", CELL_URL, {"met": True}, etag=f'"x", {first.headers["etag"]}').status_code == 200


def test_cells_have_their_own_etags(env):
    year_etag = env.client.get(YEAR_URL).headers["etag"]
    other = env.client.get(f"/communes/{COMMUNE}/status/2024/5").headers["etag"]
    etag = env.client.get(CELL_URL).headers["etag"]
    assert write(env, "PUT", CELL_URL, {"met": False}, etag=etag).status_code == 200
    assert env.client.get(f"/communes/{COMMUNE}/status/2024/5").headers["etag"] == other
    assert env.client.get(YEAR_URL).headers["etag"] != year_etag


def test_put_commune_year_needs_every_criterion(env, file_hash):
    etag = env.client.get(YEAR_URL).headers["etag"]
    before = file_hash(env.store.path)
    r = write(env, "PUT", YEAR_URL, {"criteria": [{"criterion": 2, "met": True}]}, etag=etag)
    assert r.status_code == 422
    problem = r.json()["problems"][0]
    assert problem["column"] == "criteria" and "missing [1, 3, 4" in problem["message"]
    assert file_hash(env.store.path) == before
    criteria = [{"criterion": n, "met": n != 4} for n in range(1, 20)]
    r = write(env, "PUT", YEAR_URL, {"criteria": criteria, "source_document": "BC rà soát 2024"}, etag=etag)
    body = r.json()
    assert r.status_code == 200 and body["n_met"] == 18
    assert body["written"] + len(body["unchanged"]) == 19  # unchanged cells are not recorded again


def test_patch_changes_only_the_listed_criteria_and_skips_unchanged(env):
    before = env.client.get(YEAR_URL)
    old = {c["criterion"]: c for c in before.json()["criteria"]}
    body = {"criteria": [{"criterion": 3, "met": not old[3]["met"]},
                         {"criterion": 7, "met": old[7]["met"], "source_document": old[7]["source_document"]}]}
    r = write(env, "PATCH", YEAR_URL, body, etag=before.headers["etag"])
    out = r.json()
    assert r.status_code == 200 and out["written"] == 1
    assert out["unchanged"] == [{"criterion": 7, "indicator": None, "at": "criteria[1]"}]
    new = {c["criterion"]: c for c in out["criteria"]}
    assert new[3]["met"] is (not old[3]["met"]) and new[5] == old[5]


def test_every_bad_cell_is_reported_with_its_location(env, file_hash):
    etag = env.client.get(YEAR_URL).headers["etag"]
    before = file_hash(env.store.path)
    body = {"criteria": [{"criterion": 2, "met": True, "indicators": [{"indicator": "9.1", "met": True}]},
                         {"criterion": 25, "met": False},
                         {"criterion": 2, "met": False}]}
    r = write(env, "PATCH", YEAR_URL, body, etag=etag)
    problems = {p["column"]: p["message"] for p in r.json()["problems"]}
    assert r.status_code == 422
    assert "does not belong to criterion 2" in problems["criteria[0].indicators[0]"]
    assert "has no criterion 25" in problems["criteria[1]"]
    assert "criterion 2 is given twice (first at criteria[0])" in problems["criteria[2]"]
    assert file_hash(env.store.path) == before


@pytest.mark.parametrize("body, loc", [
    ({"criteria": [{"criterion": 2, "met": "yes"}]}, ["body", "criteria", "0", "met"]),
    ({"criteria": [{"criterion": 2}]}, ["body", "criteria", "0", "met"]),
    ({"criteria": [{"criterion": 2, "met": True, "colour": "red"}]}, ["body", "criteria", "0", "colour"]),
    ({"criteria": []}, ["body", "criteria"]),
])
def test_malformed_bodies_are_422_naming_the_field(env, body, loc):
    r = write(env, "PATCH", YEAR_URL, body, etag="*")
    assert r.status_code == 422 and r.json()["errors"][0]["loc"] == loc


def test_indicators_are_recorded_with_their_criterion(env):
    url = f"/communes/{COMMUNE}/status/2024/2"
    etag = env.client.get(url).headers["etag"]
    r = write(env, "PUT", url, {"met": True, "indicators": [{"indicator": "2.1", "met": True, "value": 100.0}]},
              etag=etag)
    assert r.status_code == 200, r.text
    assert r.json()["indicators"][0]["indicator"] == "2.1"
    assert env.client.get(url).json()["indicators"][0]["value"] == 100.0


def test_a_commune_that_did_not_exist_that_year_is_refused(env):
    merged = env.store.read_table("communes", "valid_from IS NOT NULL", columns=["code"])["code"][0]
    url = f"/communes/{merged}/status/2023/2"
    r = write(env, "PUT", url, {"met": True}, etag=env.client.get(url).headers["etag"])
    assert r.status_code == 422 and "did not exist in 2023" in r.json()["problems"][0]["message"]


# --- history ------------------------------------------------------------------------------


def test_history_pages_newest_first(env):
    for value in (1.0, 2.0, 3.0):
        etag = env.client.get(CELL_URL).headers["etag"]
        assert write(env, "PUT", CELL_URL, {"met": True, "value": value}, etag=etag).status_code == 200
    page = env.client.get(f"/communes/{COMMUNE}/history?limit=2").json()
    assert page["numberMatched"] == 3 and page["numberReturned"] == 2
    assert [e["after"]["rows"][0]["value"] for e in page["entries"]] == [3.0, 2.0]
    assert page["entries"][0]["before"]["rows"][0]["value"] == 2.0
    nxt = next(link["href"] for link in page["links"] if link["rel"] == "next")
    rest = env.client.get(nxt).json()
    assert [e["after"]["rows"][0]["value"] for e in rest["entries"]] == [1.0]
    assert not any(link["rel"] == "next" for link in rest["links"])
    other = env.client.get("/communes/D01-01-008/history").json()
    assert other["numberMatched"] == 0


def test_history_includes_the_communes_villages(env):
    village = env.store.read_table("villages", "parent_code = ?", [COMMUNE], columns=["code"])["code"][0]
    url = f"/units/{village}/recognitions"
    r = write(env, "POST", url, {"level": "dat_chuan", "year": 2025, "decision_number": "QĐ 9/QĐ-UBND",
                                 "decision_date": "2025-11-20"}, etag=env.client.get(url).headers["etag"])
    assert r.status_code == 201, r.text
    entries = env.client.get(f"/communes/{COMMUNE}/history").json()["entries"]
    assert entries[0]["unit_code"] == village and entries[0]["source_document"] == "QĐ 9/QĐ-UBND"
    assert env.client.get(f"/communes/{COMMUNE}/history?villages=false").json()["numberMatched"] == 0


# --- recognitions -------------------------------------------------------------------------


def test_record_and_revoke_a_recognition(env):
    url = "/units/D01-01-010/recognitions"
    first = env.client.get(url)
    n = len(first.json()["recognitions"])
    decision = {"level": "Nâng cao", "year": 2025, "decision_number": "QĐ 77/QĐ-UBND",
                "decision_date": "15/12/2025", "issued_by": "UBND tỉnh"}
    r = write(env, "POST", url, decision, etag=first.headers["etag"])
    assert r.status_code == 201 and r.headers["location"] == url
    rec = next(x for x in r.json()["recognitions"] if x["id"] == r.json()["id"])
    assert rec["level"] == "nang_cao" and rec["decision_date"] == "2025-12-15" and len(r.json()["recognitions"]) == n + 1
    again = write(env, "POST", url, decision, etag=r.headers["etag"])
    assert again.status_code == 422 and "already recognised" in again.json()["problems"][0]["message"]
    stale = write(env, "POST", f"{url}/nang_cao/2025/revoke", {"note": "sai"}, etag=first.headers["etag"])
    assert stale.status_code == 412
    r2 = write(env, "POST", f"{url}/nang_cao/2025/revoke", {"note": "nhầm năm", "source_document": "QĐ 80"},
               etag=r.headers["etag"])
    assert r2.status_code == 200
    rec = next(x for x in r2.json()["recognitions"] if x["id"] == r.json()["id"])
    assert rec["revoked"] is True and rec["note"] == "nhầm năm"
    entry = env.client.get("/communes/D01-01-010/history").json()["entries"][0]
    assert entry["action"] == "recognition.revoke" and entry["source_document"] == "QĐ 80"
    assert entry["before"]["rows"][0]["revoked"] is False and entry["after"]["rows"][0]["revoked"] is True
    gone = write(env, "POST", f"{url}/nang_cao/2025/revoke", {}, etag=r2.headers["etag"])
    assert gone.status_code == 404 and "no standing recognition" in gone.json()["description"]
    assert write(env, "POST", f"{url}/gold/2025/revoke", {}, etag="*").status_code == 404


def test_bad_recognition_is_422_with_every_problem(env):
    url = "/units/D01-01-010/recognitions"
    r = write(env, "POST", url, {"level": "vàng", "year": 2025, "decision_date": "31/02/2025"},
              etag=env.client.get(url).headers["etag"])
    messages = [p["message"] for p in r.json()["problems"]]
    assert r.status_code == 422
    assert any("unknown recognition level 'vàng'" in m for m in messages)
    assert any("date '31/02/2025' is not a date" in m for m in messages)


# --- targets ------------------------------------------------------------------------------


def test_set_targets_replaces_the_same_key(env):
    url = "/units/D01/targets"
    first = env.client.get(url)
    n = len(first.json()["targets"])
    body = {"source_document": "NQ 05/NQ-HĐND", "targets": [
        {"metric": "communes_dat_chuan", "target_year": 2030, "value": 90},
        {"metric": "avg_criteria_per_commune", "target_year": 2030, "value": 9.5, "set_id": "qd51-2025-xa-ntm"}]}
    r = write(env, "POST", url, body, etag=first.headers["etag"])
    assert r.status_code == 200 and r.json()["written"] == 2 and r.json()["replaced"] == 0
    body["targets"] = [{"metric": "communes_dat_chuan", "target_year": 2030, "value": 95}]
    r2 = write(env, "POST", url, body, etag=r.headers["etag"])
    assert r2.json()["replaced"] == 1 and len(r2.json()["targets"]) == n + 2
    assert [t["value"] for t in r2.json()["targets"]
            if t["metric"] == "communes_dat_chuan" and t["target_year"] == 2030] == [95.0]
    entry = env.client.get("/communes/D01-01-007/history").json()  # targets of D01 are not a commune's
    assert entry["numberMatched"] == 0


@pytest.mark.parametrize("item, where, text", [
    ({"metric": "communes_gold", "target_year": 2030, "value": 1}, "targets[0].metric", "unknown metric"),
    ({"metric": "share_villages_dat_chuan_edk", "target_year": 2030, "value": 60}, "targets[0].value",
     "is a share"),
    ({"metric": "communes_dat_chuan", "target_year": 2030, "baseline_year": 2031, "value": 1},
     "targets[0].baseline_year", "should be before the target year"),
])
def test_bad_targets_are_located(env, item, where, text):
    url = "/units/D01/targets"
    r = write(env, "POST", url, {"targets": [item]}, etag=env.client.get(url).headers["etag"])
    problem = r.json()["problems"][0]
    assert r.status_code == 422 and problem["message"].startswith(where) and text in problem["message"]


def test_target_scope_comes_from_the_path(env):
    r = write(env, "POST", "/units/D01/targets",
              {"targets": [{"metric": "communes_dat_chuan", "target_year": 2030, "value": 1, "scope": "52"}]},
              etag="*")
    assert r.status_code == 422 and r.json()["errors"][0]["loc"][-1] == "scope"


def test_openapi_documents_the_editing_routes(env):
    paths = env.client.get("/openapi.json").json()["paths"]
    for path in ("/communes/{code}/status/{year}", "/communes/{code}/status/{year}/{criterion}",
                 "/communes/{code}/history", "/units/{code}/recognitions", "/units/{code}/targets",
                 "/uploads/status", "/uploads/infrastructure/{layer}"):
        assert path in paths, path
    assert set(paths["/communes/{code}/status/{year}"]) == {"get", "put", "patch"}
