"""The ``dataapp`` command: thin wrappers that parse arguments and call the library."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import signal
import subprocess
import sys
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from app.settings import DEFAULT_KAFKA_PORT, Settings, load_settings

if TYPE_CHECKING:
    from app.generator.stream import DemoStart
    from app.ingest.mapping import SalesMapping
    from app.ingest.pipeline import IngestSummary
    from app.ingest.readers import Source
    from app.kafka.launcher import BrokerStatus

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
DEMO_STORES = 8


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if not args.verbose:
        # aiokafka logs every refused connection as an error; our own messages say it better.
        logging.getLogger("aiokafka").setLevel(logging.CRITICAL)
    if not hasattr(args, "handler"):
        parser.print_help()
        return EXIT_USAGE
    from app.ingest.kafka_sink import BrokerUnavailableError
    from app.ingest.ledger import LedgerBusyError
    from app.kafka.admin import KafkaUnavailableError, TopicCreationError

    try:
        return int(args.handler(args, load_settings()))
    except (
        KafkaUnavailableError,
        TopicCreationError,
        BrokerUnavailableError,
        LedgerBusyError,
    ) as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="dataapp", description="DataApp: real-time sales intelligence for retail chains."
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug details")
    commands = parser.add_subparsers(metavar="COMMAND")

    kafka = commands.add_parser("kafka", help="run the local single-node Kafka broker")
    kafka_commands = kafka.add_subparsers(metavar="ACTION", required=True)
    up = kafka_commands.add_parser("up", help="start the broker (idempotent)")
    up.add_argument("--port", type=int, default=DEFAULT_KAFKA_PORT)
    up.add_argument("--data-dir", type=Path, help="default: $DATAAPP_DATA_DIR/kafka")
    up.set_defaults(handler=_kafka_up)
    down = kafka_commands.add_parser("down", help="stop the broker this data dir started")
    down.add_argument("--data-dir", type=Path)
    down.set_defaults(handler=_kafka_down)
    status = kafka_commands.add_parser("status", help="is the broker running, and where")
    status.add_argument("--data-dir", type=Path)
    status.set_defaults(handler=_kafka_status)

    topics = commands.add_parser("topics", help="create DataApp's topics where missing")
    topics.set_defaults(handler=_topics)

    ingest = commands.add_parser(
        "ingest", help="validate sales files (CSV, JSON Lines, JSON) and publish them to Kafka"
    )
    ingest.add_argument("paths", nargs="+", metavar="PATH", help="files, folders, or - (stdin)")
    ingest.add_argument(
        "--mapping", default=None, help="mapping YAML, or a shipped one by name (online-retail)"
    )
    ingest.add_argument("--json", action="store_true", help="end with a JSON summary line")
    ingest.add_argument(
        "--dry-run", action="store_true", help="validate and count, publish nothing"
    )
    ingest.add_argument("--no-progress", action="store_true", help="no progress bar")
    ingest.set_defaults(handler=_ingest)

    generate = commands.add_parser("generate", help="synthetic sales of a Brazilian chain")
    generate.add_argument("--seed", type=int, default=7)
    generate.add_argument("--stores", type=int, default=8)
    generate.add_argument("--out", type=Path, help="write files to this folder")
    generate.add_argument("--days", type=int, default=7, help="with --out: days of history")
    generate.add_argument("--start", help="with --out: first day, YYYY-MM-DD (default: --days ago)")
    generate.add_argument("--orders-per-day", type=int, default=4000)
    generate.add_argument(
        "--rate", type=float, help="stream live orders to Kafka at this many orders per second"
    )
    generate.add_argument("--duration", type=float, help="with --rate: stop after N seconds")
    generate.set_defaults(handler=_generate)

    run = commands.add_parser(
        "run",
        help="broker + worker and API + dashboards + a demo chain: 90 days of history on the "
        "first start, then live sales at the chain's own pace",
    )
    run.add_argument("--port", type=int, default=DEFAULT_KAFKA_PORT)
    run.add_argument(
        "--rate",
        type=float,
        default=None,
        help="stream this many orders per second instead of the model's pace (benchmarks)",
    )
    run.add_argument(
        "--orders-per-day",
        type=int,
        default=None,
        help="chain-wide orders on an average day (default: the data dir's history's, else 2,500)",
    )
    run.add_argument(
        "--history-days",
        type=int,
        default=90,
        help="days of history published on the first start (0: none)",
    )
    run.add_argument("--seed", type=int, default=7)
    run.set_defaults(handler=_run)

    worker = commands.add_parser(
        "worker", help="the Faust worker: live aggregates, ClickHouse history, lookup API"
    )
    worker.add_argument(
        "--host",
        default="127.0.0.1",
        help="address the API listens on and announces to other workers (default 127.0.0.1)",
    )
    worker.add_argument(
        "--advertise",
        default=None,
        help="host name other workers reach this one by (default: DATAAPP_ADVERTISED_HOST, "
        "else --host); needed when --host is 0.0.0.0",
    )
    worker.add_argument("--loglevel", default="warning", help="Faust's log level")
    worker.set_defaults(handler=_worker)

    dashboard = commands.add_parser(
        "dashboard", help="the Panel dashboards for managers and sellers (reads the lookup API)"
    )
    dashboard.add_argument("--host", default="127.0.0.1", help="address to listen on")
    dashboard.add_argument(
        "--port", type=int, default=None, help="default: DATAAPP_DASHBOARD_PORT or 5006"
    )
    dashboard.add_argument(
        "--api-url",
        default=None,
        help="the lookup API (default: DATAAPP_API_URL or this machine's worker)",
    )
    dashboard.set_defaults(handler=_dashboard)

    from app.api import users_cli

    users_cli.register(commands)
    return parser


def _worker(args: argparse.Namespace, settings: Settings) -> int:
    """Run the worker in the foreground until SIGINT/SIGTERM."""
    import os

    from faust import Worker

    from app.worker import build_worker

    advertised = args.advertise or os.environ.get("DATAAPP_ADVERTISED_HOST") or args.host
    worker = build_worker(
        settings, bootstrap_of(settings), web_host=args.host, advertised_host=advertised
    )
    print(
        f"DataApp worker: API on http://{args.host}:{settings.web_port}/api/v1 "
        f"(OpenAPI: /api/v1/openapi.json), history in {settings.clickhouse_dsn.split('@')[-1]}",
        flush=True,
    )
    faust_worker = Worker(worker.app, loglevel=args.loglevel, quiet=True)
    faust_worker.execute_from_commandline()
    return EXIT_OK


def _dashboard(args: argparse.Namespace, settings: Settings) -> int:
    """Serve the dashboards in the foreground until SIGINT/SIGTERM."""
    import os

    from views.server import serve

    port = args.port or _dashboard_port()
    api_url = args.api_url or os.environ.get(
        "DATAAPP_API_URL", f"http://127.0.0.1:{settings.web_port}"
    )
    print(f"DataApp dashboards on http://{args.host}:{port}/ (API: {api_url})", flush=True)
    serve(
        api_url,
        port=port,
        address=args.host,
        cookie_secret=os.environ.get("DATAAPP_DASHBOARD_COOKIE_SECRET"),
        encryption_key=os.environ.get("DATAAPP_DASHBOARD_ENCRYPTION_KEY"),
    )
    return EXIT_OK


# --- kafka ---------------------------------------------------------------------------------


def _kafka_data_dir(args: argparse.Namespace, settings: Settings) -> Path:
    return (args.data_dir or settings.kafka_data_dir).resolve()


def _start_broker(settings: Settings, data_dir: Path, port: int) -> BrokerStatus | None:
    """The configured broker if there is one, else the local one, started if need be; None
    (with the reason printed) when neither answers."""
    from app.kafka.launcher import LauncherError, broker_up, resolve_external

    try:
        if settings.kafka_bootstrap:
            return resolve_external(settings.kafka_bootstrap)
        return broker_up(data_dir, settings.cache_dir, port)
    except LauncherError as error:
        print(f"error: {error}", file=sys.stderr)
        return None


def _kafka_up(args: argparse.Namespace, settings: Settings) -> int:
    status = _start_broker(settings, _kafka_data_dir(args, settings), args.port)
    if status is None:
        return EXIT_FAILED
    print(status.message)
    return EXIT_OK if status.running else EXIT_FAILED


def _kafka_down(args: argparse.Namespace, settings: Settings) -> int:
    from app.kafka.launcher import broker_down

    if settings.kafka_bootstrap:
        print(f"DATAAPP_KAFKA_BOOTSTRAP={settings.kafka_bootstrap}: not ours to stop")
        return EXIT_OK
    print(broker_down(_kafka_data_dir(args, settings)).message)
    return EXIT_OK


def _kafka_status(args: argparse.Namespace, settings: Settings) -> int:
    from app.kafka.launcher import broker_status, resolve_external

    if settings.kafka_bootstrap:
        status = resolve_external(settings.kafka_bootstrap)
    else:
        status = broker_status(_kafka_data_dir(args, settings))
    print(status.message)
    return EXIT_OK if status.running else EXIT_FAILED


def bootstrap_of(settings: Settings) -> str:
    """The broker every command talks to: the configured one, else the launcher's."""
    if settings.kafka_bootstrap:
        return settings.kafka_bootstrap
    from app.kafka.launcher import broker_status

    status = broker_status(settings.kafka_data_dir)
    if not status.running or not status.bootstrap:
        raise SystemExit(
            "error: no Kafka broker: run 'dataapp kafka up' (or make run), "
            "or set DATAAPP_KAFKA_BOOTSTRAP=host:port"
        )
    return status.bootstrap


