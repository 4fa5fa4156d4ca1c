"""docker-compose.yml and the Dockerfile cannot be built or started here (no Docker engine):
they are checked statically, against the settings of the broker the launcher runs in
development and against the code they run: the variables it reads, its command line,
setup.cfg."""

from __future__ import annotations

import argparse
import configparser
import contextlib
import importlib
import io
import json
import os
import re
import shlex
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import pytest
import yaml
from packaging.specifiers import SpecifierSet

from app import cli
from app.history.client import _DATABASE_NAME
from app.kafka.launcher import KAFKA_VERSION, _server_properties
from app.settings import Settings, load_settings

REPO = Path(__file__).resolve().parents[2]
LOOPBACK = "127.0.0.1"
CODE_VARIABLE = re.compile(r"DATAAPP_[A-Z0-9_]*[A-Z0-9]")
SECRET_VARIABLE = re.compile(r"DATAAPP_[A-Z0-9_]*(?:KEY|SECRET|PASSWORD|TOKEN)")
# `${NAME:?message}`: compose stops when NAME is unset *or empty*; the code treats an empty
# secret as unset and would quietly make a key of its own per data dir.
REQUIRED = re.compile(r"\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*):\?(?P<message>[^}]+)\}")
# The secrets each DataApp process must share with the other processes of the deployment.
SECRETS_OF = {
    cli._worker: {
        "DATAAPP_TOKEN_KEY",
        # The worker ingests through its API too: one pseudonym per customer needs one key
        # across every process that ingests (`dataapp ingest` from the host included).
        "DATAAPP_PSEUDONYM_KEY",
    },
    cli._dashboard: {"DATAAPP_DASHBOARD_COOKIE_SECRET", "DATAAPP_DASHBOARD_ENCRYPTION_KEY"},
}


# --- reading the files ---------------------------------------------------------------------


def compose() -> dict:
    return yaml.safe_load((REPO / "docker-compose.yml").read_text())


def setup_cfg() -> configparser.ConfigParser:
    parser = configparser.ConfigParser(interpolation=None)
    parser.optionxform = str  # keep the case of keys
    parser.read(REPO / "setup.cfg", encoding="utf-8")
    return parser


def dockerfile() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments), continuation lines joined, comments left out."""
    instructions: list[tuple[str, str]] = []
    current = ""
    for line in (REPO / "Dockerfile").read_text().splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if stripped.endswith("\\"):
            current += stripped[:-1] + " "
            continue
        keyword, _, arguments = (current + stripped).partition(" ")
        instructions.append((keyword.upper(), arguments.strip()))
        current = ""
    assert not current, "the Dockerfile ends inside a continuation line"
    return instructions


def dockerfile_arguments(keyword: str) -> list[str]:
    return [arguments for name, arguments in dockerfile() if name == keyword]


def exec_form(arguments: str) -> list[str] | None:
    """The JSON array of an exec-form instruction, None for the shell form."""
    try:
        value = json.loads(arguments)
    except json.JSONDecodeError:
        return None
    return value if isinstance(value, list) else None


def dockerfile_env() -> dict[str, str]:
    env: dict[str, str] = {}
    for arguments in dockerfile_arguments("ENV"):
        words = shlex.split(arguments)
        if "=" not in words[0]:  # the old `ENV KEY value` form
            env[words[0]] = " ".join(words[1:])
            continue
        env.update(word.split("=", 1) for word in words)
    return env


def top_level_packages() -> list[str]:
    include = setup_cfg()["options.packages.find"]["include"].split()
    packages = [name for name in include if "." not in name and "*" not in name]
    assert packages, "setup.cfg includes no package"
    return packages


def package_files() -> list[Path]:
    """Every file of the packages setup.cfg installs, without caches."""
    return sorted(
        path
        for package in top_level_packages()
        for path in (REPO / package).rglob("*")
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc"
    )


def package_data() -> dict[str, list[str]]:
    section = setup_cfg()["options.package_data"]
    return {
        key: [glob for glob in re.split(r"[,\s]+", value) if glob] for key, value in section.items()
    }


def variables_the_code_reads() -> set[str]:
    names: set[str] = set()
    for package in top_level_packages():
        for path in (REPO / package).rglob("*.py"):
            names |= set(CODE_VARIABLE.findall(path.read_text(encoding="utf-8")))
    # Guards the grep itself: a wrong folder or pattern would find nothing and pass everything.
    assert "DATAAPP_KAFKA_BOOTSTRAP" in names, sorted(names)
    return names


def interpolate(value: Any, environ: dict[str, str] | None = None) -> str:
    """What compose makes of ``value`` with ``environ`` as the shell: defaults applied, a
    required variable that is missing replaced by ``<NAME>``."""
    environ = environ or {}

    def one(match: re.Match[str]) -> str:
        name, operator, word = match.group(1), match.group(2) or "", match.group(3) or ""
        given = environ.get(name)
        if operator.startswith(":") and not given:
            given = None
        if given is not None:
            return given
        if operator.endswith("-"):
            return word
        if operator.endswith("?"):
            return f"<{name}>"
        return ""

    return re.sub(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}", one, str(value))


def environment(service: dict) -> dict[str, str]:
    """A service's environment as written, whether a mapping or a list of KEY=value."""
    raw = service.get("environment") or {}
    if isinstance(raw, list):
        raw = dict(item.split("=", 1) if "=" in item else (item, "") for item in raw)
    return {str(key): "" if value is None else str(value) for key, value in raw.items()}


