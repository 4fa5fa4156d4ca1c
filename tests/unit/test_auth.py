"""Users, password hashes, bearer tokens and scopes of the lookup API, and ``dataapp users``."""

from __future__ import annotations

import argparse
import base64
import json
import stat
from pathlib import Path
from typing import Any

import pytest

from app.api import auth
from app.api.auth import (
    ROLES,
    Principal,
    TokenError,
    User,
    UserError,
    UserStore,
    hash_password,
    issue_token,
    verify_password,
    verify_token,
)
from app.api.users_cli import register
from app.settings import load_settings

PASSWORD = "correct horse battery"
KEY = b"k" * 32
NOW = 1_800_000_000


@pytest.fixture(scope="module")
def known_hash() -> str:
    return hash_password(PASSWORD)


# --- passwords -----------------------------------------------------------------------------


def test_a_hash_verifies_its_password_and_no_other(known_hash: str) -> None:
    assert verify_password(PASSWORD, known_hash)
    assert not verify_password(PASSWORD + "!", known_hash)
    assert not verify_password("", known_hash)


def test_hash_format_keeps_no_password_and_salts_every_hash(known_hash: str) -> None:
    again = hash_password(PASSWORD)
    for encoded in (known_hash, again):
        scheme, n, r, p, salt, digest = encoded.split("$")
        assert (scheme, n, r, p) == ("scrypt", str(2**14), "8", "1")
        assert len(base64.b64decode(salt)) == 16 and len(base64.b64decode(digest)) == 32
        assert PASSWORD not in encoded
    assert known_hash.split("$")[4] != again.split("$")[4]
    assert known_hash != again


def _with_field(encoded: str, index: int, value: str) -> str:
    fields = encoded.split("$")
    fields[index] = value
    return "$".join(fields)


@pytest.mark.parametrize(
    "mangle",
    [
        pytest.param(lambda h: "", id="empty"),
        pytest.param(lambda h: PASSWORD, id="plain text"),
        pytest.param(lambda h: h.rsplit("$", 1)[0], id="five fields"),
        pytest.param(lambda h: h + "$x", id="seven fields"),
        pytest.param(lambda h: _with_field(h, 0, "bcrypt"), id="other scheme"),
        pytest.param(lambda h: _with_field(h, 1, "abc"), id="n not a number"),
        pytest.param(lambda h: _with_field(h, 1, "1000"), id="n not a power of two"),
        pytest.param(lambda h: _with_field(h, 1, str(2**30)), id="n absurdly costly"),
        pytest.param(lambda h: _with_field(h, 2, "0"), id="r zero"),
        pytest.param(lambda h: _with_field(h, 3, "64"), id="p absurdly costly"),
        pytest.param(lambda h: _with_field(h, 4, ""), id="empty salt"),
        pytest.param(lambda h: _with_field(h, 4, "not base64!"), id="salt not base64"),
        pytest.param(lambda h: _with_field(h, 5, "c2hvcnQ="), id="digest too short"),
        pytest.param(lambda h: _with_field(h, 5, "%%%"), id="digest not base64"),
    ],
)
def test_a_malformed_hash_never_verifies(known_hash: str, mangle: Any) -> None:
    assert verify_password(PASSWORD, mangle(known_hash)) is False


# --- the user store ------------------------------------------------------------------------


@pytest.fixture
def users_file(tmp_path: Path) -> Path:
    return tmp_path / "data" / "secrets" / "users.json"


@pytest.fixture(scope="module")
def filled_store(tmp_path_factory: pytest.TempPathFactory) -> UserStore:
    """One user of each role, hashed once for every test that only reads."""
    store = UserStore(tmp_path_factory.mktemp("users") / "secrets" / "users.json")
    store.add("ana.admin", PASSWORD, "admin")
    store.add("mario@loja-01", PASSWORD, "manager", store_id="loja-01")
    store.add("sofia_s-0001", PASSWORD, "seller", store_id="loja-01", seller_id="s-0001")
    return store