def _topics(args: argparse.Namespace, settings: Settings) -> int:
    from app.kafka.admin import ensure_topics

    created = asyncio.run(
        ensure_topics(
            bootstrap_of(settings),
            settings.topics.all,
            settings.kafka_timeout_ms,
            settings.kafka_replication,
        )
    )
    print(f"created: {', '.join(created)}" if created else "all topics exist")
    return EXIT_OK


# --- ingest --------------------------------------------------------------------------------


def _ingest(args: argparse.Namespace, settings: Settings) -> int:
    from app.ingest.mapping import MappingError, load_mapping
    from app.ingest.readers import SourceNotFound, expand_paths

    try:
        mapping = load_mapping(args.mapping)
        sources = expand_paths(args.paths)
    except (MappingError, SourceNotFound) as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_USAGE
    bootstrap = None if args.dry_run else bootstrap_of(settings)
    from app.ingest.pipeline import tune_gc_for_ingest

    tune_gc_for_ingest()
    return asyncio.run(_ingest_async(args, settings, mapping, sources, bootstrap))


async def _ingest_async(
    args: argparse.Namespace,
    settings: Settings,
    mapping: SalesMapping,
    sources: list[Source],
    bootstrap: str | None,
) -> int:
    from app.ingest.kafka_sink import BrokerUnavailableError, KafkaSalesSink
    from app.ingest.ledger import LedgerBusyError
    from app.ingest.memory import MemorySink
    from app.ingest.pipeline import IngestPipeline
    from app.ingest.progress import ByteProgress

    total = sum(source.size or 0 for source in sources)
    with ByteProgress(total, disabled=args.no_progress) as progress:
        sink = (
            MemorySink() if bootstrap is None else KafkaSalesSink.from_settings(bootstrap, settings)
        )
        pipeline = IngestPipeline(mapping, sink, settings.pseudonym_key(), on_bytes=progress.add)
        problems = pipeline.preflight(sources)
        if problems:
            for problem in problems:
                print(f"error: {problem}", file=sys.stderr)
            print("nothing was sent: fix the files or the mapping and run again", file=sys.stderr)
            return EXIT_USAGE
        try:
            if isinstance(sink, KafkaSalesSink):
                await sink.start()
            summary = await pipeline.ingest(sources)
        except (BrokerUnavailableError, LedgerBusyError) as error:
            print(f"error: {error}", file=sys.stderr)
            return EXIT_FAILED
        finally:
            if isinstance(sink, KafkaSalesSink):
                await sink.stop()
    where = (
        "none sent (dry run)"
        if bootstrap is None
        else f"topic {settings.topics.sales_rejected.name} (each sent once, not again on re-runs)"
    )
    _print_summary(summary, as_json=args.json, rejected_to=where)
    return EXIT_FAILED if summary.failures else EXIT_OK


