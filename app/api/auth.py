"""Who may call the lookup API, and what each caller may see.

What is stored: one JSON file (``Settings.users_file``, mode 0600 in a 0700 folder) with, per
user, the role, the store and seller the user is tied to, an optional display name (files
written before it existed load as they are), and a scrypt hash of the password
(``scrypt$<n>$<r>$<p>$<salt b64>$<hash b64>``, random 16-byte salt). Passwords themselves are
never written anywhere.

Tokens: after a password check the API hands out a bearer token

    base64url(json payload) + "." + base64url(HMAC-SHA256(key, the base64url payload))

with the payload ``{"sub", "role", "store", "seller", "iat", "exp"}`` (unpadded base64url,
times in Unix seconds). A token signed with a key shared by the whole deployment can be checked
by any worker on its own, without a round trip to a session store or to the worker that issued
it; the price is that a token cannot be revoked before ``exp``, hence short lifetimes (8 h by
default). The key is ``Settings.token_key()``: ``DATAAPP_TOKEN_KEY`` in production (every worker
needs the same one), else a random key kept in the data dir.

Scopes: an admin sees the whole chain and may ingest; a manager sees one store and its sellers;
a seller sees only their own figures.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import fcntl
import hashlib
import hmac
import json
import os
import re
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, cast, get_args

from cryptography.exceptions import InvalidKey
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

if TYPE_CHECKING:
    from app.settings import Settings

Role = Literal["admin", "manager", "seller"]
ROLES: tuple[Role, ...] = get_args(Role)

SCRYPT_N, SCRYPT_R, SCRYPT_P, SCRYPT_LENGTH, SALT_BYTES = 2**14, 8, 1, 32, 16
# A hash read from disk decides how much work a login costs; refuse parameters far above ours
# (16 MiB, one pass) so a tampered or foreign file cannot make every login burn seconds or
# gigabytes.
_MAX_SCRYPT_MEMORY, _MAX_P = 64 * 2**20, 4
DEFAULT_TTL_SECONDS = 8 * 3600
MIN_PASSWORD_LENGTH = 8
# Tokens travel in HTTP headers; anything longer is not ours and not worth an HMAC.
MAX_TOKEN_LENGTH = 4096

_USERNAME = re.compile(r"[A-Za-z0-9._@-]{3,64}")
MAX_DISPLAY_NAME = 100
# A display name is shown on screens: any script, but no control characters (a line break or
# an escape sequence would garble a header or a terminal listing).
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_BASE64URL = re.compile(r"[A-Za-z0-9_-]+")
_FILE_VERSION = 1


class UserError(ValueError):
    """A user that cannot be added as asked, or a users file that cannot be read."""


class TokenError(Exception):
    """A bearer token that does not grant access; ``reason`` says why (for logs, not clients)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


# --- passwords -----------------------------------------------------------------------------


def hash_password(password: str) -> str:
    salt = os.urandom(SALT_BYTES)
    kdf = Scrypt(salt=salt, length=SCRYPT_LENGTH, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P)
    digest = kdf.derive(password.encode("utf-8"))
    return "$".join(
        ("scrypt", str(SCRYPT_N), str(SCRYPT_R), str(SCRYPT_P), _b64(salt), _b64(digest))
    )


def verify_password(password: str, encoded: str) -> bool:
    """True when ``password`` matches ``encoded``; False for a wrong password and for anything
    that is not a hash this module wrote (never an exception: callers just deny access)."""
    try:
        scheme, n_text, r_text, p_text, salt_text, digest_text = encoded.split("$")
        n, r, p = int(n_text), int(r_text), int(p_text)
        salt = base64.b64decode(salt_text, validate=True)
        digest = base64.b64decode(digest_text, validate=True)
    except (AttributeError, ValueError, binascii.Error):
        return False
    if (
        scheme != "scrypt"
        or not (n >= 2 and n & (n - 1) == 0 and r >= 1 and 1 <= p <= _MAX_P)
        or 128 * n * r > _MAX_SCRYPT_MEMORY
        or not salt
        or len(digest) < 16
    ):
        return False
    try:
        kdf = Scrypt(salt=salt, length=len(digest), n=n, r=r, p=p)
        kdf.verify(password.encode("utf-8"), digest)  # compares in constant time
    except (InvalidKey, ValueError, MemoryError):
        return False
    return True


# What an unknown username is checked against, so it costs a login the same scrypt run as a
# known one. Random bytes in our format rather than a hash made at startup: no password is known
# to match, and the first failed login does not pay to make it.
_DUMMY_HASH = (
    "scrypt$16384$8$1$1iYyLu6wU8Nj4Ag5DloReA==$6tfNTAmfjtZKhM7qfMwFeJR0rUUuAM3Li/CHyFxQxz4="
)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


# --- users ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class User:
    username: str
    role: Role
    password_hash: str
    store_id: str | None = None
    seller_id: str | None = None
    display_name: str | None = None
    """How screens greet the user; None: the seller's name from the catalogue, or the
    username (``GET /api/v1/me``)."""