def command(service: dict) -> list[str]:
    raw = service.get("command") or []
    return shlex.split(raw) if isinstance(raw, str) else [str(word) for word in raw]


def parse_dataapp(words: list[str]) -> argparse.Namespace | None:
    """The arguments of ``dataapp WORDS`` as app/cli.py parses them; None if it refuses."""
    with contextlib.redirect_stderr(io.StringIO()), contextlib.redirect_stdout(io.StringIO()):
        try:
            args = cli._parser().parse_args(words)
        except SystemExit:
            return None
    return args if hasattr(args, "handler") else None


def dataapp_service(spec: dict, handler: Any) -> tuple[str, dict, argparse.Namespace]:
    """The one service that runs the given `dataapp` subcommand."""
    found = [
        (name, service, args)
        for name, service in spec["services"].items()
        if (args := parse_dataapp(command(service))) and args.handler is handler
    ]
    assert len(found) == 1, f"{handler.__name__}: {[name for name, _, _ in found]}"
    return found[0]


def healthcheck(service: dict) -> list[str]:
    test = service["healthcheck"]["test"]
    return shlex.split(test) if isinstance(test, str) else [str(word) for word in test]


def dependencies(service: dict) -> dict[str, str]:
    raw = service.get("depends_on") or {}
    if isinstance(raw, list):
        return dict.fromkeys(raw, "service_started")
    return {name: (spec or {}).get("condition", "service_started") for name, spec in raw.items()}


def published(service: dict) -> list[tuple[str, str, int]]:
    """(host address, host port, container port) of each published port ('' when absent)."""
    ports = []
    for entry in service.get("ports", []):
        if isinstance(entry, dict):
            ip, host = str(entry.get("host_ip", "")), str(entry.get("published", ""))
            ports.append((ip, host, int(entry["target"])))
            continue
        parts = str(entry).split("/", 1)[0].split(":")
        ip, host = (parts[0], parts[1]) if len(parts) == 3 else ("", parts[0] if parts[1:] else "")
        ports.append((ip, host, int(parts[-1])))
    return ports


def settings_in(
    service: dict, monkeypatch: pytest.MonkeyPatch, environ: dict[str, str] | None = None
) -> Settings:
    """The settings a process of the image reads in this service: the Dockerfile's ENV, then
    the service's environment, nothing from this machine."""
    for name in [name for name in os.environ if name.startswith("DATAAPP_")]:
        monkeypatch.delenv(name)
    for name, value in {**dockerfile_env(), **environment(service)}.items():
        monkeypatch.setenv(name, interpolate(value, environ))
    return load_settings()


def reaches(spec: dict, start: str, target: str) -> bool:
    """Whether ``start`` waits for ``target``, directly or through other services."""
    seen, todo = set(), [start]
    while todo:
        name = todo.pop()
        for dependency in dependencies(spec["services"][name]):
            if dependency == target:
                return True
            if dependency not in seen:
                seen.add(dependency)
                todo.append(dependency)
    return False


