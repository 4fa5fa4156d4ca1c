"""Start, find and stop a single-node KRaft Kafka broker that belongs to one data dir.

The app must run on a bare machine with only Java and Maven, so the broker is run straight from
the jars Maven Central serves (fetched once into a cache dir) instead of a Kafka download or a
container. Everything a broker needs lives in its data dir::

    data_dir/server.properties   broker config, rewritten on every start
    data_dir/log4j2.properties   sends the broker's log to broker.log
    data_dir/logs/               Kafka's log dirs (the topics); formatted once, then kept
    data_dir/broker.log          the broker's own log (appended across restarts)
    data_dir/broker.out          the JVM's stdout/stderr of the latest start
    data_dir/broker.pid          pid of the running broker
    data_dir/launcher.json       ports and cluster id, so restarts and status agree

The broker binds 127.0.0.1 only: it has no authentication, so it must not be reachable from the
network.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaClient
from aiokafka.errors import KafkaError

KAFKA_VERSION = "4.1.1"

HOST = "127.0.0.1"
"""Loopback only: the broker runs without authentication."""

_POM = Path(__file__).with_name("pom.xml")
_KAFKA_JAR = f"kafka_2.13-{KAFKA_VERSION}.jar"
_POM_STAMP = ".pom.sha256"
_MAIN_CLASS = "kafka.Kafka"
_TAIL_LINES = 20
_MVN_TIMEOUT = 900.0
_FORMAT_TIMEOUT = 120.0

# Brokers started by this process, kept so they can be reaped: an unreaped child that exits
# stays a zombie whose pid still exists, which would make broker_down wait for nothing.
_children: dict[int, subprocess.Popen[bytes]] = {}


@dataclass(frozen=True)
class BrokerStatus:
    """What callers need to connect to a broker or tell the user why they cannot."""

    running: bool
    bootstrap: str | None
    pid: int | None
    data_dir: Path | None
    log_file: Path | None
    external: bool
    message: str
    started: bool = False
    """True when this call started the broker (so the caller may stop it again)."""


class LauncherError(RuntimeError):
    """A broker could not be fetched, started, stopped or reached; the message says what to do."""


# --------------------------------------------------------------------------------------------
# small helpers


def free_port() -> int:
    """A port that is free on 127.0.0.1 right now (the OS picks it, so parallel runs differ)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def _port_in_use(port: int) -> bool:
    """Whether binding the port would fail, which is exactly what would make the broker fail.

    SO_REUSEADDR as Kafka itself uses it, so TIME_WAIT leftovers of a broker that just stopped
    do not count as "taken".
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((HOST, port))
        except OSError:
            return True
    return False


@contextlib.contextmanager
def _dir_lock(directory: Path) -> Iterator[None]:
    """Exclusive flock on the directory itself, so no extra lock file is left lying around.

    The descriptor is not inherited by child processes (PEP 446), so a broker started while the
    lock is held does not keep it locked.
    """
    descriptor = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        yield
    finally:
        os.close(descriptor)


def _tail(path: Path, lines: int = _TAIL_LINES) -> list[str]:
    try:
        with path.open("rb") as handle:
            handle.seek(0, os.SEEK_END)
            size = handle.tell()
            handle.seek(max(0, size - 64 * 1024))
            data = handle.read()
    except OSError:
        return []
    return data.decode("utf-8", "replace").splitlines()[-lines:]


def _quote_tails(*paths: Path) -> str:
    """The last lines of each non-empty file, because the reason for a failure is in there."""
    parts = []
    for path in paths:
        tail = _tail(path)
        if tail:
            body = "\n".join(f"    {line}" for line in tail)
            parts.append(f"  last {len(tail)} lines of {path}:\n{body}")
    return "\n" + "\n".join(parts) if parts else f"\n  (nothing in {', '.join(map(str, paths))})"


def _write_atomic(path: Path, text: str) -> None:
    """Write via rename so a crash never leaves a half-written config or state file."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def _java() -> str:
    java_home = os.environ.get("JAVA_HOME")
    if java_home and (Path(java_home) / "bin" / "java").is_file():
        return str(Path(java_home) / "bin" / "java")
    found = shutil.which("java")
    if not found:
        raise LauncherError(
            "java was not found on PATH (and JAVA_HOME is not set): the local Kafka broker needs "
            "Java 17 or newer; install one (e.g. `apt-get install openjdk-17-jre-headless`) or set "
            "DATAAPP_KAFKA_BOOTSTRAP to use an existing broker instead"
        )
    return found