def _print_summary(summary: IngestSummary, as_json: bool, rejected_to: str) -> None:
    out = sys.stderr if as_json else sys.stdout
    for rejection in summary.first_rejections[:10]:
        print(
            f"rejected {rejection.source}:{rejection.line_number}: "
            f"{rejection.reason}: {rejection.detail}",
            file=sys.stderr,
        )
    if summary.rejected > 10:
        print(f"... and {summary.rejected - 10} more; dead letters: {rejected_to}", file=sys.stderr)
    for failure in summary.failures:
        print(f"error: {failure}", file=sys.stderr)
    print(
        f"read {summary.read:,} rows from {summary.sources} source(s): "
        f"{summary.accepted:,} accepted, {summary.duplicates:,} duplicates, "
        f"{summary.rejected:,} rejected",
        file=out,
    )
    for reason, count in summary.rejected_by_reason.most_common():
        print(f"  {reason}: {count:,}", file=out)
    if as_json:
        print(json.dumps(summary.to_dict(), ensure_ascii=False), flush=True)


# --- generate and run ----------------------------------------------------------------------


def _generate(args: argparse.Namespace, settings: Settings) -> int:
    from app.generator.stream import stream_live, write_history

    if args.rate:
        bootstrap = bootstrap_of(settings)
        return asyncio.run(
            stream_live(bootstrap, settings, args.seed, args.stores, args.rate, args.duration)
        )
    if not args.out:
        print("error: give --out DIR (files) or --rate N (stream to Kafka)", file=sys.stderr)
        return EXIT_USAGE
    written = write_history(
        args.out, args.seed, args.stores, args.days, args.start, args.orders_per_day
    )
    for kind, path in written.items():
        print(f"{kind}: {path}")
    return EXIT_OK