def docker_pattern(pattern: str) -> re.Pattern[str]:
    """A .dockerignore pattern as a regex over slash-separated paths (Go's filepath.Match
    plus `**`, as the Docker builder reads them)."""
    regex, index = "", 0
    while index < len(pattern):
        if pattern.startswith("**/", index):
            regex, index = regex + "(?:.*/)?", index + 3
        elif pattern.startswith("**", index):
            regex, index = regex + ".*", index + 2
        elif pattern[index] == "*":
            regex, index = regex + "[^/]*", index + 1
        elif pattern[index] == "?":
            regex, index = regex + "[^/]", index + 1
        elif pattern[index] == "[":
            end = pattern.index("]", index)
            regex, index = regex + pattern[index : end + 1], end + 1
        else:
            regex, index = regex + re.escape(pattern[index]), index + 1
    return re.compile(regex)


def dockerignored(path: str) -> bool:
    """Whether .dockerignore keeps ``path`` (relative, slash-separated) out of the context: the
    last pattern that matches it or one of its folders decides."""
    lines = (REPO / ".dockerignore").read_text().splitlines()
    patterns = [line.strip() for line in lines if line.strip() and not line.startswith("#")]
    parts = path.split("/")
    prefixes = ["/".join(parts[: count + 1]) for count in range(len(parts))]
    excluded = False
    for pattern in patterns:
        regex = docker_pattern(pattern.removeprefix("!").strip("/"))
        if any(regex.fullmatch(prefix) for prefix in prefixes):
            excluded = not pattern.startswith("!")
    return excluded


# --- the broker ----------------------------------------------------------------------------


def test_the_broker_image_is_the_version_the_launcher_runs() -> None:
    assert compose()["services"]["kafka"]["image"] == f"apache/kafka:{KAFKA_VERSION}"


def test_the_broker_is_published_on_loopback_only() -> None:
    ports = compose()["services"]["kafka"]["ports"]
    assert ports and all(str(port).startswith("127.0.0.1:") for port in ports)


def test_compose_sets_what_the_development_broker_sets(tmp_path: Path) -> None:
    environment = compose()["services"]["kafka"]["environment"]
    paths = {"logs": tmp_path / "logs"}
    development = dict(
        line.split("=", 1)
        for line in _server_properties(paths, 9092, 9093).splitlines()
        if line and not line.startswith("#")
    )
    for key in (
        "process.roles",
        "group.initial.rebalance.delay.ms",
        "auto.create.topics.enable",
        "offsets.topic.replication.factor",
        "transaction.state.log.replication.factor",
        "transaction.state.log.min.isr",
        "controller.listener.names",
    ):
        variable = "KAFKA_" + key.upper().replace(".", "_")
        assert str(environment[variable]) == development[key], variable
    assert environment["KAFKA_PROCESS_ROLES"] == "broker,controller"


# --- every service -------------------------------------------------------------------------


def test_every_service_has_a_healthcheck_and_named_volumes_exist() -> None:
    spec = compose()
    # A one-shot service (others wait for it to exit 0) has no health to check.
    one_shots = {
        name
        for service in spec["services"].values()
        for name, condition in dependencies(service).items()
        if condition == "service_completed_successfully"
    }
    for name, service in spec["services"].items():
        if name in one_shots:
            assert str(service.get("restart", "no")) == "no", f"{name} runs once: no restart"
        else:
            assert "healthcheck" in service, name
            assert not service["healthcheck"].get("disable"), name
        for volume in service.get("volumes", []):
            assert volume.split(":", 1)[0] in spec["volumes"], volume


def test_every_dependency_can_meet_its_condition() -> None:
    services = compose()["services"]
    for name, service in services.items():
        for dependency, condition in dependencies(service).items():
            assert dependency in services, f"{name} depends on an unknown {dependency}"
            if condition == "service_healthy":
                assert "healthcheck" in services[dependency], f"{name} -> {dependency}"


def test_every_published_port_of_every_service_is_on_loopback() -> None:
    for name, service in compose()["services"].items():
        assert service.get("network_mode") != "host", name
        for ip, host_port, container_port in published(service):
            assert ip == LOOPBACK, f"{name}: port {container_port} is published on {ip or 'all'}"
            assert host_port, f"{name}: port {container_port} gets a random host port"