def _check_display_name(display_name: str | None) -> None:
    if display_name is None:
        return
    if not isinstance(display_name, str) or not display_name.strip():
        raise UserError("the display name must be a non-empty text")
    if len(display_name) > MAX_DISPLAY_NAME or _CONTROL.search(display_name):
        raise UserError(
            f"invalid display name {display_name!r}: at most {MAX_DISPLAY_NAME} characters, "
            "no control characters"
        )


def _check_user(
    username: str, password: str, role: str, store_id: str | None, seller_id: str | None
) -> None:
    if not isinstance(username, str) or not _USERNAME.fullmatch(username):
        raise UserError(
            f"invalid username {username!r}: use 3 to 64 characters among "
            "letters, digits and . _ @ -"
        )
    if len(password) < MIN_PASSWORD_LENGTH:
        raise UserError(f"the password must have at least {MIN_PASSWORD_LENGTH} characters")
    if role not in ROLES:
        raise UserError(f"unknown role {role!r}: use one of {', '.join(ROLES)}")
    if role == "admin" and (store_id or seller_id):
        raise UserError("an admin sees the whole chain: give no store and no seller")
    if role == "manager":
        if not store_id:
            raise UserError("a manager needs the store they manage (store)")
        if seller_id:
            raise UserError("a manager is not tied to a seller: give no seller")
    if role == "seller" and not (store_id and seller_id):
        raise UserError("a seller needs both their seller id and their store (seller and store)")


