"""Database tables (SQLModel). The Alembic migrations in `migrations/` create exactly these.

Timestamps are timezone-aware UTC. Orders keep their submitted content as canonical JSON in
`body` (the Struct the submitter sent, resolved) beside the columns that are filtered on; the
status lives in its own column because it changes and `body` never does.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import cast

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, SQLModel

metadata = SQLModel.metadata


class UtcDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC in and out, on PostgreSQL and on SQLite (which stores no offset)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database; use UTC-aware datetimes")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _ts(*, nullable: bool = False) -> Column[datetime]:
    return Column(UtcDateTime(), nullable=nullable)


class ParticipantRow(SQLModel, table=True):
    __tablename__ = "participant"
    __table_args__ = (
        CheckConstraint(
            "role IN ('fmo','dso','tso','aggregator','esp','retailer')", name="ck_participant_role"
        ),
    )
    id: str = Field(primary_key=True, max_length=64)
    name: str = Field(max_length=200, unique=True)
    role: str = Field(max_length=16)
    created_at: datetime = Field(sa_column=_ts())


class ApiKeyRow(SQLModel, table=True):
    __tablename__ = "api_key"
    id: str = Field(primary_key=True, max_length=64)
    participant_id: str = Field(foreign_key="participant.id", index=True, max_length=64)
    prefix: str = Field(max_length=32, unique=True)
    # SHA-256 of the whole key. Keys are 256-bit random, so a slow password hash adds nothing.
    secret_sha256: str = Field(max_length=64)
    label: str = Field(max_length=100)
    scopes: str = Field(max_length=1000)
    created_at: datetime = Field(sa_column=_ts())
    revoked_at: datetime | None = Field(default=None, sa_column=_ts(nullable=True))


class GridZoneRow(SQLModel, table=True):
    __tablename__ = "grid_zone"
    id: str = Field(primary_key=True, max_length=64)
    name: str = Field(max_length=200, unique=True)
    dso_id: str = Field(foreign_key="participant.id", index=True, max_length=64)
    created_at: datetime = Field(sa_column=_ts())
    # A network bundled with pandapower ("cigre-mv", "case33bw") that clearing falls back to
    # while the zone has no uploaded grid model.
    bundled_network: str | None = Field(default=None, max_length=32)


class GridNodeRow(SQLModel, table=True):
    __tablename__ = "grid_node"
    zone_id: str = Field(foreign_key="grid_zone.id", primary_key=True, max_length=64)
    mrid: str = Field(primary_key=True, max_length=128)
    name: str = Field(default="", max_length=200)
    vn_kv: float


class FlexAssetRow(SQLModel, table=True):
    __tablename__ = "flex_asset"
    __table_args__ = (
        UniqueConstraint("owner_id", "name", name="uq_flex_asset_owner_name"),
        CheckConstraint(
            "prequalification IN ('pending','confirmed','rejected')", name="ck_asset_prequal"
        ),
    )
    id: str = Field(primary_key=True, max_length=64)
    owner_id: str = Field(foreign_key="participant.id", index=True, max_length=64)
    name: str = Field(max_length=200)
    zone_id: str = Field(foreign_key="grid_zone.id", index=True, max_length=64)
    node_mrid: str = Field(max_length=128)
    kind: str = Field(max_length=32)
    p_max_mw: float
    q_max_mvar: float
    prequalification: str = Field(max_length=16)
    decision_reason: str | None = Field(default=None, max_length=1000)
    created_at: datetime = Field(sa_column=_ts())
    decided_at: datetime | None = Field(default=None, sa_column=_ts(nullable=True))
    decided_by: str | None = Field(default=None, foreign_key="participant.id", max_length=64)


class MarketSessionRow(SQLModel, table=True):
    __tablename__ = "market_session"
    __table_args__ = (
        CheckConstraint("state IN ('open','closed','cleared','failed')", name="ck_session_state"),
        CheckConstraint("delivery_end > delivery_start", name="ck_session_window"),
    )
    id: str = Field(primary_key=True, max_length=64)
    zone_id: str = Field(foreign_key="grid_zone.id", index=True, max_length=64)
    name: str = Field(max_length=200)
    delivery_start: datetime = Field(sa_column=_ts())
    delivery_end: datetime = Field(sa_column=_ts())
    resolution_minutes: int
    gate_closure_at: datetime = Field(sa_column=_ts())
    state: str = Field(max_length=16)
    created_at: datetime = Field(sa_column=_ts())
    closed_at: datetime | None = Field(default=None, sa_column=_ts(nullable=True))
    payment_rule: str = Field(
        default="nodal", sa_column=Column(String(16), nullable=False, server_default="nodal")
    )
    clearing_method: str = Field(
        default="auto", sa_column=Column(String(8), nullable=False, server_default="auto")
    )
    # The coupling point's price (a TLMP); None: its exchange is fixed (energy-neutral redispatch).
    upstream_price_eur_per_mwh: float | None = Field(default=None)
    clearing_job_id: str | None = Field(default=None, max_length=64, index=True)


class FlexOrderRow(SQLModel, table=True):
    """FlexRequests and FlexOffers: one order book, `kind` tells them apart."""

    __tablename__ = "flex_order"
    __table_args__ = (
        # The guard against double submission: one order per submitter and idempotency key.
        UniqueConstraint("submitter_id", "idempotency_key", name="uq_order_idempotency"),
        CheckConstraint("kind IN ('request','offer')", name="ck_order_kind"),
        CheckConstraint("status IN ('active','withdrawn')", name="ck_order_status"),
        Index("ix_order_session_kind_seq", "session_id", "kind", "seq"),
        Index("ix_order_submitter_kind_seq", "submitter_id", "kind", "seq"),
    )
    seq: int | None = Field(
        default=None,
        sa_column=Column(
            BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True
        ),
    )
    id: str = Field(max_length=64, unique=True)
    kind: str = Field(max_length=8)
    session_id: str = Field(foreign_key="market_session.id", max_length=64)
    zone_id: str = Field(foreign_key="grid_zone.id", max_length=64)
    submitter_id: str = Field(foreign_key="participant.id", max_length=64)
    node_mrid: str = Field(max_length=128)
    asset_id: str | None = Field(default=None, foreign_key="flex_asset.id", max_length=64)
    status: str = Field(max_length=16)
    submitted_at: datetime = Field(sa_column=_ts())
    updated_at: datetime = Field(sa_column=_ts())
    idempotency_key: str | None = Field(default=None, max_length=255)
    request_sha256: str | None = Field(default=None, max_length=64)
    body: str = Field(sa_column=Column(Text, nullable=False))


class OrderAuditRow(SQLModel, table=True):
    """Append-only: triggers created by the migration refuse UPDATE and DELETE."""

    __tablename__ = "order_audit"
    seq: int | None = Field(
        default=None,
        sa_column=Column(
            BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True
        ),
    )
    order_id: str = Field(
        sa_column=Column(String(64), ForeignKey("flex_order.id"), nullable=False, index=True)
    )
    at: datetime = Field(sa_column=_ts())
    actor_id: str = Field(max_length=64)
    action: str = Field(max_length=32)
    from_status: str | None = Field(default=None, max_length=16)
    to_status: str = Field(max_length=16)


class OutboxRow(SQLModel, table=True):
    """Messages to publish, written in the same transaction as the change they announce.

    The relay publishes them with `Nats-Msg-Id` = `id` and then sets `sent_at`; a crash in
    between publishes again after restart and JetStream drops the duplicate.
    """

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_unsent", "sent_at", "seq"),)
    seq: int | None = Field(
        default=None,
        sa_column=Column(
            BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True
        ),
    )
    id: str = Field(max_length=200, unique=True)
    subject: str = Field(max_length=255)
    payload: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime = Field(sa_column=_ts())
    sent_at: datetime | None = Field(default=None, sa_column=_ts(nullable=True))


class JobRow(SQLModel, table=True):
    __tablename__ = "job"
    __table_args__ = (
        CheckConstraint(
            "status IN ('accepted','running','completed','failed','cancelled')",
            name="ck_job_status",
        ),
        Index("ix_job_owner_created", "owner_id", "created_at"),
    )
    id: str = Field(primary_key=True, max_length=64)
    kind: str = Field(max_length=64)
    owner_id: str = Field(foreign_key="participant.id", max_length=64)
    status: str = Field(max_length=16)
    progress: float = 0.0
    message: str = Field(default="", max_length=1000)
    attempt: int = 0
    input: str = Field(sa_column=Column(Text, nullable=False))
    output: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    problem: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    created_at: datetime = Field(sa_column=_ts())
    updated_at: datetime = Field(sa_column=_ts())


class GridModelRow(SQLModel, table=True):
    """One imported CGMES upload of a zone: version 1, 2, ... per zone, never changed later.

    `model_json` is `cim.model.to_json` of the GridModel; `report_json` the ImportReport;
    `files_json` the uploaded files (name, size, sha256). Written in one transaction with the
    zone's node list, so a version is either whole or absent.
    """

    __tablename__ = "grid_model"
    __table_args__ = (
        UniqueConstraint("zone_id", "version", name="uq_grid_model_zone_version"),
        CheckConstraint("version >= 1", name="ck_grid_model_version"),
    )
    id: str = Field(primary_key=True, max_length=64)
    zone_id: str = Field(foreign_key="grid_zone.id", max_length=64)
    version: int
    name: str = Field(default="", max_length=200)
    uploaded_by: str = Field(foreign_key="participant.id", max_length=64)
    created_at: datetime = Field(sa_column=_ts())
    upload_sha256: str = Field(max_length=64)
    job_id: str | None = Field(default=None, max_length=64)
    files_json: str = Field(sa_column=Column(Text, nullable=False))
    summary_json: str = Field(sa_column=Column(Text, nullable=False))
    report_json: str = Field(sa_column=Column(Text, nullable=False))
    model_json: bytes = Field(sa_column=Column(LargeBinary, nullable=False))


class GridModelUploadRow(SQLModel, table=True):
    """A large upload waiting for (or in) its import job; deleted when the job ends.

    Kept in the database (not in memory or a temp file) so a gateway restart resumes the
    import: the pending rows are re-run at start-up.
    """

    __tablename__ = "grid_model_upload"
    job_id: str = Field(foreign_key="job.id", primary_key=True, max_length=64)
    zone_id: str = Field(foreign_key="grid_zone.id", index=True, max_length=64)
    uploaded_by: str = Field(foreign_key="participant.id", max_length=64)
    name: str = Field(default="", max_length=200)
    created_at: datetime = Field(sa_column=_ts())
    # The uploaded files as a stored (uncompressed) zip; checked for size and zip bombs already.
    archive: bytes = Field(sa_column=Column(LargeBinary, nullable=False))


class MarketResultRow(SQLModel, table=True):
    """One clearing outcome per session: the primary key is the exactly-once guard against a
    redelivered job completion. `output` is the engine's `ClearingJobOutput` JSON (None when the
    job itself failed); per-role views are cut from it when read."""

    __tablename__ = "market_result"
    session_id: str = Field(foreign_key="market_session.id", primary_key=True, max_length=64)
    job_id: str | None = Field(default=None, max_length=64, unique=True)
    status: str = Field(max_length=16)
    condition: str = Field(default="", max_length=200)
    message: str = Field(sa_column=Column(Text, nullable=False))
    output: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    created_at: datetime = Field(sa_column=_ts())


class OrderOutcomeRow(SQLModel, table=True):
    """Accepted or rejected at clearing, once per order (an audit row records the change)."""

    __tablename__ = "order_outcome"
    __table_args__ = (
        CheckConstraint("outcome IN ('accepted','rejected')", name="ck_order_outcome"),
    )
    order_id: str = Field(foreign_key="flex_order.id", primary_key=True, max_length=64)
    session_id: str = Field(foreign_key="market_session.id", index=True, max_length=64)
    outcome: str = Field(max_length=16)
    decided_at: datetime = Field(sa_column=_ts())


class ForwardingRow(SQLModel, table=True):
    """A cleared session's forwarding to the TSO balancing market: at most one per session."""

    __tablename__ = "forwarding"
    __table_args__ = (
        CheckConstraint(
            "state IN ('checking','checked','sending','settled','failed')",
            name="ck_forwarding_state",
        ),
    )
    id: str = Field(primary_key=True, max_length=64)
    session_id: str = Field(foreign_key="market_session.id", unique=True, max_length=64)
    requested_by: str = Field(foreign_key="participant.id", max_length=64)
    state: str = Field(max_length=16)
    product: str = Field(max_length=8)
    needs_json: str = Field(sa_column=Column(Text, nullable=False))
    check_job_id: str | None = Field(default=None, max_length=64, unique=True)
    message: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))
    checks_json: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    result_json: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    created_at: datetime = Field(sa_column=_ts())
    updated_at: datetime = Field(sa_column=_ts())