def test_added_users_come_back_by_name_and_in_the_list(filled_store: UserStore) -> None:
    manager = filled_store.get("mario@loja-01")
    assert manager is not None
    assert (manager.role, manager.store_id, manager.seller_id) == ("manager", "loja-01", None)
    assert verify_password(PASSWORD, manager.password_hash)
    seller = filled_store.get("sofia_s-0001")
    assert seller is not None
    assert (seller.role, seller.store_id, seller.seller_id) == ("seller", "loja-01", "s-0001")
    assert filled_store.get("nobody") is None
    assert [user.username for user in filled_store.list()] == [
        "ana.admin",
        "mario@loja-01",
        "sofia_s-0001",
    ]


def test_authenticate_accepts_the_password_only(filled_store: UserStore) -> None:
    user = filled_store.authenticate("ana.admin", PASSWORD)
    assert user is not None and user.role == "admin"
    assert filled_store.authenticate("ana.admin", "wrong password") is None


def test_an_unknown_user_still_costs_one_verify(
    filled_store: UserStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    checked: list[str] = []
    real = auth.verify_password

    def spy(password: str, encoded: str) -> bool:
        checked.append(encoded)
        return real(password, encoded)

    monkeypatch.setattr(auth, "verify_password", spy)
    assert filled_store.authenticate("nobody", PASSWORD) is None
    assert checked == [auth._DUMMY_HASH]
    assert auth._DUMMY_HASH.startswith("scrypt$16384$8$1$")


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"username": "ab"}, "invalid username"),
        ({"username": "a" * 65}, "invalid username"),
        ({"username": "ana admin"}, "invalid username"),
        ({"username": "ana/../x"}, "invalid username"),
        ({"username": "ana\n"}, "invalid username"),
        ({"username": "josé"}, "invalid username"),
        ({"password": "short12"}, "at least 8 characters"),
        ({"role": "owner"}, "unknown role"),
        ({"role": "admin", "store_id": "loja-01"}, "an admin"),
        ({"role": "admin", "seller_id": "s-0001"}, "an admin"),
        ({"role": "manager"}, "a manager needs"),
        ({"role": "manager", "store_id": ""}, "a manager needs"),
        ({"role": "manager", "store_id": "loja-01", "seller_id": "s-1"}, "not tied to a seller"),
        ({"role": "seller", "seller_id": "s-0001"}, "a seller needs"),
        ({"role": "seller", "store_id": "loja-01"}, "a seller needs"),
    ],
)
def test_invalid_users_are_refused_with_a_reason(
    users_file: Path, arguments: dict[str, str], message: str
) -> None:
    fields = {"username": "valid.user", "password": PASSWORD, "role": "admin", **arguments}
    with pytest.raises(UserError, match=message):
        UserStore(users_file).add(**fields)
    assert not users_file.exists()


def test_names_of_3_and_64_characters_are_valid(users_file: Path) -> None:
    store = UserStore(users_file)
    store.add("a.b", PASSWORD, "admin")
    store.add("A-_.@9" + "x" * 58, PASSWORD, "admin")
    assert len(store.list()) == 2


def test_a_display_name_is_kept_and_optional(users_file: Path) -> None:
    store = UserStore(users_file)
    named = store.add("sofia", PASSWORD, "seller", "loja-01", "s-0001", display_name="Sofia Araújo")
    plain = store.add("mario", PASSWORD, "manager", store_id="loja-01", display_name="  ")
    assert (named.display_name, plain.display_name) == ("Sofia Araújo", None)
    again = UserStore(users_file)  # what another process reads from the file
    assert again.get("sofia") == named and again.get("mario") == plain
    entry = json.loads(users_file.read_text())["users"]["sofia"]
    assert entry["display_name"] == "Sofia Araújo"


