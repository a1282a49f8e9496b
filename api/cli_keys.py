"""``ntm keys create / list / revoke``: API keys for the editing API, kept hashed in the store.

``register(main)`` adds the ``keys`` group to the ``ntm`` click group; the store comes
from the main group's ``--store`` (``ctx.obj["store_path"]``) or ``NTM_STORE``.
"""

from __future__ import annotations

import getpass

import click

from api.cli_common import CONTEXT, handles_errors

__all__ = ["register", "keys"]



def _store(ctx: click.Context):
    from layers.store import Store, default_store_path

    path = (ctx.obj or {}).get("store_path") or default_store_path()
    return Store(path)


def _actor() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except Exception:  # no user name in some containers
        return "cli:unknown"


@click.group(context_settings=CONTEXT)
def keys():
    """API keys: viewer (read), editor (write in some provinces), admin (everything)."""


@keys.command("create")
@click.option("--name", required=True, help="Unique label, e.g. so-nnptnt-laocai.")
@click.option("--role", type=click.Choice(["viewer", "editor", "admin"]), required=True)
@click.option("--scope", "scopes", multiple=True, metavar="PROVINCE",
              help="Province code an editor may write in (repeat, or comma-separate).")
@click.pass_context
@handles_errors
def create(ctx, name, role, scopes):
    """Create a key and print it ONCE (only its hash is stored)."""
    from layers.keys import create_key

    key, token = create_key(_store(ctx), name, role, scopes, actor=_actor())
    click.echo(click.style("Khóa API mới / New API key", bold=True))
    click.echo(f"  name    {key.name}\n  id      {key.key_id}\n  role    {key.role}")
    if key.scopes:
        click.echo(f"  scopes  {', '.join(key.scopes)}")
    click.echo(click.style("\n  " + token + "\n", fg="green", bold=True))
    click.echo("Lưu khóa này ngay: nó sẽ không được hiển thị lại. / Store this key now: it is not "
               "shown again. Send it as 'Authorization: Bearer <key>' or 'X-API-Key: <key>'.")


@keys.command("list")
@click.option("--active", is_flag=True, help="Leave out revoked keys.")
@click.pass_context
@handles_errors
def list_(ctx, active):
    """List keys: name, id, role, provinces, created, last used, revoked (never the keys)."""
    from layers.keys import list_keys

    found = list_keys(_store(ctx), include_revoked=not active)
    if not found:
        click.echo("Chưa có khóa / No keys yet ('ntm keys create').")
        return
    header = ("name", "id", "role", "scopes", "created", "last used", "revoked")
    rows = [(k.name, k.key_id, k.role, ",".join(k.scopes) or "-", k.created_at[:19],
             (k.last_used_at or "-")[:19], (k.revoked_at or "-")[:19]) for k in found]
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        click.echo("  ".join(str(v).ljust(w) for v, w in zip(row, widths)).rstrip())


@keys.command("revoke")
@click.argument("name_or_id")
@click.pass_context
@handles_errors
def revoke(ctx, name_or_id):
    """Revoke a key by name or id; it stops working at once."""
    from layers.keys import revoke_key

    key = revoke_key(_store(ctx), name_or_id, actor=_actor())
    click.echo(f"Đã thu hồi / Revoked '{key.name}' ({key.key_id}) at {key.revoked_at}")


def register(main_group: click.Group) -> None:
    """Add ``keys`` to the ``ntm`` group."""
    main_group.add_command(keys, "keys")
