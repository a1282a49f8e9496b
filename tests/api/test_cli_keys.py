"""``ntm keys create / list / revoke`` on a group built here, as the lead wires it into ``ntm``."""

import re
import shutil
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from api.cli_keys import register
from layers import keys
from layers.store import Store


@click.group()
@click.option("--store", "store_path", type=click.Path(path_type=Path), required=True)
@click.pass_context
def ntm(ctx, store_path):
    ctx.ensure_object(dict)
    ctx.obj["store_path"] = store_path


register(ntm)


@pytest.fixture
def store_path(demo_store_path, tmp_path):
    path = tmp_path / "s.gpkg"
    shutil.copy(demo_store_path, path)
    return path


def run(path, *args):
    return CliRunner().invoke(ntm, ["--store", str(path), "keys", *args], catch_exceptions=False)


def test_create_prints_the_key_once_and_it_works(store_path):
    result = run(store_path, "create", "--name", "so-nnptnt", "--role", "editor", "--scope", "D01")
    assert result.exit_code == 0, result.output
    token = re.search(r"ntm_[0-9a-f]{8}_[A-Za-z0-9_-]{43}", result.output).group(0)
    assert "not shown again" in result.output
    key = keys.verify_key(Store(store_path), token)
    assert key.name == "so-nnptnt" and key.scopes == ("D01",)
    listed = run(store_path, "list").output
    assert token not in listed and "sha256" not in listed
    assert re.search(rf"so-nnptnt\s+{key.key_id}\s+editor\s+D01", listed)
    entry = Store(store_path).read_table("audit_log", "action = 'key.create'").iloc[0]
    assert entry["actor"].startswith("cli:")


def test_revoke_by_name_or_id(store_path):
    run(store_path, "create", "--name", "a", "--role", "viewer")
    run(store_path, "create", "--name", "b", "--role", "admin")
    key_id = keys.list_keys(Store(store_path))[1].key_id
    assert run(store_path, "revoke", "a").exit_code == 0
    result = run(store_path, "revoke", key_id)
    assert result.exit_code == 0 and "Revoked 'b'" in result.output
    assert run(store_path, "list", "--active").output.startswith("Chưa có khóa")
    assert len(run(store_path, "list").output.strip().splitlines()) == 3  # header + 2


@pytest.mark.parametrize("args, text", [
    (["create", "--name", "x", "--role", "editor"], "an editor key needs at least one province code"),
    (["create", "--name", "x", "--role", "editor", "--scope", "D99"], "no province has code 'D99'"),
    (["create", "--name", "x", "--role", "root"], "Invalid value for '--role'"),
    (["revoke", "nobody"], "no API key has name or id 'nobody'"),
])
def test_errors_exit_1_with_a_message(store_path, args, text):
    result = CliRunner().invoke(ntm, ["--store", str(store_path), "keys", *args])
    assert result.exit_code in (1, 2) and text in result.output
    assert Store(store_path).count("api_keys") == 0