class ForwardingCandidateRow(SQLModel, table=True):
    """An offer-period a forwarding considered, with the DSO check's verdict."""

    __tablename__ = "forwarding_candidate"
    __table_args__ = (
        CheckConstraint("direction IN ('up','down')", name="ck_candidate_direction"),
        CheckConstraint(
            "dso_check IN ('pending','passed','refused')", name="ck_candidate_dso_check"
        ),
    )
    forwarding_id: str = Field(foreign_key="forwarding.id", primary_key=True, max_length=64)
    offer_id: str = Field(foreign_key="flex_order.id", primary_key=True, max_length=64)
    period_index: int = Field(primary_key=True)
    direction: str = Field(max_length=4)
    p_mw: float
    tso_price_eur_per_mwh: float
    dso_check: str = Field(max_length=8)
    reason: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))
    # The local clearing's dispatch of this offer-period that a TSO activation would replace
    # (a forwarding with include_locally_dispatched); 0 for an offer-period not dispatched.
    local_mw: float = Field(
        default=0.0, sa_column=Column(Float, nullable=False, server_default="0")
    )


class OfferActivationRow(SQLModel, table=True):
    """The activation of an offer in one period, locally or by the TSO: the primary key (offer,
    period) is the database's guard against a second activation; every change of `state` is a
    guarded UPDATE ... WHERE state IN (the states it may come from)."""

    __tablename__ = "offer_activation"
    __table_args__ = (
        CheckConstraint(
            "state IN ('reserved_local','forwarded','activated_local','activated_tso','released')",
            name="ck_activation_state",
        ),
        CheckConstraint("direction IN ('up','down')", name="ck_activation_direction"),
        CheckConstraint("market IN ('local','tso')", name="ck_activation_market"),
    )
    offer_id: str = Field(foreign_key="flex_order.id", primary_key=True, max_length=64)
    period_index: int = Field(primary_key=True)
    session_id: str = Field(foreign_key="market_session.id", index=True, max_length=64)
    submitter_id: str = Field(foreign_key="participant.id", index=True, max_length=64)
    state: str = Field(max_length=16)
    market: str = Field(max_length=8)
    direction: str = Field(max_length=4)
    p_mw: float
    activated_mw: float | None = Field(default=None)
    price_eur_per_mwh: float | None = Field(default=None)
    amount_eur: float | None = Field(default=None)
    forwarding_id: str | None = Field(default=None, max_length=64)
    updated_at: datetime = Field(sa_column=_ts())


def _table(model: type[SQLModel]) -> Table:
    # SQLModel types `__table__` loosely; Core queries want the Table itself.
    return cast(Table, getattr(model, "__table__"))  # noqa: B009


participant = _table(ParticipantRow)
api_key = _table(ApiKeyRow)
grid_zone = _table(GridZoneRow)
grid_node = _table(GridNodeRow)
flex_asset = _table(FlexAssetRow)
market_session = _table(MarketSessionRow)
flex_order = _table(FlexOrderRow)
order_audit = _table(OrderAuditRow)
outbox = _table(OutboxRow)
job = _table(JobRow)
grid_model = _table(GridModelRow)
grid_model_upload = _table(GridModelUploadRow)
market_result = _table(MarketResultRow)
order_outcome = _table(OrderOutcomeRow)
forwarding = _table(ForwardingRow)
forwarding_candidate = _table(ForwardingCandidateRow)
offer_activation = _table(OfferActivationRow)
