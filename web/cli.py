"""The ``qimatch`` command: run the service, its parts, and the batch matcher."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import click

from matcher.config import Settings, matching_from_env


def _celery(*args: str) -> list[str]:
    return [sys.executable, "-m", "celery", "-A", "workers.app:celery_app", *args]


@click.group()
def main() -> None:
    """qimatch: involvement matching for QI projects."""


@main.command()
def migrate() -> None:
    """Bring the database to the current schema."""
    from matcher.bootstrap import bootstrap

    bootstrap(Settings.from_env(), migrate_database=True)
    click.echo("database is up to date")


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--concurrency", default=2, show_default=True, type=int, help="worker processes")
@click.option("--verbose", is_flag=True, help="every process's log lines, not just what a person cares about")
def up(host: str, port: int, concurrency: int, verbose: bool) -> None:
    """The whole service on this machine: web, a Celery worker and the scheduler.

    Quiet by default: one line on start, then one line per thing that happened (a request,
    suggestions, an email sent). The processes' own log lines go to <data folder>/logs.
    """
    import logging

    settings = Settings.from_env()
    os.environ.setdefault("QIMATCH_DATA_DIR", str(settings.data_dir))
    os.environ.setdefault("QIMATCH_SECRET_KEY", settings.secret_key)
    base = f"http://{host}:{port}"
    os.environ.setdefault("QIMATCH_BASE_URL", base)
    settings = Settings.from_env()
    _metrics_dir(settings, fresh=True)  # before prometheus_client is imported; this command owns every process
    logs = settings.data_dir / "logs"
    logs.mkdir(parents=True, exist_ok=True)

    from werkzeug.serving import run_simple

    from matcher.adapters import log_lines
    from web import story
    from web.app import create_app
    from workers.wiring import wire

    log_lines.configure(settings.log_format, "web", logging.INFO if verbose else logging.WARNING)
    # The development-server warning: true in general, said below with the reason it is fine here.
    logging.getLogger("werkzeug").addFilter(lambda record: "development server" not in record.getMessage())
    logging.getLogger("werkzeug").setLevel(logging.INFO if verbose else logging.WARNING)
    if settings.broker_url.startswith("filesystem://"):
        # kombu warns that a filesystem URL names no host: true, and nothing to do about it.
        logging.getLogger("kombu.connection").setLevel(logging.ERROR)
    services = wire(settings, migrate_database=True)
    app = create_app(services_=services)

    def child(name: str, *args: str) -> subprocess.Popen[bytes]:
        if verbose:
            return subprocess.Popen(_celery(*args))
        out = open(logs / f"{name}.log", "ab")  # noqa: SIM115 - lives with the child
        return subprocess.Popen(_celery(*args), stdout=out, stderr=subprocess.STDOUT)

    children = [
        child("worker", "worker", "--loglevel=INFO", f"--concurrency={concurrency}", "-n", "qimatch@%h"),
        child("beat", "beat", "--loglevel=INFO", "--schedule", str(settings.data_dir / "celerybeat-schedule")),
    ]

    def stop(*_: object) -> None:
        for proc in children:
            if proc.poll() is None:
                proc.terminate()  # warm shutdown: running tasks finish first
        for proc in children:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()  # safe: tasks are idempotent and the database keeps the work
        sys.exit(0)

    signal.signal(signal.SIGTERM, stop)
    from matcher.services import coordinators

    has_coordinator = coordinators.any_coordinator(services.uow())
    emails = f"SMTP {_safe(settings.smtp_url)}" if settings.smtp_url else f"files in {settings.mail_dir}"
    sign_in = (
        f"sign in at {base}/coordinator/sign-in"
        if has_coordinator
        else "no coordinator yet: qimatch create-coordinator --email you@example.nhs.uk --area <area>"
    )
    click.echo(
        f"qimatch is running at {base}/ (API docs {base}/api/docs); emails go to {emails}; {sign_in};"
        f" logs in {logs}{'' if verbose else ' (--verbose to show them)'}; Ctrl-C stops it."
        " Served by Werkzeug's development server, which is fine for one machine and a few people;"
        " `qimatch web` serves a trust under gunicorn."
    )
    assert services.engine is not None
    sys.stdout.flush()

    def say(line: str) -> None:
        click.echo(f"  {line}")
        sys.stdout.flush()  # a log file or a pipe sees each line as it happens

    story.follow(services.engine, say)
    try:
        run_simple(host, port, app, threaded=True, use_reloader=False)
    finally:
        stop()


def _metrics_dir(settings: Settings, fresh: bool = False) -> None:
    """PROMETHEUS_MULTIPROC_DIR, <data folder>/metrics unless set: every process's counters
    go there and /metrics sums them. Emptied only by the command that starts them all."""
    import shutil
    from pathlib import Path

    chosen = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    folder = Path(chosen) if chosen else settings.data_dir / "metrics"
    if fresh and not chosen and folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True, exist_ok=True)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(folder)


# gunicorn's threaded workers: a submission spends most of its time waiting on PostgreSQL
# and Redis, so each process serves several at once (README, "Why gthread").
WEB_WORKERS = 2
WEB_THREADS = 8
GUNICORN_LOGGER = "web.gunicorn_logging.RedactingLogger"


def gunicorn_argv(wsgi_app: str, host: str, port: int, workers: int, threads: int) -> list[str]:
    """What follows ``python -m gunicorn`` for the web app (and for anything measured against it).

    The logger class keeps query strings (searches hold names and addresses) and link
    secrets out of gunicorn's access and error logs, whatever access-log format is set.
    """
    return [
        "-k",
        "gthread",
        "-w",
        str(workers),
        "--threads",
        str(threads),
        "-b",
        f"{host}:{port}",
        "--logger-class",
        GUNICORN_LOGGER,
        wsgi_app,
    ]


@main.command()
@click.option("--host", default="0.0.0.0", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--workers", default=WEB_WORKERS, show_default=True, type=int, help="processes")
@click.option("--threads", default=WEB_THREADS, show_default=True, type=int, help="threads per process")
@click.option(
    "--access-log",
    default=None,
    help="write gunicorn's access log to this file ('-' for standard output); paths only, no query strings",
)
def web(host: str, port: int, workers: int, threads: int, access_log: str | None) -> None:
    """The web app under gunicorn (Redis + PostgreSQL deployments)."""
    _metrics_dir(Settings.from_env())
    argv = gunicorn_argv("web.wsgi:app", host, port, workers, threads)
    if access_log:
        argv = ["--access-logfile", access_log, *argv]
    os.execvp(sys.executable, [sys.executable, "-m", "gunicorn", *argv])


@main.command()
@click.option("--concurrency", default=2, show_default=True, type=int)
@click.option(
    "--queues",
    default="email,scoring",
    show_default=True,
    help="which queues to consume: run one worker on 'email' and others on 'scoring' so emails never wait",
)
def worker(concurrency: int, queues: str) -> None:
    """A Celery worker process."""
    _metrics_dir(Settings.from_env())
    os.execvp(sys.executable, _celery("worker", "--loglevel=INFO", f"--concurrency={concurrency}", "-Q", queues))


@main.command("worker-health")
@click.option("--node", default=None, help="the worker's node name (default: celery@ this host's name)")
@click.option("--timeout", default=20.0, show_default=True, type=float, help="seconds to wait for the canary")
def worker_health(node: str | None, timeout: float) -> None:
    """Exit 0 only if this host's worker consumes: a canary sent to its own queue completes.

    A process that is alive but no longer takes messages (celery#8030, after a Redis
    reconnect) fails this, where a process check or a ping would pass. For compose and
    Kubernetes liveness checks; it waits behind a task already running on the worker.
    """
    import socket
    import time

    from celery.utils import worker_direct

    from matcher.adapters import operations
    from matcher.bootstrap import bootstrap
    from workers.app import celery_app

    node = node or f"celery@{socket.gethostname()}"
    services = bootstrap(Settings.from_env())
    assert services.engine is not None
    sent = services.clock.now()
    celery_app.send_task("qimatch.canary", args=[""], queue=worker_direct(node), expires=timeout)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done = operations.last_beats(services.engine).get(f"node:{node}")
        if done is not None and done >= sent:
            click.echo(f"{node} consumed a canary in {(done - sent).total_seconds():.1f}s")
            return
        time.sleep(0.25)
    click.echo(f"{node} did not consume a canary within {timeout:.0f}s", err=True)
    sys.exit(1)


@main.command()
def beat() -> None:
    """The scheduler: the outbox relay, the follow-up dispatcher, the sweep."""
    schedule = Settings.from_env().data_dir / "celerybeat-schedule"
    schedule.parent.mkdir(parents=True, exist_ok=True)
    os.execvp(sys.executable, _celery("beat", "--loglevel=INFO", "--schedule", str(schedule)))


@main.command("create-coordinator")
@click.option("--email", required=True)
@click.option(
    "--password",
    default=None,
    help="visible to other users of this machine (ps, shell history): prefer the prompt or --password-stdin",
)
@click.option("--password-stdin", is_flag=True, help="read the password from standard input (as docker login does)")
@click.option("--area", "areas", multiple=True, required=True, help="an area code; repeat for more")
@click.option("--name", default=None)
@click.option("--admin", is_flag=True, help="may also edit the shared vocabularies and manage coordinators")
def create_coordinator(
    email: str, password: str | None, password_stdin: bool, areas: tuple[str, ...], name: str | None, admin: bool
) -> None:
    """Add a coordinator (works on a fresh database: it is migrated first).

    The password comes from a hidden prompt (typed twice), or from standard input with
    --password-stdin. With TOTP required (QIMATCH_REQUIRE_TOTP, on by default) it prints the
    otpauth:// URI for the authenticator app and ten recovery codes, once.
    """
    from matcher.bootstrap import bootstrap
    from matcher.errors import Conflict, Invalid
    from matcher.services import coordinators

    password = _password(password, password_stdin)
    settings = Settings.from_env()
    services = bootstrap(settings, migrate_database=True)
    try:
        made = coordinators.create_coordinator(
            services.uow(), email, password, list(areas), services.clock, name, admin=admin
        )
    except Invalid as e:
        for field, messages in e.errors.items():
            click.echo(f"error: {field}: {' '.join(messages)}", err=True)
        sys.exit(2)
    except Conflict as e:
        click.echo(f"error: {e.message}", err=True)
        sys.exit(2)
    click.echo(f"coordinator {made.email} created for {', '.join(made.areas)}")
    if settings.require_totp:
        uri, codes = coordinators.enrol(services.uow(), made.email, services.clock, fresh_secret=False)
        _show_enrolment(uri, codes)


def _password(given: str | None, from_stdin: bool) -> str:
    if from_stdin:
        if given is not None:
            raise click.UsageError("give --password or --password-stdin, not both")
        return sys.stdin.readline().rstrip("\r\n")
    if given is not None:
        click.echo(
            "warning: a password on the command line is visible to other users of this machine (ps) and stays in"
            " your shell history; use the prompt or --password-stdin",
            err=True,
        )
        return given
    return str(click.prompt("Password", hide_input=True, confirmation_prompt=True))


def _show_enrolment(uri: str, codes: list[str]) -> None:
    click.echo(
        "\nSigning in needs a one-time code from an authenticator app. Add this account to the app"
        " (open the URI on the phone, or make it a QR code, or type in its secret):\n"
    )
    click.echo(f"  {uri}\n")
    click.echo("Recovery codes (each signs in once instead of a code; keep them away from the phone):\n")
    for code in codes:
        click.echo(f"  {code}")
    click.echo("\nThese are shown only now.")


@main.command("reset-totp")
@click.option("--email", required=True)
def reset_totp(email: str) -> None:
    """A new authenticator secret and recovery codes for a coordinator (a lost phone, or an account
    made before TOTP was required). The old app's codes and the old recovery codes stop working."""
    from matcher.bootstrap import bootstrap
    from matcher.errors import Invalid
    from matcher.services import coordinators

    services = bootstrap(Settings.from_env(), migrate_database=True)
    try:
        uri, codes = coordinators.enrol(services.uow(), email, services.clock, fresh_secret=True)
    except Invalid as e:
        for field, messages in e.errors.items():
            click.echo(f"error: {field}: {' '.join(messages)}", err=True)
        sys.exit(2)
    _show_enrolment(uri, codes)