@pytest.mark.parametrize(
    "name", ["Ana\nSouza", "Ana\x00", "\x9bAna", "x" * 101, 12345, ["Ana"]], ids=repr
)
def test_a_bad_display_name_is_refused(users_file: Path, name: Any) -> None:
    with pytest.raises(UserError, match="display name"):
        UserStore(users_file).add("ana.admin", PASSWORD, "admin", display_name=name)
    assert not users_file.exists()


def test_a_users_file_written_before_display_names_still_loads(
    users_file: Path, known_hash: str
) -> None:
    users_file.parent.mkdir(parents=True)
    entry = {"role": "seller", "store": "loja-01", "seller": "s-0001", "password_hash": known_hash}
    users_file.write_text(json.dumps({"version": 1, "users": {"sofia": entry}}))
    user = UserStore(users_file).get("sofia")
    assert user is not None and user.display_name is None and user.seller_id == "s-0001"
    assert UserStore(users_file).authenticate("sofia", PASSWORD) == user


def test_a_duplicate_needs_replace(users_file: Path) -> None:
    store = UserStore(users_file)
    store.add("mario", PASSWORD, "manager", store_id="loja-01")
    with pytest.raises(UserError, match="exists"):
        store.add("mario", "another password", "manager", store_id="loja-02")
    replaced = store.add("mario", "another password", "manager", store_id="loja-02", replace=True)
    assert store.get("mario") == replaced and replaced.store_id == "loja-02"
    assert store.authenticate("mario", "another password") == replaced


