"""Composition root: builds every component from `Settings` and wires the Litestar app."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from litestar import Litestar, Request, Router
from litestar.config.compression import CompressionConfig
from litestar.di import Provide
from litestar.openapi import OpenAPIConfig
from litestar.openapi.spec import Components, SecurityScheme, Server, Tag
from sqlalchemy.ext.asyncio import AsyncConnection

from adapters.client import NatsBalancingMarket
from cim.reader import ReaderLimits
from gateway.auth.authenticator import ApiKeyAuthenticator, key_from_headers
from gateway.auth.caller import Caller
from gateway.auth.ratelimit import RateLimiter
from gateway.db import migrate
from gateway.db.database import Database
from gateway.domain.architectures.controller import ArchitectureController
from gateway.domain.architectures.service import ArchitectureService
from gateway.domain.assets.controller import AssetController
from gateway.domain.assets.service import AssetService
from gateway.domain.clock import Clock, utc_now
from gateway.domain.forwarding.completion import check_hook, on_clearing_activations
from gateway.domain.forwarding.controller import ForwardingController, OfferActivationController
from gateway.domain.forwarding.forwarder import Forwarder
from gateway.domain.forwarding.service import ForwardingService
from gateway.domain.grid_models.controller import GridModelController
from gateway.domain.grid_models.jobs import ImportJobs
from gateway.domain.grid_models.runner import ModelRunner, make_runner
from gateway.domain.grid_models.service import GridModelService
from gateway.domain.health.controller import HealthController, Probe
from gateway.domain.jobs.controller import JobController
from gateway.domain.jobs.service import JobService, installed_engine_kinds
from gateway.domain.orders.controller import FlexOfferController, FlexRequestController
from gateway.domain.orders.intake import OrderIntake
from gateway.domain.orders.service import OrderService
from gateway.domain.participants.controller import ApiKeyController, ParticipantController
from gateway.domain.participants.service import ParticipantService
from gateway.domain.results.completion import on_clearing_finished
from gateway.domain.results.controller import ResultController
from gateway.domain.results.service import ResultService
from gateway.domain.results.starting import start_clearing
from gateway.domain.sessions.controller import SessionController
from gateway.domain.sessions.service import SessionService
from gateway.domain.zones.controller import ZoneController
from gateway.domain.zones.service import ZoneService
from gateway.http.hooks import PrettyResponse, require_json_body
from gateway.http.openapi import API_KEY_SCHEME
from gateway.http.problems import EXCEPTION_HANDLERS
from gateway.http.schema import forbid_unknown_properties
from gateway.messages.activations import CHECK_KIND
from gateway.messages.events import JobEvent
from gateway.messaging.connection import NatsLink
from gateway.messaging.job_events import FinishedHook, JobEventConsumer
from gateway.messaging.order_intake import NatsOrderIntake
from gateway.messaging.relay import OutboxRelay
from gateway.settings import Settings

log = logging.getLogger("flexgrid.gateway")
KIND_CLEAR = "fmct-clear"
API_VERSION = "1.0.0"


@dataclass(frozen=True)
class AppParts:
    """Everything a request may need, built once per app."""

    settings: Settings
    db: Database
    authenticator: ApiKeyAuthenticator
    limiter: RateLimiter
    participants: ParticipantService
    zones: ZoneService
    assets: AssetService
    sessions: SessionService
    results: ResultService
    intake: OrderIntake
    orders: OrderService
    outbox_wake: asyncio.Event
    nats: NatsLink | None
    jobs: JobService
    model_runner: ModelRunner
    grid_imports: ImportJobs
    grid_models: GridModelService
    architectures: ArchitectureService
    forwarding: ForwardingService
    forwarder_wake: asyncio.Event

    @classmethod
    def build(
        cls,
        settings: Settings,
        clock: Clock = utc_now,
        engine_kinds: Callable[[], frozenset[str]] = installed_engine_kinds,
    ) -> AppParts:
        db = Database(settings.database_url)
        authenticator = ApiKeyAuthenticator(db, settings.api_key_cache_s)
        outbox_wake = asyncio.Event()
        intake = OrderIntake(db, clock, settings.intake_batch_max, on_commit=outbox_wake.set)
        model_runner = make_runner(
            ReaderLimits(
                max_file_bytes=settings.max_model_bytes, max_total_bytes=settings.max_model_bytes
            ),
            settings.grid_import_workers,
        )
        grid_imports = ImportJobs(db, clock, model_runner, outbox_wake.set)
        # Closing a session queues its clearing job in the same transaction.
        sessions = SessionService(db, clock, on_close=start_clearing, on_commit=outbox_wake.set)
        return cls(
            settings=settings,
            db=db,
            authenticator=authenticator,
            limiter=RateLimiter(settings.rate_limit_per_s, settings.rate_limit_burst),
            participants=ParticipantService(db, clock, authenticator),
            zones=ZoneService(db, clock),
            assets=AssetService(db, clock),
            sessions=sessions,
            results=ResultService(db, sessions),
            intake=intake,
            orders=OrderService(db, clock, intake, on_commit=outbox_wake.set),
            outbox_wake=outbox_wake,
            nats=NatsLink(settings) if settings.nats_enabled else None,
            jobs=JobService(db, clock, outbox_wake.set, engine_kinds),
            model_runner=model_runner,
            grid_imports=grid_imports,
            grid_models=GridModelService(
                db, clock, model_runner, grid_imports, settings.grid_import_async_bytes
            ),
            architectures=ArchitectureService(db, clock, outbox_wake.set),
            forwarding=ForwardingService(db, clock, sessions, outbox_wake.set),
            forwarder_wake=asyncio.Event(),
        )

    def probes(self) -> dict[str, Probe]:
        probes: dict[str, Probe] = {"database": self.db.ping}
        if self.nats is not None:
            probes["nats"] = self.nats.probe_nats
            probes["jetstream"] = self.nats.probe_jetstream
        return probes


async def _sweep_sessions(parts: AppParts) -> None:
    while True:
        await asyncio.sleep(parts.settings.session_sweep_s)
        try:
            closed = await parts.sessions.close_due()
            if closed:
                log.info("closed %d market session(s) at gate closure", closed)
        except Exception:  # the database may be away for a moment; try again next round
            log.exception("gate-closure sweep failed")


async def _cancel(task: asyncio.Task[None]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


def _openapi() -> OpenAPIConfig:
    return OpenAPIConfig(
        title="FlexGrid ATP gateway",
        version=API_VERSION,
        description=(
            "Automated Trading Platform for distribution-level flexibility markets. "
            "Authenticate with `Authorization: ApiKey <key>` or `X-API-Key: <key>`. "
            "Errors are RFC 9457 problem details; add `?pretty=true` for indented JSON."
        ),
        servers=[Server(url="/")],
        components=Components(
            security_schemes={
                API_KEY_SCHEME: SecurityScheme(
                    type="apiKey",
                    name="X-API-Key",
                    security_scheme_in="header",
                    description="An API key; `Authorization: ApiKey <key>` works as well.",
                )
            }
        ),
        tags=[Tag(name=n) for n in ("participants", "api-keys", "grid-zones", "flex-assets")],
        use_handler_docstrings=True,
        render_plugins=[],
        path="/schema",
    )


async def _serve_engines_in_process(
    stack: contextlib.AsyncExitStack, link: NatsLink, settings: Settings
) -> None:
    """The embedded default: every installed engine kind served by this process, so a single
    `flexgrid serve` (or `make demo`) runs jobs with no worker to start. Imported here, not at
    module level, because engines pull in the numerical libraries."""
    from engines.context import EngineContext, NatsEndpoint
    from engines.registry import Registry
    from engines.runner import EngineRunner

    servers = settings.nats_url or link.embedded_url
    endpoint = None if servers is None else NatsEndpoint(
        servers=tuple(servers.split(",")),
        credentials=str(settings.nats_credentials) if settings.nats_credentials else None,
        tls_ca=str(settings.nats_tls_ca) if settings.nats_tls_ca else None,
        tls_cert=str(settings.nats_tls_cert) if settings.nats_tls_cert else None,
        tls_key=str(settings.nats_tls_key) if settings.nats_tls_key else None,
    )  # fmt: skip
    # This mode serves the market adapters too (_serve_markets_in_process): engines that ask the
    # wholesale market use the adapter over NATS by default, as external workers would.
    context = EngineContext(nats=endpoint, market_adapters=True)
    registry = Registry.from_entry_points().with_context(context)
    runner = EngineRunner(
        link.nc,
        registry,
        in_process=True,
        stream_replicas=settings.nats_stream_replicas,
        worker_id=f"gateway-{settings.port}",
    )
    await runner.start()
    stack.push_async_callback(runner.stop)


async def _serve_markets_in_process(stack: contextlib.AsyncExitStack, link: NatsLink) -> None:
    """The embedded default: the emulated wholesale and TSO balancing markets served over this
    process's NATS connection (the adapters' queue group), like the engines."""
    from adapters.balancing.emulator import EmulatedBalancingMarket
    from adapters.service import serve_markets
    from adapters.wholesale.emulator import EmulatedWholesaleMarket

    service = await serve_markets(link.nc, EmulatedWholesaleMarket(), EmulatedBalancingMarket())
    stack.push_async_callback(service.stop)


def _both(first: FinishedHook, second: FinishedHook) -> FinishedHook:
    """Two job-end hooks in one transaction, in order."""

    async def hook(conn: AsyncConnection, job_id: str, event: JobEvent) -> None:
        await first(conn, job_id, event)
        await second(conn, job_id, event)

    return hook


def create_app(
    settings: Settings,
    *,
    clock: Clock = utc_now,
    engine_kinds: Callable[[], frozenset[str]] = installed_engine_kinds,
) -> Litestar:
    parts = AppParts.build(settings, clock, engine_kinds)

    async def provide_caller(request: Request[Any, Any, Any]) -> Caller:
        caller = await parts.authenticator.authenticate(key_from_headers(request.headers))
        parts.limiter.check(caller.key_id)
        return caller

    @asynccontextmanager
    async def lifespan(_: Litestar) -> AsyncIterator[None]:
        if settings.run_migrations:
            await migrate.upgrade(parts.db.engine)
        async with contextlib.AsyncExitStack() as stack:
            await parts.intake.start()
            stack.push_async_callback(parts.db.dispose)
            stack.push_async_callback(parts.intake.stop)
            stack.push_async_callback(parts.model_runner.close)
            await parts.grid_imports.start()
            stack.push_async_callback(parts.grid_imports.stop)
            if parts.nats is not None:
                await parts.nats.start()
                stack.push_async_callback(parts.nats.stop)
                relay = OutboxRelay(
                    parts.db,
                    parts.nats.js,
                    clock,
                    parts.outbox_wake,
                    failpoint=settings.failpoint,
                )
                await relay.start()
                stack.push_async_callback(relay.stop)
                nats_intake = NatsOrderIntake(
                    parts.nats.nc, parts.orders, parts.authenticator, parts.limiter
                )
                await nats_intake.start()
                stack.push_async_callback(nats_intake.stop)
                job_events = JobEventConsumer(
                    parts.db,
                    parts.nats.js,
                    on_finished={
                        KIND_CLEAR: _both(on_clearing_finished, on_clearing_activations),
                        CHECK_KIND: check_hook(parts.forwarder_wake.set),
                    },
                )
                await job_events.start()
                stack.push_async_callback(job_events.stop)
                if settings.engines == "in-process":
                    # Markets first: an engine's first job may already ask them.
                    await _serve_markets_in_process(stack, parts.nats)
                    await _serve_engines_in_process(stack, parts.nats, settings)
                forwarder = Forwarder(
                    parts.db,
                    clock,
                    NatsBalancingMarket(parts.nats.nc),
                    parts.forwarder_wake,
                    on_commit=parts.outbox_wake.set,
                )
                await forwarder.start()
                stack.push_async_callback(forwarder.stop)
            sweeper = asyncio.create_task(_sweep_sessions(parts), name="gate-closure-sweep")
            stack.push_async_callback(_cancel, sweeper)
            yield

    def constant(value: object) -> Provide:
        return Provide(lambda: value, use_cache=True, sync_to_thread=False)

    app = Litestar(
        route_handlers=[
            HealthController,
            ParticipantController,
            ApiKeyController,
            ZoneController,
            AssetController,
            SessionController,
            ResultController,
            FlexRequestController,
            FlexOfferController,
            JobController,
            ArchitectureController,
            ForwardingController,
            OfferActivationController,
            # Uploads stream against their own limit, not the JSON bodies' one.
            Router(
                path="/",
                route_handlers=[GridModelController],
                request_max_body_size=settings.max_upload_bytes,
            ),
        ],
        dependencies={
            "caller": Provide(provide_caller),
            "participants": constant(parts.participants),
            "zones": constant(parts.zones),
            "assets": constant(parts.assets),
            "sessions": constant(parts.sessions),
            "results": constant(parts.results),
            "orders": constant(parts.orders),
            "probes": constant(parts.probes()),
            "jobs": constant(parts.jobs),
            "nats_link": constant(parts.nats),
            "grid_models": constant(parts.grid_models),
            "architectures": constant(parts.architectures),
            "forwarding": constant(parts.forwarding),
            "upload_limit_bytes": constant(settings.max_upload_bytes),
        },
        lifespan=[lifespan],
        before_request=require_json_body,
        exception_handlers=EXCEPTION_HANDLERS,
        response_class=PrettyResponse,
        compression_config=CompressionConfig(
            backend="brotli", brotli_gzip_fallback=True, minimum_size=500
        ),
        openapi_config=_openapi(),
        request_max_body_size=32 * 1024 * 1024,
        logging_config=None,
    )
    forbid_unknown_properties(app.openapi_schema)
    app.state.components = parts
    return app