def _run(args: argparse.Namespace, settings: Settings) -> int:
    """Everything on the embedded defaults, until Ctrl-C: broker, worker (aggregates,
    history, API), dashboards, and the demo chain's sales (its history on the first start,
    then live). A broker this command started is stopped with it, one that was already
    running is left running."""
    from app.generator.stream import prepare_demo, run_demo
    from app.kafka.launcher import broker_down

    status = _start_broker(settings, settings.kafka_data_dir, args.port)
    if status is None:
        return EXIT_FAILED
    started_here = status.started
    bootstrap = status.bootstrap or ""
    password = _demo_admin(settings)
    logins = _demo_store_users(settings, args.seed)
    worker = _start_worker(settings, bootstrap)
    dashboard: subprocess.Popen[bytes] | None = None
    try:
        api = f"http://127.0.0.1:{settings.web_port}"
        if not _wait_until_ready(worker, api + "/readyz", timeout=180):
            print(
                f"error: the worker did not become ready; see {_worker_log(settings)}",
                file=sys.stderr,
            )
            return EXIT_FAILED
        dashboard = _start_process(settings, bootstrap, "dashboard", _dashboard_log(settings))
        board = f"http://127.0.0.1:{_dashboard_port()}"
        if not _wait_until_ready(dashboard, board + "/liveness", timeout=60):
            print(
                f"error: the dashboard did not start; see {_dashboard_log(settings)}",
                file=sys.stderr,
            )
            return EXIT_FAILED
        demo = asyncio.run(
            prepare_demo(
                bootstrap,
                settings,
                args.seed,
                DEMO_STORES,
                args.orders_per_day,
                args.history_days,
                args.rate,
            )
        )
        stop_hint = _stop_hint(started_here, backfilling=demo.history is not None)
        plans = _demo_plans(api, password, args.seed, demo.live_start, args.history_days)
        print(
            "DataApp is running:\n"
            f"  Kafka broker     {bootstrap}  (log: {status.log_file or 'external'})\n"
            f"  worker and API   {api}/api/v1  (OpenAPI: {api}/api/v1/openapi.json, "
            f"log: {_worker_log(settings)})\n"
            f"  demo admin login admin / {password}   "
            f'(curl -X POST {api}/api/v1/auth/token -d \'{{"username":"admin",'
            f'"password":"{password}"}}\')\n'
            f"  dashboards       {board}/  (log: {_dashboard_log(settings)})\n"
            f"    manager login  {logins['manager']}   ({DEMO_MANAGER_NAME}, manager of "
            f"{logins['store_name']}, store {logins['store']})\n"
            f"    seller login   {logins['seller']}   ({logins['seller_name']}, "
            f"seller {logins['seller_id']})\n"
            f"  data dir         {settings.data_dir}\n"
            f"  pay plans        {plans}\n"
            f"  live sales       {demo.pace}\n"
            f"                   into topic '{settings.topics.sales.name}'; about 1 line in 500 "
            f"is broken on purpose (demo faults) and goes to "
            f"'{settings.topics.sales_rejected.name}'\n"
            f"  history          {_history_line(demo, settings)}\n"
            f"{stop_hint}",
            flush=True,
        )
        signal.signal(signal.SIGTERM, _interrupt)
        try:
            return asyncio.run(
                run_demo(bootstrap, settings, args.seed, DEMO_STORES, demo, args.rate)
            )
        except KeyboardInterrupt:
            print("\nstopped the generator", file=sys.stderr, flush=True)
            return EXIT_OK
    finally:
        if dashboard is not None:
            _stop_process(dashboard, "dashboard")
        _stop_process(worker, "worker")
        if started_here:
            print(broker_down(settings.kafka_data_dir).message, file=sys.stderr)