def test_the_file_is_private_and_holds_no_password(users_file: Path) -> None:
    UserStore(users_file).add("ana.admin", PASSWORD, "admin")
    assert stat.S_IMODE(users_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(users_file.parent.stat().st_mode) == 0o700
    text = users_file.read_text()
    assert PASSWORD not in text
    entry = json.loads(text)["users"]["ana.admin"]
    assert entry["role"] == "admin" and entry["password_hash"].startswith("scrypt$")
    assert [path.name for path in users_file.parent.iterdir()] == ["users.json"]


def test_a_running_store_sees_users_another_one_added(users_file: Path) -> None:
    worker, cli = UserStore(users_file), UserStore(users_file)
    assert worker.get("ana.admin") is None and worker.list() == []
    cli.add("ana.admin", PASSWORD, "admin")
    assert worker.get("ana.admin") is not None
    cli.add("mario", PASSWORD, "manager", store_id="loja-01")
    assert [user.username for user in worker.list()] == ["ana.admin", "mario"]


@pytest.mark.parametrize(
    "content",
    [
        "not json",
        "[]",
        '{"users": {"x": {"role": "owner", "password_hash": "scrypt$"}}}',
        '{"users": {"x": {"role": "admin"}}}',
        '{"users": {"x": {"role": "admin", "password_hash": "s", "display_name": 7}}}',
    ],
)
def test_a_damaged_file_is_an_error_not_an_empty_store(users_file: Path, content: str) -> None:
    users_file.parent.mkdir(parents=True)
    users_file.write_text(content)
    with pytest.raises(UserError, match="users file"):
        UserStore(users_file).get("x")


# --- tokens --------------------------------------------------------------------------------

SELLER = User("sofia", "seller", "unused", store_id="loja-01", seller_id="s-0001")


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _signed(payload: bytes, key: bytes = KEY) -> str:
    """A token with a valid signature around any payload, to test what is inside."""
    body = _b64url(payload)
    return f"{body}.{auth._signature(key, body)}"


def test_a_token_names_its_user_until_it_expires() -> None:
    token = issue_token(SELLER, KEY, NOW, ttl_seconds=60)
    assert verify_token(token, KEY, NOW) == Principal("sofia", "seller", "loja-01", "s-0001")
    assert verify_token(token, KEY, NOW + 59) == Principal.from_user(SELLER)
    for later in (NOW + 60, NOW + 3600):
        with pytest.raises(TokenError, match="expired"):
            verify_token(token, KEY, later)


def test_the_payload_is_the_documented_json() -> None:
    token = issue_token(SELLER, KEY, NOW)
    body, _ = token.split(".")
    payload = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    assert payload == {
        "sub": "sofia",
        "role": "seller",
        "store": "loja-01",
        "seller": "s-0001",
        "iat": NOW,
        "exp": NOW + 8 * 3600,
    }
    assert "=" not in token


def test_a_tampered_payload_is_refused() -> None:
    token = issue_token(SELLER, KEY, NOW)
    body, signature = token.split(".")
    payload = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    payload["role"] = "admin"
    forged = _b64url(json.dumps(payload).encode()) + "." + signature
    with pytest.raises(TokenError, match="bad signature"):
        verify_token(forged, KEY, NOW)


def test_a_tampered_signature_or_another_key_is_refused() -> None:
    token = issue_token(SELLER, KEY, NOW)
    last = token[-2]
    flipped = token[:-2] + ("A" if last != "A" else "B") + token[-1]
    with pytest.raises(TokenError, match="bad signature"):
        verify_token(flipped, KEY, NOW)
    with pytest.raises(TokenError, match="bad signature"):
        verify_token(token, b"another key", NOW)
    with pytest.raises(TokenError, match="bad signature"):
        verify_token(issue_token(SELLER, b"another key", NOW), KEY, NOW)


@pytest.mark.parametrize(
    "token",
    [
        "",
        ".",
        "abc",
        "abc.",
        ".abc",
        "a.b.c",
        "a b.c",
        "abc.dé",
        "abc=.def",
        "x" * 5000 + ".abc",
    ],
)
def test_malformed_tokens_are_refused(token: str) -> None:
    with pytest.raises(TokenError, match="malformed"):
        verify_token(token, KEY, NOW)


@pytest.mark.parametrize(
    "payload",
    [
        b"not json",
        b"\xff\xfe",
        b"[1, 2]",
        b'{"sub": "x", "role": "owner", "store": null, "seller": null, "iat": 1, "exp": 9e99}',
        b'{"sub": "x", "role": "admin", "store": null, "seller": null, "iat": 1}',
        b'{"sub": 7, "role": "admin", "store": null, "seller": null, "iat": 1, "exp": 2}',
        b'{"sub": "x", "role": "admin", "store": 1, "seller": null, "iat": 1, "exp": 2}',
        b'{"sub": "x", "role": "admin", "store": null, "seller": null, "iat": 1, "exp": true}',
    ],
)
def test_signed_but_malformed_payloads_are_refused(payload: bytes) -> None:
    with pytest.raises(TokenError, match="malformed"):
        verify_token(_signed(payload), KEY, 0)


def test_an_empty_key_is_a_configuration_error() -> None:
    with pytest.raises(ValueError, match="empty"):
        issue_token(SELLER, b"", NOW)
    with pytest.raises(ValueError, match="empty"):
        verify_token("abc.def", b"", NOW)


# --- scopes --------------------------------------------------------------------------------

ADMIN = Principal("ana", "admin")
MANAGER = Principal("mario", "manager", store_id="loja-01")
SELLER_P = Principal("sofia", "seller", store_id="loja-01", seller_id="s-0001")
OWN_STORE, OTHER_STORE = "loja-01", "loja-02"


@pytest.mark.parametrize(
    ("principal", "question", "arguments", "allowed"),
    [
        (ADMIN, "can_read_store", (OWN_STORE,), True),
        (ADMIN, "can_read_store", (OTHER_STORE,), True),
        (MANAGER, "can_read_store", (OWN_STORE,), True),
        (MANAGER, "can_read_store", (OTHER_STORE,), False),
        (SELLER_P, "can_read_store", (OWN_STORE,), False),
        (SELLER_P, "can_read_store", (OTHER_STORE,), False),
        (ADMIN, "can_read_seller", ("s-0001", OWN_STORE), True),
        (ADMIN, "can_read_seller", ("s-0099", OTHER_STORE), True),
        (MANAGER, "can_read_seller", ("s-0001", OWN_STORE), True),
        (MANAGER, "can_read_seller", ("s-0002", OWN_STORE), True),
        (MANAGER, "can_read_seller", ("s-0099", OTHER_STORE), False),
        (SELLER_P, "can_read_seller", ("s-0001", OWN_STORE), True),
        (SELLER_P, "can_read_seller", ("s-0002", OWN_STORE), False),
        (SELLER_P, "can_read_seller", ("s-0001", OTHER_STORE), False),
        (SELLER_P, "can_read_seller", ("s-0099", OTHER_STORE), False),
        (ADMIN, "can_ingest", (), True),
        (MANAGER, "can_ingest", (), False),
        (SELLER_P, "can_ingest", (), False),
        (ADMIN, "can_read_chain", (), True),
        (MANAGER, "can_read_chain", (), False),
        (SELLER_P, "can_read_chain", (), False),
    ],
    ids=lambda value: value.role if isinstance(value, Principal) else None,
)
def test_scope_matrix(
    principal: Principal, question: str, arguments: tuple[str, ...], allowed: bool
) -> None:
    assert getattr(principal, question)(*arguments) is allowed


def test_a_principal_is_made_from_a_user() -> None:
    assert Principal.from_user(SELLER) == SELLER_P
    assert set(ROLES) == {"admin", "manager", "seller"}


# --- dataapp users -------------------------------------------------------------------------


def _run(*argv: str) -> int:
    """Parse and dispatch the way app/cli.py does."""
    parser = argparse.ArgumentParser(prog="dataapp")
    register(parser.add_subparsers(metavar="COMMAND"))
    args = parser.parse_args(argv)
    return int(args.handler(args, load_settings()))


def test_users_add_and_list(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = _run("users", "add", "--username", "ana", "--password", PASSWORD, "--role", "admin")
    assert code == 0
    assert capsys.readouterr().out == "added user ana: admin of the whole chain\n"
    code = _run(
        "users", "add", "--username", "sofia", "--password", PASSWORD, "--role", "seller",
        "--store", "loja-01", "--seller", "s-0001", "--name", "Sofia Araújo",
    )  # fmt: skip
    assert code == 0
    assert capsys.readouterr().out == "added user sofia: seller s-0001 of store loja-01\n"
    assert (data_dir / "secrets" / "users.json").is_file()

    assert _run("users", "list") == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(maxsplit=4) for line in lines] == [
        ["USERNAME", "ROLE", "STORE", "SELLER", "NAME"],
        ["ana", "admin", "-", "-", "-"],
        ["sofia", "seller", "loja-01", "s-0001", "Sofia Araújo"],
    ]
    assert all(line == line.rstrip() for line in lines)
    assert "scrypt" not in "\n".join(lines)


def test_users_add_refuses_a_bad_name(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    admin = ("users", "add", "--username", "ana", "--password", PASSWORD, "--role", "admin")
    assert _run(*admin, "--name", "Ana\x1b[31m") == 2
    assert "invalid display name" in capsys.readouterr().err
    assert _run(*admin, "--name", "  Ana Souza ") == 0
    user = UserStore.from_settings(load_settings()).get("ana")
    assert user is not None and user.display_name == "Ana Souza"


def test_users_add_refusals_and_replace(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    manager = ("users", "add", "--username", "mario", "--password", PASSWORD, "--role", "manager")
    assert _run(*manager) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.startswith("error: a manager needs")

    assert _run(*manager, "--store", "loja-01") == 0
    assert _run(*manager, "--store", "loja-02") == 2
    assert "exists" in capsys.readouterr().err
    assert _run(*manager, "--store", "loja-02", "--replace") == 0
    assert capsys.readouterr().out.endswith("replaced user mario: manager of store loja-02\n")


def test_users_list_when_empty_and_usage_errors(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _run("users", "list") == 0
    assert capsys.readouterr().out.startswith("no users in ")
    for argv in (("users",), ("users", "add", "--username", "x"), ("users", "add", "--role", "x")):
        with pytest.raises(SystemExit) as exited:
            _run(*argv)
        assert exited.value.code == 2
