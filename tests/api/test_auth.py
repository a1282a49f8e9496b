"""Who may read and write: anonymous, viewer, editor in and out of its provinces, admin."""

import pytest

from _edit_fixtures import COMMUNE, OTHER_COMMUNE, build_base, make_env


@pytest.fixture(scope="module")
def base(demo_store_path, tmp_path_factory):
    return build_base(demo_store_path, tmp_path_factory.mktemp("auth"))


@pytest.fixture
def env(base, tmp_path):
    return make_env(base, tmp_path)


@pytest.fixture(scope="module")
def readers(base, tmp_path_factory):
    """Reads change no data: one store copy each for public and private reads, for the whole matrix."""
    return {public: make_env(base, tmp_path_factory.mktemp("reads"), public_reads=public)
            for public in (True, False)}


READ = f"/communes/{COMMUNE}/status/2024"

# role -> status of a read, with public reads and with private reads
READS = {
    None: (200, 401),
    "viewer": (200, 200),
    "editor_in": (200, 200),
    "editor_out": (200, 200),
    "admin": (200, 200),
    "invalid": (401, 401),
    "revoked": (401, 401),
}


@pytest.mark.parametrize("role", list(READS))
@pytest.mark.parametrize("public", [True, False])
def test_read_matrix(readers, role, public):
    e = readers[public]
    r = e.client.get(READ, headers=e.auth(role))
    assert r.status_code == READS[role][0 if public else 1], r.text
    if r.status_code == 401:
        assert r.headers["www-authenticate"].startswith('Bearer realm="NTM Atlas"')
        assert r.json()["code"] == "Unauthorized"
        if role is not None:
            assert 'error="invalid_token"' in r.headers["www-authenticate"]
    else:
        assert r.headers["etag"].startswith('"')


# role -> status of a write to a D01 commune, and to a commune of province 52
WRITES = {
    None: (401, 401),
    "viewer": (403, 403),
    "editor_in": (200, 403),
    "editor_out": (403, 200),
    "admin": (200, 200),
    "invalid": (401, 401),
    "revoked": (401, 401),
}


@pytest.mark.parametrize("role", list(WRITES))
@pytest.mark.parametrize("where", [0, 1])
def test_write_matrix(env, role, where, file_hash):
    code, year, set_id = ((COMMUNE, 2024, "qd318-2022-xa-ntm"), (OTHER_COMMUNE, 2026, "qd51-2025-xa-ntm"))[where]
    url = f"/communes/{code}/status/{year}/2?set={set_id}"
    etag = env.client.get(url).headers["etag"]
    env.client.get(url, headers=env.auth(role))  # first use of a key stamps last_used_at
    before = file_hash(env.store.path)
    r = env.client.put(url, json={"met": True, "value": 7.5}, headers=env.auth(role) | {"If-Match": etag})
    expected = WRITES[role][where]
    assert r.status_code == expected, r.text
    if expected == 200:
        assert r.json()["value"] == 7.5 and r.headers["etag"] != etag
    else:
        assert file_hash(env.store.path) == before  # refused writes leave the store byte-identical
    if expected == 403:
        body = r.json()
        assert body["code"] == "Forbidden"
        if role == "viewer":
            assert "viewer key" in body["description"]
        else:
            assert f"'{code}'" in body["description"] and "province" in body["description"]


def test_key_in_x_api_key_header_and_bearer_scheme_checked(env):
    url = f"/communes/{COMMUNE}/status/2024/3"
    etag = env.client.get(url).headers["etag"]
    r = env.client.put(url, json={"met": False}, headers={"X-API-Key": env.tokens["editor_in"], "If-Match": etag})
    assert r.status_code == 200
    r = env.client.put(url, json={"met": True}, headers={"Authorization": "Basic dXNlcjpwYXNz", "If-Match": etag})
    assert r.status_code == 401 and "Bearer" in r.json()["description"]


def test_editor_writing_an_unknown_commune_gets_404(env):
    r = env.client.put("/communes/NOPE/status/2024/2", json={"met": True},
                       headers=env.auth("editor_in") | {"If-Match": "*"})
    assert r.status_code == 404 and "NOPE" in r.json()["description"]


def test_province_scope_covers_villages_and_the_province_itself(env):
    village = env.store.read_table("villages", "parent_code = ?", [COMMUNE], columns=["code"])["code"][0]
    for code, role, expected in ((village, "editor_in", 200), (village, "editor_out", 403),
                                 ("D01", "editor_in", 200), ("52", "editor_in", 403), ("52", "editor_out", 200)):
        etag = env.client.get(f"/units/{code}/targets").headers["etag"]
        r = env.client.post(f"/units/{code}/targets", headers=env.auth(role) | {"If-Match": etag},
                            json={"targets": [{"metric": "villages_dat_chuan" if code in ("D01", "52") else
                                               "recognised_dat_chuan", "target_year": 2030, "value": 1}]})
        assert r.status_code == expected, (code, role, r.text)


def test_uploads_need_a_key_and_boundaries_an_admin(env):
    files = {"file": ("x.geojson", b'{"type": "FeatureCollection", "features": []}')}
    assert env.client.post("/uploads/status", files={"file": ("a.csv", b"x")}).status_code == 401
    r = env.client.post("/uploads/boundaries", files=files, data={"level": "commune"}, headers=env.auth("editor_in"))
    assert r.status_code == 403 and "admin key" in r.json()["description"]
    r = env.client.post("/uploads/status", files={"file": ("a.csv", b"x")}, headers=env.auth("viewer"))
    assert r.status_code == 403