# --------------------------------------------------------------------------------------------
# jars


def _pom_digest() -> str:
    return hashlib.sha256(_POM.read_bytes()).hexdigest()


def _jars_ready(libs: Path, digest: str) -> bool:
    """Complete and fetched with the current pom, so a pom change triggers a new fetch."""
    stamp = libs / _POM_STAMP
    return (
        (libs / _KAFKA_JAR).is_file()
        and stamp.is_file()
        and stamp.read_text(encoding="utf-8").strip() == digest
    )


def ensure_jars(cache_dir: Path) -> Path:
    """The directory with the broker's jars, fetched through Maven on first use.

    Maven is the one route to Maven Central that works everywhere the app runs (proxies and
    mirrors come from the user's settings.xml). The fetch goes into a temp dir that is renamed
    into place, so a crashed or concurrent fetch never leaves a half-filled libs dir, and a lock
    keeps two processes from downloading at the same time.
    """
    home = Path(cache_dir).expanduser() / f"kafka-{KAFKA_VERSION}"
    libs = home / "libs"
    if not _POM.is_file():
        raise LauncherError(f"{_POM} is missing: reinstall the app (it ships next to launcher.py)")
    digest = _pom_digest()
    if _jars_ready(libs, digest):
        return libs
    home.mkdir(parents=True, exist_ok=True)
    with _dir_lock(home):
        if _jars_ready(libs, digest):
            return libs
        mvn = shutil.which("mvn")
        if not mvn:
            raise LauncherError(
                "mvn (Apache Maven) was not found on PATH: it is needed once to fetch the Kafka "
                f"{KAFKA_VERSION} jars from Maven Central into {libs}; install it (e.g. "
                "`apt-get install maven`) or set DATAAPP_KAFKA_BOOTSTRAP to use an existing broker"
            )
        _java()  # Maven needs it too, and its own error about JAVA_HOME is less clear.
        with tempfile.TemporaryDirectory(dir=home, prefix=".fetch-") as work_name:
            work = Path(work_name)
            pom = work / "pom.xml"
            shutil.copyfile(_POM, pom)  # Maven may write target/ next to the pom: not in the app.
            fetched = work / "libs"
            command = [
                mvn, "-q", "-B", "-f", str(pom), "dependency:copy-dependencies",
                f"-DoutputDirectory={fetched}", "-DincludeScope=runtime",
            ]  # fmt: skip
            result, shown = _run_tool(
                command,
                work,
                _MVN_TIMEOUT,
                f"mvn did not finish fetching the Kafka jars within {_MVN_TIMEOUT:.0f} s; "
                "check network access to Maven Central (or the mirror in ~/.m2/settings.xml) "
                "and try again",
            )
            if result.returncode != 0 or not (fetched / _KAFKA_JAR).is_file():
                raise LauncherError(
                    f"mvn could not fetch the Kafka {KAFKA_VERSION} jars (exit code "
                    f"{result.returncode}); check network access to Maven Central (or the mirror "
                    f"in ~/.m2/settings.xml) and try again. Command: {' '.join(command)}\n"
                    f"  last lines of mvn's output:\n{shown}"
                )
            (fetched / _POM_STAMP).write_text(digest + "\n", encoding="utf-8")
            if libs.exists():
                # Outdated (pom changed): move aside first so the swap itself is one rename.
                old = work / "old-libs"
                os.rename(libs, old)
            os.rename(fetched, libs)
    return libs


# --------------------------------------------------------------------------------------------
# data dir files


