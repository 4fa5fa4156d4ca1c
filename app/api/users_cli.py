"""The ``dataapp users`` command: add API users and list them (never their password hashes)."""

from __future__ import annotations

import argparse
import sys

from app.api.auth import ROLES, User, UserError, UserStore
from app.settings import Settings

EXIT_OK, EXIT_USAGE = 0, 2


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    users = subparsers.add_parser("users", help="manage who may use the lookup API")
    actions = users.add_subparsers(metavar="ACTION", required=True)

    add = actions.add_parser("add", help="add a user (or overwrite one with --replace)")
    add.add_argument("--username", required=True)
    add.add_argument("--password", required=True, help="at least 8 characters; only a hash is kept")
    add.add_argument("--role", required=True, choices=ROLES)
    add.add_argument("--store", help="managers and sellers: the store they belong to")
    add.add_argument("--seller", help="sellers: their seller id")
    add.add_argument(
        "--name",
        help="how screens greet the user (default: a seller's name from the reference data, "
        "else the username)",
    )
    add.add_argument("--replace", action="store_true", help="overwrite an existing user")
    add.set_defaults(handler=_add)

    listing = actions.add_parser(
        "list", help="print users with their role, store, seller and display name"
    )
    listing.set_defaults(handler=_list)


def _add(args: argparse.Namespace, settings: Settings) -> int:
    store = UserStore.from_settings(settings)
    try:
        existed = store.get(args.username) is not None
        user = store.add(
            args.username,
            args.password,
            args.role,
            store_id=args.store,
            seller_id=args.seller,
            display_name=args.name,
            replace=args.replace,
        )
    except UserError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_USAGE
    print(f"{'replaced' if existed else 'added'} user {user.username}: {_describe(user)}")
    return EXIT_OK


def _list(args: argparse.Namespace, settings: Settings) -> int:
    try:
        users = UserStore.from_settings(settings).list()
    except UserError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_USAGE
    if not users:
        print(f"no users in {settings.users_file}")
        return EXIT_OK
    rows = [("USERNAME", "ROLE", "STORE", "SELLER", "NAME")] + [
        (
            user.username,
            user.role,
            user.store_id or "-",
            user.seller_id or "-",
            user.display_name or "-",
        )
        for user in users
    ]
    # The last column (a name, which may hold blanks) is not padded, so lines carry no
    # trailing blanks.
    widths = [max(len(row[column]) for row in rows) for column in range(4)]
    for *padded, last in rows:
        cells = [cell.ljust(width) for cell, width in zip(padded, widths, strict=True)]
        print("  ".join([*cells, last]))
    return EXIT_OK


def _describe(user: User) -> str:
    if user.role == "admin":
        return "admin of the whole chain"
    if user.role == "manager":
        return f"manager of store {user.store_id}"
    return f"seller {user.seller_id} of store {user.store_id}"
