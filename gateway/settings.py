"""Typed settings, read once from the environment at the composition root (never at import)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import msgspec


class Settings(msgspec.Struct, frozen=True, kw_only=True):
    database_url: str
    data_dir: Path
    host: str = "127.0.0.1"
    port: int = 8000
    # Token bucket per API key: sustained requests per second and burst; 0 disables the limit.
    rate_limit_per_s: float = 200.0
    rate_limit_burst: int = 400
    # Verified API keys are cached this long; a revocation reaches other replicas within it.
    api_key_cache_s: float = 5.0
    # Group commit: at most this many orders per transaction.
    intake_batch_max: int = 200
    run_migrations: bool = True
    tls_certfile: Path | None = None
    tls_keyfile: Path | None = None
    # Sessions whose gate closure passed are moved to `closed` this often.
    session_sweep_s: float = 1.0
    # NATS: a server or cluster (comma-separated URLs); None starts an embedded nats-server.
    nats_url: str | None = None
    nats_credentials: Path | None = None
    nats_tls_ca: Path | None = None
    nats_tls_cert: Path | None = None
    nats_tls_key: Path | None = None
    nats_stream_replicas: int = 1
    # False: no NATS at all (unit tests of the REST layer); orders then wait in the outbox.
    nats_enabled: bool = True
    # Engines: "in-process" serves every installed engine kind inside the gateway (threads; the
    # embedded default), "external" leaves the job queues to `flexgrid worker` processes.
    engines: str = "in-process"
    # Crash tests only: `relay.after_publish` makes the process SIGKILL itself between a
    # relay's publish and its mark, the window no outside timing hits reliably.
    failpoint: str | None = None
    # Grid-model uploads: body limit (413 beyond), total uncompressed CIM bytes, uploads larger
    # than `grid_import_async_bytes` (uncompressed) run as a job (202), worker processes for
    # imports and exports (0: a thread of the gateway process, for tests and embedded use).
    max_upload_bytes: int = 64 * 1024 * 1024
    max_model_bytes: int = 512 * 1024 * 1024
    grid_import_async_bytes: int = 8 * 1024 * 1024
    grid_import_workers: int = 1

    def __post_init__(self) -> None:
        if self.engines not in ("in-process", "external"):
            raise ValueError(
                f"FLEXGRID_ENGINES={self.engines!r}: expected 'in-process' or 'external'"
            )

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        data_dir = Path(env.get("FLEXGRID_DATA_DIR", ".flexgrid")).resolve()
        default_db = f"sqlite+aiosqlite:///{data_dir / 'flexgrid.db'}"

        def optional_path(name: str) -> Path | None:
            value = env.get(name)
            return Path(value) if value else None

        return cls(
            database_url=env.get("FLEXGRID_DATABASE_URL", default_db),
            data_dir=data_dir,
            host=env.get("FLEXGRID_HOST", "127.0.0.1"),
            port=int(env.get("FLEXGRID_PORT", "8000")),
            rate_limit_per_s=float(env.get("FLEXGRID_RATE_LIMIT_PER_S", "200")),
            rate_limit_burst=int(env.get("FLEXGRID_RATE_LIMIT_BURST", "400")),
            api_key_cache_s=float(env.get("FLEXGRID_API_KEY_CACHE_S", "5")),
            intake_batch_max=int(env.get("FLEXGRID_INTAKE_BATCH_MAX", "200")),
            run_migrations=env.get("FLEXGRID_RUN_MIGRATIONS", "1") not in ("0", "false", "no"),
            tls_certfile=optional_path("FLEXGRID_TLS_CERTFILE"),
            tls_keyfile=optional_path("FLEXGRID_TLS_KEYFILE"),
            nats_url=env.get("FLEXGRID_NATS_URL") or None,
            nats_credentials=optional_path("FLEXGRID_NATS_CREDENTIALS"),
            nats_tls_ca=optional_path("FLEXGRID_NATS_TLS_CA"),
            nats_tls_cert=optional_path("FLEXGRID_NATS_TLS_CERT"),
            nats_tls_key=optional_path("FLEXGRID_NATS_TLS_KEY"),
            nats_stream_replicas=int(env.get("FLEXGRID_NATS_STREAM_REPLICAS", "1")),
            engines=env.get("FLEXGRID_ENGINES", "in-process"),
            failpoint=env.get("FLEXGRID_FAILPOINT") or None,
            max_upload_bytes=int(env.get("FLEXGRID_MAX_UPLOAD_BYTES", str(64 * 1024 * 1024))),
            max_model_bytes=int(env.get("FLEXGRID_MAX_MODEL_BYTES", str(512 * 1024 * 1024))),
            grid_import_async_bytes=int(
                env.get("FLEXGRID_GRID_IMPORT_ASYNC_BYTES", str(8 * 1024 * 1024))
            ),
            grid_import_workers=int(env.get("FLEXGRID_GRID_IMPORT_WORKERS", "1")),
        )