def _paths(data_dir: Path) -> dict[str, Path]:
    return {
        "props": data_dir / "server.properties",
        "log4j": data_dir / "log4j2.properties",
        "logs": data_dir / "logs",
        "log": data_dir / "broker.log",
        "out": data_dir / "broker.out",
        "pid": data_dir / "broker.pid",
        "state": data_dir / "launcher.json",
    }


def _norm(data_dir: Path) -> Path:
    """Resolved (no symlinks, no ".."), because the pid check compares the server.properties
    path in the cmdline: two spellings of one folder must not look like two brokers."""
    return Path(data_dir).expanduser().resolve()


def _read_state(data_dir: Path) -> dict[str, object]:
    try:
        state = json.loads((data_dir / "launcher.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return state if isinstance(state, dict) else {}


def _read_pid(data_dir: Path) -> int | None:
    try:
        return int((data_dir / "broker.pid").read_text(encoding="utf-8").strip())
    except (OSError, ValueError):
        return None


def _new_cluster_id() -> str:
    """The form StorageTool expects: base64url of 16 random bytes, without padding.

    Like Kafka's own Uuid.randomUuid, never one starting with "-": command-line tools would
    take it for an option.
    """
    while True:
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode("ascii").rstrip("=")
        if not cluster_id.startswith("-"):
            return cluster_id


def _formatted_cluster_id(logs: Path) -> str | None:
    """The cluster id of already formatted storage, so a restart never reformats (data kept)."""
    try:
        text = (logs / "meta.properties").read_text(encoding="utf-8")
    except OSError:
        return None
    for line in text.splitlines():
        key, _, value = line.partition("=")
        if key.strip() == "cluster.id":
            return value.strip()
    return None


def _server_properties(paths: dict[str, Path], port: int, controller_port: int) -> str:
    settings = {
        "process.roles": "broker,controller",
        "node.id": "1",
        "controller.quorum.voters": f"1@{HOST}:{controller_port}",
        "listeners": f"PLAINTEXT://{HOST}:{port},CONTROLLER://{HOST}:{controller_port}",
        "advertised.listeners": f"PLAINTEXT://{HOST}:{port}",
        "controller.listener.names": "CONTROLLER",
        "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
        "inter.broker.listener.name": "PLAINTEXT",
        "log.dirs": str(paths["logs"]),
        # Topics exist only as declared in app/topics.py: a typo must fail, not create a
        # one-partition topic with default retention.
        "auto.create.topics.enable": "false",
        # One node: every internal topic must accept a replication factor of 1.
        "num.partitions": "1",
        "offsets.topic.replication.factor": "1",
        "offsets.topic.num.partitions": "4",
        "transaction.state.log.replication.factor": "1",
        "transaction.state.log.min.isr": "1",
        "transaction.state.log.num.partitions": "4",
        "share.coordinator.state.topic.replication.factor": "1",
        "share.coordinator.state.topic.min.isr": "1",
        # Fast group joins and short session timeouts, so tests and restarts do not stall.
        "group.initial.rebalance.delay.ms": "0",
        "group.min.session.timeout.ms": "1000",  # classic protocol (aiokafka, older clients)
        "group.consumer.min.session.timeout.ms": "1000",
        "group.consumer.session.timeout.ms": "10000",
        "group.consumer.min.heartbeat.interval.ms": "500",
        "group.consumer.heartbeat.interval.ms": "1000",
        "group.share.min.session.timeout.ms": "1000",
        "group.share.min.heartbeat.interval.ms": "500",
    }
    header = "# Written by app/kafka/launcher.py on every start; edits here are overwritten.\n"
    return header + "".join(f"{key}={value}\n" for key, value in settings.items())


def _log4j_properties(log_file: Path) -> str:
    """log4j2 in properties syntax: the YAML form would depend on Jackson's YAML module."""
    return f"""\
# Written by app/kafka/launcher.py: the broker logs to one plain file next to its data.
status = warn
name = dataapp-kafka
# Kafka logs while it shuts down; log4j's own hook would close the file before that.
shutdownHook = disable
appender.file.type = File
appender.file.name = FILE
appender.file.fileName = {log_file}
appender.file.append = true
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.file.ref = FILE
logger.request.name = kafka.request.logger
logger.request.level = WARN
logger.authorizer.name = kafka.authorizer.logger
logger.authorizer.level = WARN
logger.clients.name = org.apache.kafka.clients
logger.clients.level = WARN
"""


def _jvm_base(java: str, libs: Path, log4j: Path, heap: str) -> list[str]:
    return [
        java,
        f"-Xmx{heap}",
        "-Djava.awt.headless=true",
        "-XX:+ExitOnOutOfMemoryError",
        f"-Dlog4j2.configurationFile={log4j}",
        "-cp",
        f"{libs}/*",
    ]


# --------------------------------------------------------------------------------------------
# processes


def _cmdline(pid: int) -> list[str] | None:
    """The live process's arguments; None if it is gone or a zombie (empty cmdline)."""
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return None
    return [part.decode("utf-8", "replace") for part in raw.split(b"\0") if part] or None


def _reap(pid: int) -> None:
    child = _children.get(pid)
    if child is not None:
        if child.poll() is not None:
            del _children[pid]
        return
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)


def _is_our_broker(pid: int, props: Path) -> bool:
    """Guards against pid reuse: only a kafka.Kafka run with this data dir's config counts."""
    _reap(pid)
    args = _cmdline(pid)
    return args is not None and _MAIN_CLASS in args and str(props) in args


def _wait_gone(pid: int, props: Path, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while _is_our_broker(pid, props):
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.1)
    return True


def _accepts_connections(port: int) -> bool:
    try:
        with socket.create_connection((HOST, port), timeout=0.5):
            return True
    except OSError:
        return False


# --------------------------------------------------------------------------------------------
# readiness


def _split_bootstrap(bootstrap: str) -> list[tuple[str, int]]:
    hosts = []
    for item in bootstrap.split(","):
        item = item.strip()
        if not item:
            continue
        host, sep, port = item.rpartition(":")
        if not sep or not port.isdigit():
            raise LauncherError(
                f"bad Kafka bootstrap address {item!r}: expected host:port[,host:port...]"
            )
        hosts.append((host.strip("[]"), int(port)))
    if not hosts:
        raise LauncherError("empty Kafka bootstrap address: expected host:port[,host:port...]")
    return hosts


async def _tcp_open(hosts: list[tuple[str, int]], timeout: float) -> bool:
    """A cheap check first, so aiokafka does not log a connection error on every poll."""
    for host, port in hosts:
        try:
            _, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
        except (OSError, TimeoutError):
            continue
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()
        return True
    return False


async def _metadata_ok(bootstrap: str, timeout: float) -> str | None:
    """None if the cluster answered a metadata request with at least one broker, else why not."""
    client = AIOKafkaClient(
        bootstrap_servers=bootstrap,
        request_timeout_ms=max(1000, int(timeout * 1000)),
        client_id="dataapp-launcher",
    )
    try:
        await asyncio.wait_for(client.bootstrap(), timeout)
        metadata = await asyncio.wait_for(client.fetch_all_metadata(), timeout)
        if not metadata.brokers():
            return "metadata has no brokers yet"
        return None
    except (KafkaError, OSError, TimeoutError) as exc:
        return f"{type(exc).__name__}: {exc}"
    finally:
        with contextlib.suppress(Exception):
            await client.close()


async def wait_until_ready(
    bootstrap: str,
    timeout: float = 90.0,
    alive: Callable[[], bool] | None = None,
) -> None:
    """Return once the broker answers a metadata request, as clients will need it to.

    An open port is not enough: a KRaft broker accepts connections before it has registered
    with its controller. ``alive`` lets the caller stop waiting for a process that died.
    Raises LauncherError on timeout or when ``alive()`` turns false.
    """
    hosts = _split_bootstrap(bootstrap)
    deadline = time.monotonic() + timeout
    last = "no answer yet"
    while True:
        if alive is not None and not alive():
            raise LauncherError(f"the broker process for {bootstrap} exited while starting")
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise LauncherError(
                f"no Kafka broker answered at {bootstrap} within {timeout:.0f} s ({last})"
            )
        attempt = min(5.0, max(0.5, remaining))
        if await _tcp_open(hosts, min(1.0, attempt)):
            problem = await _metadata_ok(bootstrap, attempt)
            if problem is None:
                return
            last = problem
        else:
            last = "connection refused"
        await asyncio.sleep(min(0.25, max(0.0, deadline - time.monotonic())))


def _refuse_inside_loop(what: str) -> None:
    """Fail before doing anything: asyncio.run would fail only after the JVM was started."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return
    raise LauncherError(
        f"{what} is synchronous and blocks; it was called from a running event loop. Call it "
        "via `await asyncio.to_thread(...)`, or use `await wait_until_ready(...)` directly"
    )


def _run_sync(coro_factory: Callable[[], Coroutine[Any, Any, None]], what: str) -> None:
    """asyncio.run for the sync API, with a clear error when called from inside a loop."""
    _refuse_inside_loop(what)
    asyncio.run(coro_factory())


# --------------------------------------------------------------------------------------------
# public API


def _not_running(data_dir: Path, why: str, log_file: Path | None = None) -> BrokerStatus:
    return BrokerStatus(
        running=False,
        bootstrap=None,
        pid=None,
        data_dir=data_dir,
        log_file=log_file,
        external=False,
        message=f"not running ({why})",
    )


def broker_status(data_dir: Path) -> BrokerStatus:
    """Report on the broker of this data dir from its pid file and /proc, without contacting it.

    Cheap enough for a status command or a health check; "running" means the process is alive,
    and the message adds whether its port accepts connections yet.
    """
    data_dir = _norm(data_dir)
    paths = _paths(data_dir)
    state = _read_state(data_dir)
    port = state.get("port")
    bootstrap = f"{HOST}:{port}" if isinstance(port, int) else None
    pid = _read_pid(data_dir)
    log_file = paths["log"] if paths["log"].exists() else None
    if pid is None or not _is_our_broker(pid, paths["props"]):
        why = (
            f"no pid file in {data_dir}"
            if pid is None
            else f"stale pid file {paths['pid']}: process {pid} is gone"
        )
        return _not_running(data_dir, why, log_file)
    if isinstance(port, int) and _accepts_connections(port):
        message = f"running (pid {pid}) at {bootstrap}"
    else:
        message = f"running (pid {pid}) but {bootstrap} does not accept connections yet"
    return BrokerStatus(
        running=True,
        bootstrap=bootstrap,
        pid=pid,
        data_dir=data_dir,
        log_file=paths["log"],
        external=False,
        message=message,
    )


def broker_up(
    data_dir: Path, cache_dir: Path, port: int = 9092, timeout: float = 90.0
) -> BrokerStatus:
    """Make sure this data dir's broker runs and answers; safe to call again and again.

    A running broker is returned as is (even if ``port`` differs: changing it needs a stop).
    Storage is formatted only once, so topics survive restarts. Must not be called from inside
    a running event loop (it blocks); use ``asyncio.to_thread`` there.
    """
    _refuse_inside_loop("broker_up")
    data_dir = _norm(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    paths = _paths(data_dir)
    with _dir_lock(data_dir):  # two concurrent ups must not start two JVMs on one data dir
        current = broker_status(data_dir)
        if current.running and current.pid is not None:
            pid = current.pid
            if current.bootstrap is None:
                raise LauncherError(
                    f"the broker of {data_dir} (pid {pid}) is running but {paths['state']} is "
                    "missing or unreadable, so its port is unknown; stop it with broker_down and "
                    "start it again"
                )
            existing = current.bootstrap
            try:
                _run_sync(
                    lambda: wait_until_ready(
                        existing,
                        timeout,
                        alive=lambda: _is_our_broker(pid, paths["props"]),
                    ),
                    "broker_up",
                )
            except LauncherError as exc:
                raise LauncherError(
                    f"the broker of {data_dir} (pid {pid}) is running but does not answer at "
                    f"{existing}: {exc}. Stop it with broker_down and start it again; "
                    f"see {paths['log']}" + _quote_tails(paths["log"], paths["out"])
                ) from exc
            note = "" if existing == f"{HOST}:{port}" else f" (port {port} ignored)"
            return BrokerStatus(
                running=True,
                bootstrap=existing,
                pid=pid,
                data_dir=data_dir,
                log_file=paths["log"],
                external=False,
                message=f"already running (pid {pid}) at {existing}{note}",
            )
        paths["pid"].unlink(missing_ok=True)  # stale, if any

        if _port_in_use(port):
            raise LauncherError(
                f"port {port} on {HOST} is already in use by another process, so the Kafka "
                f"broker of {data_dir} cannot listen there; stop that process, choose another "
                "port, or set DATAAPP_KAFKA_BOOTSTRAP to use the broker that is already running"
            )
        libs = ensure_jars(cache_dir)
        java = _java()

        state = _read_state(data_dir)
        controller_port = state.get("controller_port")
        if (
            not isinstance(controller_port, int)
            or controller_port == port
            or _port_in_use(controller_port)
        ):
            controller_port = free_port()
            while controller_port == port:
                controller_port = free_port()

        paths["logs"].mkdir(exist_ok=True)
        cluster_id = _formatted_cluster_id(paths["logs"])
        needs_format = cluster_id is None
        if cluster_id is None:
            saved = state.get("cluster_id")
            cluster_id = saved if isinstance(saved, str) and saved else _new_cluster_id()

        _write_atomic(paths["props"], _server_properties(paths, port, controller_port))
        _write_atomic(paths["log4j"], _log4j_properties(paths["log"]))
        _write_atomic(
            paths["state"],
            json.dumps(
                {
                    "kafka_version": KAFKA_VERSION,
                    "host": HOST,
                    "port": port,
                    "controller_port": controller_port,
                    "cluster_id": cluster_id,
                },
                indent=2,
            )
            + "\n",
        )

        if needs_format:
            _format_storage(java, libs, paths, cluster_id)

        command = [*_jvm_base(java, libs, paths["log4j"], "512m"), _MAIN_CLASS, str(paths["props"])]
        with paths["out"].open("wb") as out:
            child = subprocess.Popen(
                command,
                cwd=data_dir,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # survives Ctrl-C in the terminal that started it
            )
        _children[child.pid] = child
        _write_atomic(paths["pid"], f"{child.pid}\n")
        bootstrap = f"{HOST}:{port}"
        try:
            _run_sync(
                lambda: wait_until_ready(bootstrap, timeout, alive=lambda: child.poll() is None),
                "broker_up",
            )
        except LauncherError as exc:
            exited = child.poll()
            if exited is None:
                _stop_pid(child.pid, paths, 10.0)
                what = f"did not answer at {bootstrap} within {timeout:.0f} s and was stopped"
            else:
                _children.pop(child.pid, None)
                paths["pid"].unlink(missing_ok=True)
                what = f"exited with code {exited} while starting"
            raise LauncherError(
                f"the Kafka broker of {data_dir} {what}; the reason is usually in the lines "
                f"below (full log: {paths['log']})" + _quote_tails(paths["log"], paths["out"])
            ) from exc
        except BaseException:
            # Ctrl-C while waiting: the JVM runs in a session of its own and would outlive us.
            if child.poll() is None:
                _stop_pid(child.pid, paths, 10.0)
            raise
        return BrokerStatus(
            running=True,
            bootstrap=bootstrap,
            pid=child.pid,
            data_dir=data_dir,
            log_file=paths["log"],
            external=False,
            message=f"started (pid {child.pid}) at {bootstrap}",
            started=True,
        )


def _run_tool(
    command: list[str], cwd: Path, timeout: float, too_slow: str
) -> tuple[subprocess.CompletedProcess[str], str]:
    """Run a JVM tool to completion; return its result and the tail of its output, indented
    for an error message."""
    try:
        result = subprocess.run(
            command,
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise LauncherError(too_slow) from exc
    output = (result.stdout + result.stderr).strip().splitlines()[-_TAIL_LINES:]
    return result, "\n".join(f"    {line}" for line in output) or "    (no output)"


def _format_storage(java: str, libs: Path, paths: dict[str, Path], cluster_id: str) -> None:
    """Format the KRaft storage once; reformatting would throw away every topic."""
    command = [
        *_jvm_base(java, libs, paths["log4j"], "256m"),
        "kafka.tools.StorageTool", "format",
        f"--cluster-id={cluster_id}",  # "=" form: an id may start with "-" (older ids did)
        "--config", str(paths["props"]),
    ]  # fmt: skip
    result, shown = _run_tool(
        command,
        paths["props"].parent,
        _FORMAT_TIMEOUT,
        f"formatting the Kafka storage in {paths['logs']} took over {_FORMAT_TIMEOUT:.0f} s; "
        "check that the machine is not overloaded and try again",
    )
    if result.returncode != 0:
        raise LauncherError(
            f"formatting the Kafka storage in {paths['logs']} failed (exit code "
            f"{result.returncode}); if that directory holds data from another Kafka setup, move "
            f"it away and try again. Output:\n{shown}"
        )


def _stop_pid(pid: int, paths: dict[str, Path], timeout: float) -> str:
    """SIGTERM for a clean shutdown (no log recovery on the next start), SIGKILL as last resort."""
    how = "stopped"
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    if not _wait_gone(pid, paths["props"], timeout):
        how = f"killed (no clean shutdown within {timeout:.0f} s)"
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        if not _wait_gone(pid, paths["props"], 10.0):
            raise LauncherError(
                f"the Kafka broker (pid {pid}) of {paths['props'].parent} survived SIGKILL; "
                "check it with `ps` and stop it by hand"
            )
    child = _children.pop(pid, None)
    if child is not None:
        with contextlib.suppress(subprocess.TimeoutExpired):
            child.wait(timeout=1.0)
    paths["pid"].unlink(missing_ok=True)
    return how


def broker_down(data_dir: Path, timeout: float = 30.0) -> BrokerStatus:
    """Stop the broker this data dir started, and only that one; harmless if none runs.

    The pid file alone is not trusted (pids get reused), so the process must be a kafka.Kafka
    run with this data dir's server.properties before it gets a signal.
    """
    data_dir = _norm(data_dir)
    paths = _paths(data_dir)
    if not data_dir.is_dir():
        return _not_running(data_dir, f"{data_dir} does not exist")
    with _dir_lock(data_dir):
        current = broker_status(data_dir)
        if not current.running or current.pid is None:
            paths["pid"].unlink(missing_ok=True)
            return current
        how = _stop_pid(current.pid, paths, timeout)
        return BrokerStatus(
            running=False,
            bootstrap=None,
            pid=None,
            data_dir=data_dir,
            log_file=current.log_file,
            external=False,
            message=f"{how} (pid {current.pid})",
        )


def resolve_external(bootstrap: str, timeout: float = 10.0) -> BrokerStatus:
    """Check a broker the user runs (DATAAPP_KAFKA_BOOTSTRAP) before the app relies on it.

    Failing here, with the address in the message, beats clients retrying silently later.
    """
    bootstrap = bootstrap.strip()
    try:
        _run_sync(lambda: wait_until_ready(bootstrap, timeout), "resolve_external")
    except LauncherError as exc:
        raise LauncherError(
            f"DATAAPP_KAFKA_BOOTSTRAP={bootstrap} does not answer: {exc}. Start that broker, fix "
            "the address, or unset DATAAPP_KAFKA_BOOTSTRAP to let the app run its own broker"
        ) from exc
    return BrokerStatus(
        running=True,
        bootstrap=bootstrap,
        pid=None,
        data_dir=None,
        log_file=None,
        external=True,
        message=f"external broker answers at {bootstrap}",
    )


__all__ = [
    "KAFKA_VERSION",
    "BrokerStatus",
    "LauncherError",
    "broker_down",
    "broker_status",
    "broker_up",
    "ensure_jars",
    "free_port",
    "resolve_external",
    "wait_until_ready",
]