def test_services_of_the_image_are_built_from_the_dockerfile() -> None:
    services = compose()["services"]
    built = {service["image"] for service in services.values() if "build" in service}
    assert len(built) == 1, f"one image for every DataApp process, not {built}"
    for name, service in services.items():
        runs_dataapp = parse_dataapp(command(service)) is not None
        if not (runs_dataapp or service.get("image") in built or "image" not in service):
            continue
        # Without `build`, compose would pull an image of that name from a registry.
        build = service.get("build")
        assert build, f"{name} uses the DataApp image but does not build it"
        context = build if isinstance(build, str) else build.get("context", ".")
        dockerfile_name = "Dockerfile" if isinstance(build, str) else build.get("dockerfile")
        assert (REPO / context).resolve() == REPO, name
        assert (REPO / context / (dockerfile_name or "Dockerfile")).resolve() == REPO / "Dockerfile"
        assert service["image"] in built, name


def test_other_images_are_pinned() -> None:
    for name, service in compose()["services"].items():
        if "build" in service:
            continue
        image = service["image"]
        tag = image.rsplit(":", 1)[1] if ":" in image.rsplit("/", 1)[-1] else ""
        assert tag and tag != "latest", f"{name}: {image} is not pinned"


def test_the_commands_are_ones_dataapp_accepts() -> None:
    spec = compose()
    # One service each for `dataapp topics`, `dataapp worker` and `dataapp dashboard`.
    for handler in (cli._topics, cli._worker, cli._dashboard):
        name, service, _ = dataapp_service(spec, handler)
        assert service.get("build"), name
    for name, service in spec["services"].items():
        if "build" in service:
            assert parse_dataapp(command(service)), f"dataapp refuses {name}: {command(service)}"


def test_healthchecks_in_the_image_use_what_the_image_has() -> None:
    for name, service in compose()["services"].items():
        if "build" not in service or "healthcheck" not in service:
            continue
        words = healthcheck(service)
        executable = words[1] if words[0] in ("CMD", "CMD-SHELL") else words[0]
        # python:3.11-slim has neither curl nor wget.
        assert executable in ("python", "dataapp"), f"{name}: {executable}"


# --- what the processes read ---------------------------------------------------------------


def test_every_dataapp_variable_named_is_one_the_code_reads() -> None:
    read = variables_the_code_reads()
    for file_name in ("docker-compose.yml", "Dockerfile"):
        named = set(CODE_VARIABLE.findall((REPO / file_name).read_text()))
        assert named, file_name
        assert named <= read, f"{file_name}: the code reads no {sorted(named - read)}"


def test_secrets_have_no_default() -> None:
    spec = compose()
    read = variables_the_code_reads()
    for handler, secrets in SECRETS_OF.items():
        name, service, _ = dataapp_service(spec, handler)
        assert secrets <= read, sorted(secrets - read)
        assert secrets <= environment(service).keys(), f"{name}: {sorted(secrets)}"
    for name, service in spec["services"].items():
        for variable, value in environment(service).items():
            if not SECRET_VARIABLE.fullmatch(variable):
                continue
            required = REQUIRED.fullmatch(value.strip())
            assert required, f"{name}: {variable} must be ${{{variable}:?message}}, not {value!r}"
            assert required["name"] == variable, f"{name}: {variable} from {required['name']}"
    baked = {name for name in dockerfile_env() if SECRET_VARIABLE.fullmatch(name)}
    assert not baked, f"the image would carry {sorted(baked)}"


