"""A real worker in a subprocess, and a small JSON client for its API, for integration tests."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote
from zoneinfo import ZoneInfo

from app.kafka.launcher import free_port

T = TypeVar("T")

REPO = Path(__file__).resolve().parents[1]
DATAAPP = [sys.executable, "-m", "app"]


def worker_environment(
    bootstrap: str, data_dir: Path, prefix: str | None = None, **extra: str
) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        DATAAPP_KAFKA_BOOTSTRAP=bootstrap,
        DATAAPP_DATA_DIR=str(data_dir),
        DATAAPP_TOPIC_PREFIX=prefix if prefix is not None else f"t{uuid.uuid4().hex[:8]}.",
        DATAAPP_WEB_PORT=str(free_port()),
        PYTHONUNBUFFERED="1",
    )
    env.update(extra)
    return env


def dataapp(env: dict[str, str], *args: str, timeout: float = 120) -> str:
    done = subprocess.run(
        [*DATAAPP, *args], env=env, cwd=REPO, capture_output=True, text=True, timeout=timeout
    )
    assert done.returncode == 0, f"dataapp {' '.join(args)}: {done.stdout}\n{done.stderr}"
    return done.stdout


@dataclass
class ApiAnswer:
    status: int
    body: Any
    content_type: str


@dataclass
class WorkerProcess:
    env: dict[str, str]
    log_path: Path
    process: subprocess.Popen[bytes] | None = None
    starts: int = 0
    tokens: dict[str, str] = field(default_factory=dict)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.env['DATAAPP_WEB_PORT']}"

    def start(self) -> None:
        self.starts += 1
        log = self.log_path.open("ab")
        log.write(f"\n=== start {self.starts} ===\n".encode())
        self.process = subprocess.Popen(
            [*DATAAPP, "worker", "--loglevel", self.env.get("DATAAPP_TEST_LOGLEVEL", "warning")],
            env=self.env,
            cwd=REPO,
            stdout=log,
            stderr=subprocess.STDOUT,
        )

    def kill(self, sig: int = signal.SIGKILL) -> None:
        assert self.process is not None
        self.process.send_signal(sig)
        self.process.wait(timeout=60)

    def freeze(self, seconds: float) -> None:
        """Stops the process dead (SIGSTOP) for ``seconds``, then lets it go on."""
        assert self.process is not None
        self.process.send_signal(signal.SIGSTOP)
        try:
            time.sleep(seconds)
        finally:
            self.process.send_signal(signal.SIGCONT)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=30)

    def wait_ready(self, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise AssertionError(f"worker exited ({self.process.returncode}):\n{self.tail()}")
            try:
                if self.request("GET", "/readyz").status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.3)
        raise AssertionError(f"worker not ready after {timeout} s:\n{self.tail()}")

    def tail(self, lines: int = 60) -> str:
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def request(
        self, method: str, path: str, token: str | None = None, body: Any = None
    ) -> ApiAnswer:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.base_url + path, data=data, method=method)
        if data is not None:
            request.add_header("Content-Type", "application/json")
        if token:
            request.add_header("Authorization", f"Bearer {token}")
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return _answer(response.status, response.read(), response.headers)
        except urllib.error.HTTPError as error:
            return _answer(error.code, error.read(), error.headers)

    def get(self, path: str, token: str | None = None) -> Any:
        answer = self.request("GET", path, token)
        assert answer.status == 200, f"GET {path}: {answer.status} {answer.body}"
        return answer.body

    def metric(self, name: str) -> float:
        """One unlabelled series of ``/metrics``."""
        answer = self.request("GET", "/metrics")
        assert answer.status == 200, answer.body
        for line in answer.body.splitlines():
            if line.startswith(name + " "):
                return float(line.split()[1])
        raise AssertionError(f"no metric {name}")

    def add_user(
        self, username: str, role: str, store: str = "", seller: str = "", name: str = ""
    ) -> str:
        """Creates the user (through the CLI, as an operator would) and returns a token."""
        password = f"{username}-secret-pw"
        args = ["users", "add", "--username", username, "--password", password, "--role", role]
        if store:
            args += ["--store", store]
        if seller:
            args += ["--seller", seller]
        if name:
            args += ["--name", name]
        dataapp(self.env, *args)
        answer = self.request(
            "POST", "/api/v1/auth/token", body={"username": username, "password": password}
        )
        assert answer.status == 200, answer.body
        self.tokens[username] = answer.body["access_token"]
        return self.tokens[username]


def _answer(status: int, raw: bytes, headers: Any) -> ApiAnswer:
    content_type = headers.get("Content-Type", "")
    body: Any = raw.decode(errors="replace")
    if "json" in content_type:
        body = json.loads(raw)
    return ApiAnswer(status, body, content_type)


def sale_line_now(
    number: int,
    store: str,
    seller: str,
    quantity: int,
    unit_price: str,
    unit_cost: str,
    zone: ZoneInfo,
    order_prefix: str = "web",
    when: datetime | None = None,
) -> dict[str, Any]:
    """One canonical sale line of a new order, at ``when`` or else a minute ago in ``zone``
    but never yesterday (the dashboards' "today" starts at midnight); ``number`` varies
    customer and product."""
    if when is None:
        now = datetime.now(zone)
        when = max(now - timedelta(minutes=1), now.replace(hour=0, minute=0, second=1))
    return {
        "order_id": f"{order_prefix}-{uuid.uuid4().hex[:10]}",
        "store_id": store,
        "seller_id": seller,
        "customer_id": f"cliente-{number}",
        "event_time": when.strftime("%Y-%m-%d %H:%M:%S"),
        "channel": "store",
        "sku": f"SKU-{number % 3}",
        "product_name": "Produto de teste",
        "quantity": quantity,
        "unit_price": unit_price,
        "unit_cost": unit_cost,
        "discount": "0.00",
    }


def segment(value: str) -> str:
    """A path segment: every reserved character and dot percent-encoded."""
    return quote(value, safe="").replace(".", "%2E")


def eventually(check: Callable[[], T], what: str, timeout: float = 60) -> T:
    """``check()``'s value once it stops raising AssertionError, within ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return check()
        except AssertionError:
            if time.monotonic() > deadline:
                raise AssertionError(f"not within {timeout} s: {what}") from None
            time.sleep(0.3)