def _stop_hint(started_here: bool, backfilling: bool) -> str:
    """The banner's last line: everything Ctrl-C stops, and what it leaves running."""
    stoppable = "the live generator" + (" and the history backfill" if backfilling else "")
    if started_here:
        return f"Ctrl-C stops {stoppable}, the dashboards, the worker and the broker."
    return (
        f"Ctrl-C stops {stoppable}, the dashboards and the worker; the broker, which was "
        "already running, keeps running (`dataapp kafka down` stops it)."
    )


def _history_line(demo: DemoStart, settings: Settings) -> str:
    """The banner's words on the demo's history: being published, or already there."""
    from app.generator.stream import history_file

    plan = demo.history
    if plan is not None:
        orders = plan.orders_per_day * plan.days
        what = (
            "resuming what an interrupted start began (what got through is not sent again):"
            if demo.resumed
            else "first start:"
        )
        return (
            f"{what} publishing the {plan.days} days before {plan.end:%Y-%m-%d %H:%M} UTC "
            f"(about {orders:,} orders)\n"
            "                   in the background, progress below: the dashboards fill in as "
            "the worker takes it in (a few minutes);\n"
            f"                   once done, {history_file(settings.data_dir)} records it and "
            "later starts skip it"
        )
    if demo.existing is not None:
        done = demo.existing
        return (
            f"{done.days} days up to {done.end:%Y-%m-%d %H:%M} UTC, published at an earlier "
            f"start ({history_file(settings.data_dir)})"
        )
    return "none (--history-days 0)"


def _demo_admin(settings: Settings) -> str:
    """A fresh random password for the demo admin at every start: printed, never stored."""
    import secrets

    from app.api.auth import UserStore

    password = secrets.token_urlsafe(12)
    UserStore(settings.users_file).add("admin", password, "admin", replace=True)
    return password


DEMO_MANAGER_NAME = "Marina Costa"