def test_bootstrap_names_a_listener_kafka_advertises_to_containers(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    spec = compose()
    kafka = spec["services"]["kafka"]
    env = environment(kafka)

    def listeners(variable: str) -> dict[str, tuple[str, int]]:
        entries = (entry.split("://", 1) for entry in env[variable].split(","))
        return {
            name: (address.rsplit(":", 1)[0], int(address.rsplit(":", 1)[1]))
            for name, address in entries
        }

    bound = listeners("KAFKA_LISTENERS")
    advertised = listeners("KAFKA_ADVERTISED_LISTENERS")
    controllers = set(env["KAFKA_CONTROLLER_LISTENER_NAMES"].split(","))
    protocols = dict(
        entry.split(":") for entry in env["KAFKA_LISTENER_SECURITY_PROTOCOL_MAP"].split(",")
    )
    container_names = {"kafka", kafka.get("hostname")}
    users = [
        name
        for name, service in spec["services"].items()
        if "DATAAPP_KAFKA_BOOTSTRAP" in environment(service)
    ]
    assert {"topics", "worker"} <= set(users)
    for name in users:
        bootstrap = settings_in(spec["services"][name], monkeypatch).kafka_bootstrap
        assert bootstrap, name
        host, port = bootstrap.rsplit(":", 1)
        matching = [
            listener
            for listener, address in advertised.items()
            if address == (host, int(port)) and listener not in controllers
        ]
        assert matching, f"{name}: kafka advertises no {bootstrap} ({advertised})"
        assert host in container_names, f"{name}: {host} is not kafka on the compose network"
        assert bound[matching[0]][1] == int(port), f"{name}: kafka does not listen on {port}"
        # DataApp's clients speak plain Kafka: no TLS, no SASL.
        assert protocols[matching[0]] == "PLAINTEXT", f"{name}: {matching[0]}"
        assert reaches(spec, name, "kafka"), f"{name} does not wait for kafka"


def test_the_dashboard_reads_the_api_of_the_worker(monkeypatch: pytest.MonkeyPatch) -> None:
    spec = compose()
    worker_name, worker, worker_args = dataapp_service(spec, cli._worker)
    _, dashboard, dashboard_args = dataapp_service(spec, cli._dashboard)
    web_port = settings_in(worker, monkeypatch).web_port

    api = urlsplit(dashboard_args.api_url or "")
    assert (api.scheme, api.hostname, api.port) == ("http", worker_name, web_port), api.geturl()
    assert worker_args.host not in ("127.0.0.1", "localhost", "::1"), "no other container"
    assert dependencies(dashboard).get(worker_name) == "service_healthy"
    assert web_port in [container for _, _, container in published(worker)]
    assert f":{web_port}/readyz" in " ".join(healthcheck(worker))

    settings_in(dashboard, monkeypatch)
    port = dashboard_args.port or cli._dashboard_port()
    # views/server.py accepts websockets from localhost and 127.0.0.1 *on its own port*: a
    # different host port would serve the pages and break every live update.
    assert [(host, container) for _, host, container in published(dashboard)] == [(str(port), port)]
    assert f":{port}/liveness" in " ".join(healthcheck(dashboard))


def test_the_history_is_the_clickhouse_service(monkeypatch: pytest.MonkeyPatch) -> None:
    spec = compose()
    worker_name, worker, _ = dataapp_service(spec, cli._worker)
    clickhouse_names = [
        name
        for name, service in spec["services"].items()
        if str(service.get("image", "")).startswith("clickhouse/clickhouse-server:")
    ]
    assert len(clickhouse_names) == 1, clickhouse_names
    clickhouse = spec["services"][clickhouse_names[0]]
    # Defaults, then values from the shell: the worker must follow the same variables.
    for environ in ({}, {"CLICKHOUSE_USER": "someone", "CLICKHOUSE_PASSWORD": "s3cr3t"}):
        dsn = urlsplit(settings_in(worker, monkeypatch, environ).clickhouse_dsn)
        server = {
            key: interpolate(value, environ) for key, value in environment(clickhouse).items()
        }
        assert dsn.scheme == "http", dsn.geturl()
        assert (dsn.hostname, dsn.port) == (clickhouse_names[0], 8123), dsn.geturl()
        assert unquote(dsn.username or "") == server["CLICKHOUSE_USER"]
        assert unquote(dsn.password or "") == server["CLICKHOUSE_PASSWORD"]
        assert _DATABASE_NAME.match(unquote(dsn.path.strip("/")) or "default"), dsn.path
    assert reaches(spec, worker_name, clickhouse_names[0])


# --- the image -----------------------------------------------------------------------------


def test_the_entrypoint_is_the_dataapp_console_script() -> None:
    scripts = dict(
        (part.strip() for part in line.split("=", 1))
        for line in setup_cfg()["options.entry_points"]["console_scripts"].splitlines()
        if line.strip()
    )
    entrypoints = dockerfile_arguments("ENTRYPOINT")
    assert len(entrypoints) == 1, entrypoints
    # The exec form: with the shell form, docker drops the arguments of `command:`.
    assert exec_form(entrypoints[0]) == ["dataapp"], entrypoints[0]
    module, function = scripts["dataapp"].split(":")
    assert callable(getattr(importlib.import_module(module), function))


def test_the_image_copies_what_setup_cfg_builds_from() -> None:
    parser = setup_cfg()
    referenced = [
        name.strip()
        for section in parser.sections()
        for value in parser[section].values()
        if value.strip().startswith("file:")
        for name in value.strip().removeprefix("file:").split(",")
    ]
    needed = ["setup.cfg", "pyproject.toml", *referenced]
    needed += [path.relative_to(REPO).as_posix() for path in package_files()]
    sources = []
    for arguments in dockerfile_arguments("COPY"):
        words = exec_form(arguments) or shlex.split(arguments)
        words = [word for word in words if not word.startswith("--")]
        sources += [word.removeprefix("./").rstrip("/") for word in words[:-1]]
    for path in needed:
        assert (REPO / path).is_file(), path
        assert any(path == source or path.startswith(source + "/") for source in sources), path
        assert not dockerignored(path), f".dockerignore keeps {path} out of the image"
    runs = [shlex.split(arguments) for arguments in dockerfile_arguments("RUN")]
    assert any(words[-3:] == ["install", "--no-cache-dir", "."] for words in runs), runs

    base = dockerfile_arguments("FROM")[-1]
    version = re.fullmatch(r"python:(\d+\.\d+)[-.\w]*", base)
    assert version, base
    assert SpecifierSet(parser["options"]["python_requires"]).contains(version[1] + ".0"), base


def test_the_image_runs_as_a_user_with_its_data_dir_on_a_volume(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    users = dockerfile_arguments("USER")
    assert users and users[-1].split(":")[0] not in ("root", "0"), users
    assert any(
        "useradd" in run and users[-1].split(":")[0] in run for run in dockerfile_arguments("RUN")
    )
    data_dir = dockerfile_env()["DATAAPP_DATA_DIR"]
    volumes = []
    for arguments in dockerfile_arguments("VOLUME"):
        volumes += exec_form(arguments) or arguments.split()
    assert data_dir in volumes, volumes

    # The worker's state (tables, ledgers, users, keys) must outlive its container.
    _, worker, _ = dataapp_service(compose(), cli._worker)
    settings = settings_in(worker, monkeypatch)
    mounts = [volume.split(":")[1] for volume in worker.get("volumes", [])]
    assert str(settings.data_dir) in mounts, mounts


def test_dockerignore_keeps_local_state_out() -> None:
    for path in (
        ".venv/bin/python",
        ".data/secrets/token.key",
        ".env",
        "test-output/report.xml",
        ".git/HEAD",
        ".pytest_cache/README.md",
        ".ruff_cache/CACHEDIR.TAG",
        ".hypothesis/examples/x",
        "app/__pycache__/cli.cpython-311.pyc",
        "dataapp.egg-info/PKG-INFO",
    ):
        assert dockerignored(path), path


def test_every_package_data_glob_matches_a_file() -> None:
    for package, globs in package_data().items():
        folder = REPO / package.replace(".", "/")
        assert (folder / "__init__.py").is_file(), f"{package} is not a package"
        for pattern in globs:
            assert any(path.is_file() for path in folder.glob(pattern)), f"{package}: {pattern}"


def test_every_file_the_packages_hold_is_installed() -> None:
    shipped = {
        path
        for package, globs in package_data().items()
        for pattern in globs
        for path in (REPO / package.replace(".", "/")).glob(pattern)
    }
    for path in package_files():
        if path.suffix == ".py":
            # `packages = find:` installs only folders with an __init__.py.
            assert (path.parent / "__init__.py").is_file(), path.relative_to(REPO)
        else:
            assert path in shipped, f"{path.relative_to(REPO)} is not in [options.package_data]"
