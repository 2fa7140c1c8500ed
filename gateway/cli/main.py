"""The `flexgrid` command: serve, worker, adapters, admin, demo, openapi."""

from __future__ import annotations

import asyncio
import logging
import sys
from pathlib import Path

import click
import msgspec

from gateway.settings import Settings


@click.group()
@click.option("-v", "--verbose", is_flag=True, help="Log at INFO level.")
def main(verbose: bool) -> None:
    """FlexGrid ATP: trading platform gateway for distribution-level flexibility markets."""
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )


@main.command()
@click.option("--host", default=None, help="Listen address (FLEXGRID_HOST).")
@click.option("--port", type=int, default=None, help="Listen port (FLEXGRID_PORT).")
@click.option("--workers", type=int, default=1, show_default=True)
def serve(host: str | None, port: int | None, workers: int) -> None:
    """Run the gateway with uvicorn (TLS when FLEXGRID_TLS_CERTFILE/KEYFILE are set)."""
    import uvicorn

    settings = Settings.from_env()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    uvicorn.run(
        "gateway.asgi:app",
        host=host or settings.host,
        port=port or settings.port,
        workers=workers,
        factory=False,
        ssl_certfile=str(settings.tls_certfile) if settings.tls_certfile else None,
        ssl_keyfile=str(settings.tls_keyfile) if settings.tls_keyfile else None,
        log_level="warning",
    )


@main.command(
    context_settings={"ignore_unknown_options": True, "allow_extra_args": True},
    add_help_option=False,
)
@click.pass_context
def worker(ctx: click.Context) -> None:
    """Serve engine jobs from NATS (`flexgrid worker --help` for the options).

    Start as many as the load needs, on any machine that reaches NATS; with
    FLEXGRID_ENGINES=external the gateway leaves every job to them. --nats-url defaults to
    FLEXGRID_NATS_URL.
    """
    import os

    from engines.worker_main import main as worker_main

    args = list(ctx.args)
    if not any(a == "--nats-url" or a.startswith("--nats-url=") for a in args):
        url = os.environ.get("FLEXGRID_NATS_URL")
        if url:
            args = ["--nats-url", url, *args]
    worker_main(args)


@main.command()
@click.option(
    "--nats-url",
    envvar="FLEXGRID_NATS_URL",
    default="nats://127.0.0.1:4222",
    show_default=True,
    help="Comma-separated NATS URLs (FLEXGRID_NATS_URL).",
)
@click.option(
    "--only",
    type=click.Choice(["wholesale", "balancing"]),
    default=None,
    help="Serve one market only (default both).",
)
@click.option(
    "--grace",
    type=float,
    default=30.0,
    show_default=True,
    help="Seconds a stop waits for requests in flight.",
)
def adapters(nats_url: str, only: str | None, grace: float) -> None:
    """Serve the emulated wholesale day-ahead and TSO balancing markets over NATS.

    Needed with FLEXGRID_ENGINES=external, where no gateway serves them; run one or more beside
    the workers. Credentials and TLS come from FLEXGRID_NATS_CREDENTIALS / _TLS_CA / _CERT / _KEY.
    SIGTERM or SIGINT answers the requests in flight and exits.
    """
    from adapters.standalone import MARKETS, run
    from engines.context import NatsEndpoint

    settings = Settings.from_env()
    endpoint = NatsEndpoint(
        servers=tuple(nats_url.split(",")),
        credentials=str(settings.nats_credentials) if settings.nats_credentials else None,
        tls_ca=str(settings.nats_tls_ca) if settings.nats_tls_ca else None,
        tls_cert=str(settings.nats_tls_cert) if settings.nats_tls_cert else None,
        tls_key=str(settings.nats_tls_key) if settings.nats_tls_key else None,
    )
    run(endpoint, [m for m in MARKETS if only in (None, m)], drain_s=grace)


@main.group()
def admin() -> None:
    """Administration: the first market operator key, migrations."""


@admin.command("create-fmo")
@click.option("--name", default="Market operator", show_default=True)
def create_fmo(name: str) -> None:
    """Create a market operator (FMO) participant and print its first API key once."""
    from gateway.cli.bootstrap import bootstrap_fmo

    settings = Settings.from_env()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    participant, issued = asyncio.run(bootstrap_fmo(settings, name))
    click.echo(f"participant {participant.id} ({participant.name}, fmo)")
    click.echo(f"API key (shown once, store it now): {issued.key}")


@admin.command("migrate")
@click.option("--revision", default="head", show_default=True)
@click.option("--down", is_flag=True, help="Downgrade to the revision instead.")
def migrate_cmd(revision: str, down: bool) -> None:
    """Upgrade (or downgrade) the database schema."""
    from gateway.db import migrate
    from gateway.db.database import Database

    async def run() -> None:
        db = Database(Settings.from_env().database_url)
        try:
            if down:
                await migrate.downgrade(db.engine, revision)
            else:
                await migrate.upgrade(db.engine, revision)
        finally:
            await db.dispose()

    asyncio.run(run())


@main.command()
@click.option("--output", type=click.Path(path_type=Path), default=None)
def openapi(output: Path | None) -> None:
    """Print (or write) the OpenAPI document generated from the app."""
    from gateway.openapi_doc import render_openapi

    text = render_openapi()
    if output is None:
        sys.stdout.write(text)
    else:
        output.write_text(text)


@main.command()
@click.option("--gate-closure-s", type=float, default=3.0, show_default=True)
def demo(gate_closure_s: float) -> None:
    """Run the market end to end on the embedded default and print the order book."""
    from gateway.cli.demo import run_demo

    asyncio.run(run_demo(gate_closure_s=gate_closure_s))


def dump(obj: object) -> str:
    return msgspec.json.format(msgspec.json.encode(obj), indent=2).decode()


def _register_cim() -> None:
    """`flexgrid cim ...` lives in cim/ (it needs cimpy); the gateway only mounts it."""
    from cim.cli import cim

    main.add_command(cim)


_register_cim()