@main.command("match")
@click.option("--volunteers", "volunteers_path", required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("--requests", "requests_path", required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("--out", "out_path", required=True, type=click.Path(dir_okay=False, writable=True))
@click.option(
    "--on-bad-line",
    type=click.Choice(["skip", "refuse"]),
    default="skip",
    show_default=True,
    help="skip bad lines (reported with their line numbers) or refuse the whole batch",
)
@click.option(
    "--vocabularies",
    type=click.Path(exists=True, dir_okay=False),
    default=None,
    help="a taxonomy JSON (as GET /api/v1/taxonomy returns); default: the starting vocabularies",
)
@click.option("--progress/--no-progress", default=True, help="a progress bar (on a terminal only)")
def match(
    volunteers_path: str, requests_path: str, out_path: str, on_bad_line: str, vocabularies: str | None, progress: bool
) -> None:
    """Offline batch matching: JSON-lines offers and requests in, the assignment out."""
    from matcher.batch import BatchRefused, run_batch
    from web.batch_parsers import parse_request, parse_volunteer, use_vocabularies

    use_vocabularies(vocabularies)
    try:
        summary = run_batch(
            volunteers_path,
            requests_path,
            out_path,
            parse_volunteer=parse_volunteer,
            parse_request=parse_request,
            on_bad_line=on_bad_line,  # type: ignore[arg-type]
            progress=progress,
            # Only the matching settings: an offline batch needs no database, key or data folder.
            config=matching_from_env(),
            warn=lambda line: click.echo(f"bad line: {line}", err=True),
        )
    except BatchRefused as refused:
        click.echo(f"refused: {len(refused.bad_lines)} bad line(s); nothing written", err=True)
        sys.exit(1)
    for line in summary.lines():
        click.echo(line)
    took = summary.seconds
    click.echo(
        f"took {took.get('all', 0):.2f}s (reading {took.get('read', 0):.2f}s, matching {took.get('total', 0):.2f}s);"
        f" wrote {out_path}"
    )


@main.command("assign")
def assign() -> None:
    """Propose one assignment across every open request now (beat does it every 15 minutes)."""
    from matcher.services import suggestions
    from workers.wiring import wire

    services = wire(Settings.from_env())
    figures = suggestions.propose_assignment(services.uow(), services.settings.matching, services.clock)
    click.echo(", ".join(f"{k}: {v}" for k, v in figures.items()))


@main.command("dispatch")
def dispatch() -> None:
    """Run the follow-up dispatcher once now (beat runs it every minute)."""
    from matcher.services import follow_ups
    from workers.wiring import wire

    services = wire(Settings.from_env())
    counts = follow_ups.dispatch_due(services.uow(), services.clock, services.settings.matching)
    click.echo(", ".join(f"{k}: {v}" for k, v in counts.items()))


@main.command("retention")
def retention_now() -> None:
    """Run the retention dispatcher once now (beat runs it every hour)."""
    from matcher.services import retention
    from workers.wiring import wire

    services = wire(Settings.from_env())
    counts = retention.dispatch_due(
        services.uow(), services.clock, services.settings.retention, services.mailer, services.texts
    )
    click.echo(", ".join(f"{k}: {v}" for k, v in counts.items()))


def _schema_revision(database_url: str) -> str | None:
    from sqlalchemy import create_engine, text

    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    except Exception:  # noqa: BLE001 - a database never migrated has no revision to record
        return None
    finally:
        engine.dispose()


@main.command("backup")
@click.option(
    "--to",
    "folder",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="a new folder for the backup (default: ./backups/qimatch-<UTC date and time>)",
)
def backup_command(folder: Path | None) -> None:
    """A consistent copy of the database and the data folder, safe while the service runs."""
    from datetime import UTC, datetime

    from matcher.adapters import backups

    settings = Settings.from_env()
    folder = folder or Path("backups") / f"qimatch-{datetime.now(UTC):%Y%m%d-%H%M%S}"
    try:
        made = backups.backup(settings.database_url, settings.data_dir, folder, _schema_revision(settings.database_url))
    except backups.BackupError as failed:
        raise click.ClickException(str(failed)) from None
    click.echo(f"backed up the {made.database} database and {len(made.files) - 1} data files to {made.folder}")


@main.command("restore")
@click.argument("folder", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--replace", is_flag=True, help="overwrite the database that is there now")
def restore_command(folder: Path, replace: bool) -> None:
    """Put a backup back: stop the web, workers and beat first; `qimatch migrate` after."""
    from matcher.adapters import backups

    settings = Settings.from_env()
    try:
        done = backups.restore(folder, settings.database_url, settings.data_dir, replace=replace)
    except backups.BackupError as failed:
        raise click.ClickException(str(failed)) from None
    click.echo(f"restored the {done.database} database and data files from {folder}; now run `qimatch migrate`")


def _safe(url: str | None) -> str:
    from sqlalchemy.engine import make_url

    if not url:
        return ""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 - not every broker URL is a database URL
        return url.split("@")[-1]


if __name__ == "__main__":  # pragma: no cover
    main()