def _demo_plans(
    api: str, admin_password: str, seed: int, live_start: datetime, history_days: int
) -> str:
    """The chain's commission plans (``app/generator/plans.py``) saved through the API for
    every store that has none, from the first month of the history, so the pay pages show
    something true at once; a plan a manager edited is never replaced. Returns the banner's
    words."""
    import urllib.request
    from datetime import timedelta

    from app.generator.chain import build_chain
    from app.generator.plans import demo_plans

    def call(method: str, path: str, body: Any = None, token: str | None = None) -> Any:
        request = urllib.request.Request(
            api + path,
            method=method,
            data=None if body is None else json.dumps(body).encode(),
            headers={"Content-Type": "application/json"}
            | ({"Authorization": f"Bearer {token}"} if token else {}),
        )
        with urllib.request.urlopen(request, timeout=30) as answer:
            return json.loads(answer.read())

    chain = build_chain(seed, stores=DEMO_STORES)
    first = (live_start - timedelta(days=history_days)).date().replace(day=1)
    saved = 0
    try:
        token = call(
            "POST", "/api/v1/auth/token", {"username": "admin", "password": admin_password}
        )["access_token"]
        for store in chain.stores:
            path = f"/api/v1/stores/{store.store_id}/plan"
            if call("GET", path, token=token)["versions"]:
                continue
            for version in demo_plans(chain, store.store_id, first):
                call("PUT", path, version, token)
            saved += 1
    except (OSError, KeyError, ValueError) as error:
        return f"could not save the demo's plans ({error}); the pay pages say so"
    if saved == 0:
        return "each store's commission plan is already saved (PUT /api/v1/stores/S/plan edits it)"
    return (
        f"saved for {saved} stores from {first:%Y-%m-%d}: base R$ 1.800 + 2-4.5% of revenue, "
        "more past a threshold (docs/pay.md)"
    )


def _demo_store_users(settings: Settings, seed: int) -> dict[str, str]:
    """A demo manager of the generator's first store and a demo seller of it, with fresh
    random passwords: ``username / password`` as printed, plus the store and seller ids."""
    import secrets

    from app.api.auth import UserStore
    from app.generator.chain import build_chain

    chain = build_chain(seed, stores=DEMO_STORES)
    store = chain.stores[0]
    seller = next(s for s in chain.sellers if s.store_id == store.store_id)
    users = UserStore(settings.users_file)
    logins = {
        "store": store.store_id,
        "store_name": store.name,
        "seller_id": seller.seller_id,
        "seller_name": seller.display_name,
    }
    # The seller's name comes from the reference data; the manager is no seller, so the
    # demo gives the login a name of its own (what the pages greet).
    names = {"manager": DEMO_MANAGER_NAME, "seller": None}
    for username, role in (("gerente", "manager"), ("vendedor", "seller")):
        password = secrets.token_urlsafe(9)
        users.add(
            username,
            password,
            role,
            store_id=store.store_id,
            seller_id=seller.seller_id if role == "seller" else None,
            display_name=names[role],
            replace=True,
        )
        logins[role] = f"{username} / {password}"
    return logins


def _worker_log(settings: Settings) -> Path:
    return settings.data_dir / "worker.log"


def _dashboard_port() -> int:
    import os

    from views.server import DEFAULT_PORT

    return int(os.environ.get("DATAAPP_DASHBOARD_PORT", DEFAULT_PORT))


def _dashboard_log(settings: Settings) -> Path:
    return settings.data_dir / "dashboard.log"


def _start_worker(settings: Settings, bootstrap: str) -> subprocess.Popen[bytes]:
    return _start_process(settings, bootstrap, "worker", _worker_log(settings))


def _start_process(
    settings: Settings, bootstrap: str, command: str, log_path: Path
) -> subprocess.Popen[bytes]:
    import os

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    environment = {**os.environ, "DATAAPP_KAFKA_BOOTSTRAP": bootstrap}
    with log_path.open("ab") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "app", command],
            env=environment,
            stdout=log,
            stderr=subprocess.STDOUT,
            # Its own process group: Ctrl-C reaches the generator, which then stops the
            # worker in order (SIGTERM), rather than both dying at once.
            start_new_session=True,
        )


def _wait_until_ready(worker: subprocess.Popen[bytes], url: str, timeout: float) -> bool:
    import time
    import urllib.error
    import urllib.request

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and worker.poll() is None:
        try:
            with urllib.request.urlopen(url, timeout=2) as answer:
                if answer.status == 200:
                    return True
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.5)
    return False


def _stop_process(process: subprocess.Popen[bytes], name: str) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    print(f"stopped the {name}", file=sys.stderr)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


if __name__ == "__main__":
    sys.exit(main())
