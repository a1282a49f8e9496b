"""API keys: shown once, stored hashed, roles and province scopes, revocation."""

import hashlib
import re

import pytest

from layers import keys
from layers._errors import ImportValidationError


def test_token_is_shown_once_and_only_its_hash_is_stored(demo_store):
    key, token = keys.create_key(demo_store, "so-nnptnt", "editor", ["D01"], actor="cli:test")
    assert re.fullmatch(r"ntm_[0-9a-f]{8}_[A-Za-z0-9_-]{43}", token)
    assert token.split("_")[1] == key.key_id
    row = demo_store.read_table("api_keys", "name = ?", ["so-nnptnt"]).iloc[0]
    assert row["key_hash"] == f"sha256${key.key_id}${hashlib.sha256(token.encode()).hexdigest()}"
    secret = token.split("_", 2)[2]
    raw = demo_store.path.read_bytes()
    assert secret.encode() not in raw and token.encode() not in raw
    assert row["role"] == "editor" and row["scopes"] == "D01"
    audit = demo_store.read_table("audit_log", "action = 'key.create'")
    assert audit["actor"].tolist() == ["cli:test"] and token not in audit["after"].iloc[0]
    assert row["key_hash"] not in audit["after"].iloc[0]


def test_verify_finds_the_key_and_refuses_others(demo_store):
    key, token = keys.create_key(demo_store, "viewer-1", "viewer")
    assert keys.verify_key(demo_store, token).name == "viewer-1"
    forged = token[:-1] + ("A" if token[-1] != "A" else "B")
    for bad in (forged, "", None, "ntm_1234", token + "x", token.replace(key.key_id, "00000000")):
        assert keys.verify_key(demo_store, bad) is None


def test_last_use_is_stamped_at_most_once_a_minute(demo_store):
    _, token = keys.create_key(demo_store, "k", "viewer")
    revision = demo_store.revision
    first = keys.verify_key(demo_store, token)
    assert first.last_used_at is None
    stamped = keys.list_keys(demo_store)[0].last_used_at
    assert stamped is not None
    keys.verify_key(demo_store, token)
    assert keys.list_keys(demo_store)[0].last_used_at == stamped
    assert demo_store.revision == revision  # keys are not data: caches stay valid


def test_revoked_keys_stop_working(demo_store):
    key, token = keys.create_key(demo_store, "temp", "admin")
    revoked = keys.revoke_key(demo_store, key.key_id, actor="cli:boss")
    assert revoked.revoked_at is not None and not revoked.active
    assert keys.verify_key(demo_store, token) is None
    with pytest.raises(ValueError, match="revoked already"):
        keys.revoke_key(demo_store, "temp")
    with pytest.raises(LookupError, match="no API key has name or id 'nobody'"):
        keys.revoke_key(demo_store, "nobody")
    assert [k.name for k in keys.list_keys(demo_store, include_revoked=False)] == []
    entry = demo_store.read_table("audit_log", "action = 'key.revoke'").iloc[0]
    assert entry["actor"] == "cli:boss" and '"revoked_at":null' in entry["before"]


@pytest.mark.parametrize("name, role, scopes, messages", [
    ("bad name!", "viewer", [], ["expected 1-64 letters"]),
    ("x", "superuser", [], ["expected one of viewer, editor, admin, got 'superuser'"]),
    ("x", "editor", [], ["an editor key needs at least one province code"]),
    ("x", "viewer", ["D01"], ["a viewer key takes no provinces"]),
    ("x", "editor", ["D01", "D99", "01"], ["no province has code '01'", "no province has code 'D99'"]),
    ("x", "admin", ["D01"], ["an admin key takes no provinces"]),
])
def test_bad_keys_are_refused_with_every_problem(demo_store, name, role, scopes, messages):
    with pytest.raises(ImportValidationError) as err:
        keys.create_key(demo_store, name, role, scopes)
    got = [p.message for p in err.value.report.errors]
    assert len(got) == len(messages)
    for text, message in zip(messages, got):
        assert text in message
    assert demo_store.count("api_keys") == 0


def test_names_are_unique_and_scopes_may_be_comma_separated(demo_store):
    key, _ = keys.create_key(demo_store, "e", "editor", ["D01, D01"])
    assert key.scopes == ("D01",)
    with pytest.raises(ImportValidationError, match="a key named 'e' exists already"):
        keys.create_key(demo_store, "e", "viewer")


def test_provinces_above_units_of_every_level(demo_store):
    village = demo_store.read_table("villages", columns=["code"])["code"][0]
    merged = demo_store.read_table("communes", "valid_from IS NOT NULL", columns=["code"])["code"][0]
    got = keys.unit_provinces(demo_store, ["D01", "D01-03", "D01-03-002", village, merged, "XX"])
    assert got == {"D01": {"D01"}, "D01-03": {"D01"}, "D01-03-002": {"D01"}, village: {"D01"},
                   merged: {"D01"}, "XX": frozenset()}


def test_check_scope(demo_store):
    keys.check_scope(demo_store, ["D01"], ["D01-03-002", "D01"])
    keys.check_scope(demo_store, None, ["XX", None])  # unrestricted
    with pytest.raises(keys.OutOfScope, match=r"province\(s\) D02; refused: unit 'D01-03-002' \(province D01\)"):
        keys.check_scope(demo_store, ["D02"], ["D01-03-002"])
    with pytest.raises(PermissionError, match="unit 'XX' \\(province unknown\\)"):
        keys.check_scope(demo_store, ["D01"], ["XX"])
    with pytest.raises(PermissionError, match="rows in no commune"):
        keys.check_scope(demo_store, ["D01"], [None, "D01-03-002"])


def test_a_busy_store_does_not_hold_up_key_checks(demo_store):
    _, token = keys.create_key(demo_store, "k", "viewer")
    with demo_store.transaction():  # a long import holds the write lock
        assert keys.verify_key(demo_store, token).name == "k"  # the last-use stamp is skipped, not awaited
    assert keys.list_keys(demo_store)[0].last_used_at is None
    keys.verify_key(demo_store, token)
    assert keys.list_keys(demo_store)[0].last_used_at is not None