class UserStore:
    """The users file. Every read first checks whether the file changed on disk, so a running
    worker sees users the CLI adds without a restart."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._users: dict[str, User] = {}
        self._seen: tuple[int, int, int] | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> UserStore:
        return cls(settings.users_file)

    def add(
        self,
        username: str,
        password: str,
        role: str,
        store_id: str | None = None,
        seller_id: str | None = None,
        display_name: str | None = None,
        *,
        replace: bool = False,
    ) -> User:
        store_id, seller_id = store_id or None, seller_id or None
        # Surrounding blanks are a typing accident, not part of a name.
        display_name = display_name.strip() if isinstance(display_name, str) else display_name
        display_name = display_name or None
        _check_user(username, password, role, store_id, seller_id)
        _check_display_name(display_name)
        user = User(
            username,
            cast(Role, role),
            hash_password(password),
            store_id,
            seller_id,
            display_name,
        )
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        # Read-modify-write under a lock: two CLI runs at once must not drop each other's user.
        with _dir_lock(self.path.parent):
            users = dict(self._read_file())
            if username in users and not replace:
                raise UserError(f"user {username!r} exists: pass replace to overwrite it")
            users[username] = user
            self._write_file(users)
        self._users, self._seen = users, self._stamp()
        return user

    def get(self, username: str) -> User | None:
        return self._current().get(username)

    def list(self) -> list[User]:
        return sorted(self._current().values(), key=lambda user: user.username)

    def authenticate(self, username: str, password: str) -> User | None:
        user = self.get(username)
        if user is None:
            verify_password(password, _DUMMY_HASH)
            return None
        return user if verify_password(password, user.password_hash) else None

    # --- the file --------------------------------------------------------------------------

    def _current(self) -> dict[str, User]:
        stamp = self._stamp()
        if stamp != self._seen:
            self._users = self._read_file() if stamp is not None else {}
            self._seen = stamp
        return self._users

    def _stamp(self) -> tuple[int, int, int] | None:
        """What tells a rewrite apart: os.replace gives a new inode even when the mtime's
        granularity would hide two writes in the same tick."""
        try:
            status = self.path.stat()
        except FileNotFoundError:
            return None
        return status.st_mtime_ns, status.st_ino, status.st_size

    def _read_file(self) -> dict[str, User]:
        try:
            document = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as error:
            raise UserError(f"cannot read the users file {self.path}: {error}") from error
        try:
            entries: dict[str, dict[str, Any]] = document["users"]
            users = {
                name: User(
                    username=name,
                    role=entry["role"],
                    password_hash=entry["password_hash"],
                    store_id=entry.get("store"),
                    seller_id=entry.get("seller"),
                    display_name=entry.get("display_name"),
                )
                for name, entry in entries.items()
            }
        except (KeyError, TypeError, AttributeError) as error:
            raise UserError(f"the users file {self.path} is not in the expected shape") from error
        # A hand-edited entry with a role we do not know would get odd scopes: refuse it loudly.
        for user in users.values():
            if user.role not in ROLES or not isinstance(user.password_hash, str):
                raise UserError(
                    f"the users file {self.path} has an invalid entry {user.username!r}"
                )
            fields = (user.store_id, user.seller_id, user.display_name)
            if not all(v is None or isinstance(v, str) for v in fields):
                raise UserError(
                    f"the users file {self.path} has an invalid entry {user.username!r}"
                )
        return users

    def _write_file(self, users: dict[str, User]) -> None:
        document = {
            "version": _FILE_VERSION,
            "users": {
                user.username: {
                    "role": user.role,
                    "store": user.store_id,
                    "seller": user.seller_id,
                    "display_name": user.display_name,
                    "password_hash": user.password_hash,
                }
                for user in sorted(users.values(), key=lambda user: user.username)
            },
        }
        # mkstemp creates the file 0600, so the hashes are never readable by others, not even
        # for the moment before the rename.
        descriptor, temporary = tempfile.mkstemp(
            dir=self.path.parent, prefix=f".{self.path.name}.", suffix=".tmp"
        )
        try:
            with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
                os.fchmod(handle.fileno(), 0o600)
                json.dump(document, handle, indent=2, ensure_ascii=False)
                handle.write("\n")
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temporary, self.path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temporary)
            raise


@contextlib.contextmanager
def _dir_lock(directory: Path) -> Iterator[None]:
    """Exclusive flock on the folder itself, so no lock file is left lying around."""
    descriptor = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        yield
    finally:
        os.close(descriptor)


# --- principals and scopes -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Principal:
    """The caller of one request, as its token describes it."""

    username: str
    role: Role
    store_id: str | None = None
    seller_id: str | None = None

    @classmethod
    def from_user(cls, user: User) -> Principal:
        return cls(user.username, user.role, user.store_id, user.seller_id)

    def can_read_store(self, store_id: str) -> bool:
        """A store's totals: a seller never, since they would show colleagues' figures."""
        if self.role == "admin":
            return True
        return self.role == "manager" and self.store_id is not None and store_id == self.store_id

    def can_read_seller(self, seller_id: str, store_id: str) -> bool:
        """One seller's figures. For a seller both ids must match: seller ids from a chain's
        own files may be unique only within a store."""
        if self.role == "admin":
            return True
        if self.role == "manager":
            return self.store_id is not None and store_id == self.store_id
        return (
            self.seller_id is not None and seller_id == self.seller_id and store_id == self.store_id
        )

    def can_ingest(self) -> bool:
        return self.role == "admin"

    def can_read_chain(self) -> bool:
        return self.role == "admin"


# --- tokens --------------------------------------------------------------------------------


def issue_token(user: User, key: bytes, now: int, ttl_seconds: int = DEFAULT_TTL_SECONDS) -> str:
    if not key:
        raise ValueError("the token key is empty")
    if ttl_seconds <= 0:
        raise ValueError("ttl_seconds must be positive")
    payload = {
        "sub": user.username,
        "role": user.role,
        "store": user.store_id,
        "seller": user.seller_id,
        "iat": int(now),
        "exp": int(now) + int(ttl_seconds),
    }
    body = json.dumps(payload, separators=(",", ":"), sort_keys=True, ensure_ascii=False)
    payload_b64 = _b64url(body.encode("utf-8"))
    return f"{payload_b64}.{_signature(key, payload_b64)}"


def verify_token(token: str, key: bytes, now: int) -> Principal:
    """The principal a token names, if the token is well formed, signed with ``key`` and not
    expired at ``now``; TokenError otherwise."""
    if not key:
        raise ValueError("the token key is empty")
    if not isinstance(token, str) or len(token) > MAX_TOKEN_LENGTH:
        raise TokenError("malformed")
    parts = token.split(".")
    if len(parts) != 2 or not all(_BASE64URL.fullmatch(part) for part in parts):
        raise TokenError("malformed")
    payload_b64, signature = parts
    # Comparing the encoded signatures, not decoded bytes, leaves exactly one valid spelling
    # of every token; and nothing of the payload is parsed before it is known to be ours.
    if not hmac.compare_digest(signature, _signature(key, payload_b64)):
        raise TokenError("bad signature")
    try:
        payload = json.loads(base64.urlsafe_b64decode(payload_b64 + "=" * (-len(payload_b64) % 4)))
    except (ValueError, binascii.Error) as error:
        raise TokenError("malformed") from error
    principal, expires = _read_payload(payload)
    if now >= expires:
        raise TokenError("expired")
    return principal


def _read_payload(payload: object) -> tuple[Principal, int]:
    if not isinstance(payload, dict):
        raise TokenError("malformed")
    subject, role = payload.get("sub"), payload.get("role")
    store, seller = payload.get("store"), payload.get("seller")
    issued, expires = payload.get("iat"), payload.get("exp")
    if (
        not isinstance(subject, str)
        or role not in ROLES
        or not (store is None or isinstance(store, str))
        or not (seller is None or isinstance(seller, str))
        or not _is_int(issued)
        or not _is_int(expires)
    ):
        raise TokenError("malformed")
    return Principal(subject, role, store, seller), expires  # type: ignore[arg-type]


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _signature(key: bytes, payload_b64: str) -> str:
    return _b64url(hmac.new(key, payload_b64.encode("ascii"), hashlib.sha256).digest())


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")
