"""What every `vigil` command shares: the two consoles, JSON and table output,
the store named by --db, and the node passphrase."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from typing import Annotated, Any

import typer
from rich.console import Console

from vigil.store import Store

out = Console(soft_wrap=True)
err = Console(stderr=True)

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


def open_store(ctx: typer.Context) -> Store:
    """The store named by --db / VIGIL_DB (resolved by the main callback)."""
    return Store(ctx.obj)


def print_json(data: Any) -> None:
    out.print_json(json.dumps(data, ensure_ascii=False, default=str))


def print_items(items: list[Any], table: Callable[[list[Any]], Any], as_json: bool) -> None:
    """Records as JSON (their ``to_dict``) or as a table."""
    if as_json:
        print_json([item.to_dict() for item in items])
    else:
        out.print(table(items))


def passphrase(confirm: bool = False) -> str:
    """The node's passphrase: from VIGIL_PASSPHRASE, else asked for (never echoed)."""
    return os.environ.get("VIGIL_PASSPHRASE") or typer.prompt("Passphrase", hide_input=True, confirmation_prompt=confirm, err=True)
