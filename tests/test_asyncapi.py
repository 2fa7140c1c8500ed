"""The committed AsyncAPI document: no drift, accepted by the official parser, and its schemas
accept what msgspec encodes (and reject a wrong tag) for every message family."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import typing
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import msgspec
import pytest
import yaml
from jsonschema import Draft7Validator

from gateway import asyncapi_doc
from gateway.asyncapi_doc import PROBLEM, render_asyncapi, resolve_family
from gateway.messages import subjects
from gateway.messages.activations import (
    ActivationState,
    OfferActivated,
    OfferActivationChanged,
)
from gateway.messages.balancing import (
    BalancingAuction,
    BalancingBid,
    BalancingResult,
    ImbalanceNeed,
)
from gateway.messages.batches import (
    FlexOfferBatch,
    FlexOfferBatchItem,
    FlexOfferBatchResult,
    FlexOfferBatchSubmit,
    FlexRequestBatch,
    FlexRequestBatchItem,
    FlexRequestBatchResult,
    FlexRequestBatchSubmit,
)
from gateway.messages.common import DeliveryWindow, Direction
from gateway.messages.events import (
    FlexOfferStored,
    FlexRequestStored,
    JobAccepted,
    JobCancelled,
    JobCompleted,
    JobFailed,
    JobRequest,
    JobRunning,
    OrderStatusChanged,
    SessionCleared,
    SessionFailed,
)
from gateway.messages.orders import (
    FlexOffer,
    FlexOfferSubmit,
    FlexRequest,
    FlexRequestSubmit,
    OrderStatus,
)
from gateway.messages.problems import FieldError, ProblemDetails
from gateway.messages.wholesale import DayAheadAuction, DayAheadResult, WholesaleOrder

ROOT = Path(__file__).resolve().parents[1]
COMMITTED = ROOT / "asyncapi" / "asyncapi.yaml"
VALIDATOR = ROOT / "asyncapi" / "validate.mjs"
NODE_MODULES = ROOT / "asyncapi" / "node_modules" / "@asyncapi" / "parser"

AT = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
WINDOW = DeliveryWindow(start=AT + timedelta(hours=1), end=AT + timedelta(hours=3))
FLEX_REQUEST = FlexRequest(
    id="fr-1",
    session_id="s-1",
    zone_id="north",
    submitter_id="dso-1",
    submitted_at=AT,
    status=OrderStatus.ACTIVE,
    node_mrid="_N7",
    direction=Direction.UP,
    p_mw=1.5,
    q_mvar=0.2,
    price_p_eur_per_mwh=120.0,
    price_q_eur_per_mvarh=4.0,
    delivery=WINDOW,
)
FLEX_OFFER = FlexOffer(
    id="fo-1",
    session_id="s-1",
    zone_id="north",
    submitter_id="agg-1",
    submitted_at=AT,
    status=OrderStatus.ACTIVE,
    node_mrid="_N7",
    asset_id=None,
    p_up_mw=2.0,
    p_down_mw=0.0,
    q_up_mvar=0.0,
    q_down_mvar=0.0,
    price_p_up_eur_per_mwh=95.0,
    price_p_down_eur_per_mwh=0.0,
    price_q_eur_per_mvarh=0.0,
    block=False,
    min_activation_mw=0.5,
    delivery_windows=[WINDOW],
    valid_until=AT + timedelta(minutes=50),
)
PROBLEM_EXAMPLE = ProblemDetails(
    type="https://flexgrid-atp.org/problems/conflict",
    title="Conflict",
    status=409,
    detail="this Idempotency-Key was used with another request body",
    errors=[FieldError(location="header:Idempotency-Key", message="reused key")],
)

# One example per Struct of each family (every member of a tagged union), keyed by message name.
EXAMPLES: dict[str, list[Any]] = {
    "OrderEvent": [
        FlexRequestStored(order=FLEX_REQUEST),
        FlexOfferStored(order=FLEX_OFFER),
        OrderStatusChanged(
            order_id="fo-1",
            kind="offer",
            session_id="s-1",
            at=AT,
            from_status=OrderStatus.ACTIVE,
            to_status=OrderStatus.WITHDRAWN,
        ),
    ],
    "FlexRequestSubmit": [
        FlexRequestSubmit(
            session_id="s-1", node_mrid="_N7", direction=Direction.DOWN, p_mw=1.0, delivery=WINDOW
        )
    ],
    "FlexRequest": [FLEX_REQUEST],
    "FlexOfferSubmit": [
        FlexOfferSubmit(
            session_id="s-1",
            asset_id="battery-3",
            p_up_mw=2.0,
            price_p_up_eur_per_mwh=-12.5,
            block=True,
            delivery_windows=[WINDOW],
            valid_until=AT + timedelta(minutes=50),
        )
    ],
    "FlexOffer": [FLEX_OFFER],
    "FlexOfferBatchSubmit": [
        FlexOfferBatchSubmit(
            items=[
                FlexOfferBatchItem(
                    order=FlexOfferSubmit(
                        session_id="s-1",
                        node_mrid="_N7",
                        p_up_mw=0.4,
                        price_p_up_eur_per_mwh=95.0,
                        delivery_windows=[WINDOW],
                        valid_until=AT + timedelta(minutes=50),
                    ),
                    idempotency_key="partner-0001",
                )
            ]
        )
    ],
    "FlexOfferBatch": [
        FlexOfferBatch(
            results=[
                FlexOfferBatchResult(order=FLEX_OFFER),
                FlexOfferBatchResult(problem=PROBLEM_EXAMPLE),
            ],
            stored=1,
            failed=1,
        )
    ],
    "FlexRequestBatchSubmit": [
        FlexRequestBatchSubmit(
            items=[
                FlexRequestBatchItem(
                    order=FlexRequestSubmit(
                        session_id="s-1",
                        node_mrid="_N7",
                        direction=Direction.UP,
                        p_mw=0.8,
                        delivery=WINDOW,
                    )
                )
            ]
        )
    ],
    "FlexRequestBatch": [
        FlexRequestBatch(
            results=[FlexRequestBatchResult(order=FLEX_REQUEST, replayed=True)],
            stored=1,
            failed=0,
        )
    ],
    "JobRequest": [
        JobRequest(
            job_id="job-1",
            kind="fmct-needs",
            owner_id="dso-1",
            submitted_at=AT,
            input=msgspec.Raw(b'{"session_id":"s-1","horizon_h":24}'),
        )
    ],
    "SessionEvent": [
        SessionCleared(
            session_id="s-1",
            zone_id="z-1",
            at=AT,
            job_id="j-1",
            status="optimal",
            objective_eur=412.5,
            accepted_offers=3,
            rejected_offers=1,
            results_url="/v1/market-sessions/s-1/results",
        ),
        SessionFailed(
            session_id="s-2",
            zone_id="z-1",
            at=AT,
            job_id="j-2",
            status="infeasible",
            reason="the offered flexibility cannot relieve the congestion on line:4",
            results_url="/v1/market-sessions/s-2/results",
        ),
    ],
    "ActivationEvent": [
        OfferActivated(
            offer_id="fo-1",
            session_id="s-1",
            submitter_id="p-agg",
            period_index=18,
            direction="up",
            state=ActivationState.ACTIVATED_TSO,
            market="tso",
            activated_mw=0.4,
            price_eur_per_mwh=110.0,
            amount_eur=44.0,
            forwarding_id="fw-1",
            at=AT,
        ),
        OfferActivationChanged(
            offer_id="fo-2",
            session_id="s-1",
            submitter_id="p-esp",
            period_index=18,
            direction="up",
            state=ActivationState.FORWARDED,
            market="tso",
            p_mw=0.25,
            forwarding_id="fw-1",
            at=AT,
        ),
    ],
    "JobEvent": [
        JobAccepted(job_id="job-1", at=AT),
        JobRunning(job_id="job-1", at=AT, progress=0.5, stage="opf", worker="w-1"),
        JobCompleted(job_id="job-1", at=AT, output=msgspec.Raw(b'{"status":"optimal"}')),
        JobFailed(job_id="job-1", at=AT, problem=PROBLEM_EXAMPLE, attempt=3, dead_lettered=True),
        JobCancelled(job_id="job-1", at=AT),
    ],
    PROBLEM: [PROBLEM_EXAMPLE],
    "DayAheadAuction": [
        DayAheadAuction(
            auction_id="da-1", network="case30", delivery_start=AT, periods=1,
            coupling_buses=["29"],
            orders=[WholesaleOrder(id="o-1", participant_id="gen-1", side="sell", bus="1",
                                   quantity_mw=20.0, price_eur_per_mwh=52.5, periods=[0])],
        )
    ],
    "DayAheadResult": [DayAheadResult(auction_id="da-1", status="infeasible", condition="Infeasible")],
    "BalancingAuction": [
        BalancingAuction(
            auction_id="bal-1", product="mFRR", delivery_start=AT,
            needs=[ImbalanceNeed(period_index=0, need_mw=12.0)],
            bids=[BalancingBid(id="b-1", bsp_id="bsp-1", direction="up", period_index=0,
                               quantity_mw=10.0, price_eur_per_mwh=80.0, location="DSO-north")],
        )
    ],
    "BalancingResult": [
        BalancingResult(auction_id="bal-1", product="mFRR", status="optimal", periods=[],
                        activations=[])
    ],
}  # fmt: skip


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(render_asyncapi())
    return loaded


def _family(name: str) -> Any:
    return ProblemDetails if name == PROBLEM else resolve_family(name)


def _validator(document: dict[str, Any], schema: dict[str, Any]) -> Draft7Validator:
    # AsyncAPI schemas are a superset of JSON Schema draft 7; refs resolve inside the document.
    return Draft7Validator(
        {**schema, "components": document["components"]},
        format_checker=Draft7Validator.FORMAT_CHECKER,
    )


def _payload_validator(document: dict[str, Any], message: str) -> Draft7Validator:
    return _validator(document, document["components"]["messages"][message]["payload"])


@pytest.mark.unit
def test_committed_asyncapi_matches_the_registry_and_structs() -> None:
    assert COMMITTED.read_text() == render_asyncapi(), "asyncapi/ drifted: run `make asyncapi`"


@pytest.mark.unit
def test_rendering_is_deterministic() -> None:
    assert render_asyncapi() == render_asyncapi()


@pytest.mark.unit
def test_official_parser_accepts_the_document() -> None:
    node = shutil.which("node")
    if node is None or not NODE_MODULES.is_dir():
        reason = "@asyncapi/parser is not installed: run `make test` (npm ci --prefix asyncapi)"
        if os.environ.get("CI"):
            pytest.fail(f"CI is set but {reason}", pytrace=False)
        pytest.skip(reason)
    result = subprocess.run(
        [node, str(VALIDATOR), str(COMMITTED)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert re.search(r"diagnostics: 0 error, 0 warning\b", output), output


@pytest.mark.unit
def test_every_subject_has_a_channel_with_its_parameters(document: dict[str, Any]) -> None:
    channels = document["channels"]
    for spec in subjects.REGISTRY:
        channel = channels[spec.name]
        assert channel["address"] == spec.pattern
        names = re.findall(r"\{(\w+)\}", spec.pattern)
        parameters = channel.get("parameters", {})
        assert sorted(parameters) == sorted(names)
        assert all(parameters[name]["description"] for name in names)
        assert list(channel["messages"]) == [spec.message]
        assert spec.message in document["components"]["messages"]


@pytest.mark.unit
def test_intake_subjects_are_request_reply_with_a_problem_reply(document: dict[str, Any]) -> None:
    operations = document["operations"]
    intake = [spec for spec in subjects.REGISTRY if spec.request_reply]
    assert intake, "the registry has no request/reply subject"
    for spec in intake:
        operation = operations[spec.name]
        assert operation["action"] == "receive"
        replies = [ref["$ref"].rsplit("/", 1)[-1] for ref in operation["reply"]["messages"]]
        assert replies == [asyncapi_doc.reply_family(spec), PROBLEM]
        message = document["components"]["messages"][spec.message]
        if spec.request_headers is None:  # internal services (market adapters): no API key
            assert "headers" not in message
        else:
            assert message["headers"]["$ref"].endswith(f"/{spec.request_headers}")
    problem = document["components"]["messages"][PROBLEM]
    assert problem["headers"]["$ref"].endswith("/ErrorReplyHeaders")
    error_headers = document["components"]["schemas"]["ErrorReplyHeaders"]
    assert error_headers["required"] == ["Nats-Service-Error-Code"]
    intake_headers = document["components"]["schemas"]["IntakeHeaders"]
    assert {"Flexgrid-Api-Key", "Idempotency-Key"} <= set(intake_headers["properties"])
    stream_headers = document["components"]["schemas"]["StreamHeaders"]
    assert stream_headers["required"] == ["Nats-Msg-Id"]


@pytest.mark.unit
def test_refs_point_into_components() -> None:
    text = render_asyncapi()
    assert "#/$defs/" not in text
    document = yaml.safe_load(text)
    for ref in re.findall(r"\$ref: '#/([^']+)'", text):
        node: Any = document
        for part in ref.split("/"):
            node = node[part]


@pytest.mark.unit
def test_every_message_has_examples_of_each_struct(document: dict[str, Any]) -> None:
    assert sorted(EXAMPLES) == sorted(document["components"]["messages"]), (
        "add an example of each new message family to EXAMPLES"
    )
    for name, examples in EXAMPLES.items():
        family = _family(name)
        members = typing.get_args(family) or (family,)
        assert sorted(m.__name__ for m in members) == sorted(type(e).__name__ for e in examples)


@pytest.mark.unit
@pytest.mark.parametrize(
    ("message", "example"),
    [(name, example) for name, examples in EXAMPLES.items() for example in examples],
    ids=lambda value: value if isinstance(value, str) else type(value).__name__,
)
def test_encoded_examples_validate_and_round_trip(
    document: dict[str, Any], message: str, example: Any
) -> None:
    encoded = msgspec.json.encode(example)
    instance = msgspec.json.decode(encoded)
    validator = _payload_validator(document, message)
    errors = [error.message for error in validator.iter_errors(instance)]
    assert errors == []
    assert msgspec.json.decode(encoded, type=_family(message)) == example


UNIONS = [name for name in EXAMPLES if typing.get_args(_family(name))]


@pytest.mark.unit
@pytest.mark.parametrize("message", UNIONS)
def test_tagged_unions_reject_a_wrong_or_missing_tag(
    document: dict[str, Any], message: str
) -> None:
    schema = document["components"]["schemas"][message]
    assert schema["discriminator"] == "type"
    assert len(schema["oneOf"]) == len(EXAMPLES[message])
    validator = _payload_validator(document, message)
    for example in EXAMPLES[message]:
        instance = msgspec.json.decode(msgspec.json.encode(example))
        assert validator.is_valid(instance)
        assert not validator.is_valid({**instance, "type": "no.such.tag"})
        assert not validator.is_valid({k: v for k, v in instance.items() if k != "type"})


@pytest.mark.unit
def test_generator_follows_the_registry(monkeypatch: pytest.MonkeyPatch) -> None:
    extra = subjects.SubjectSpec(
        name="zoneJobs",
        pattern=f"{subjects.PREFIX}.zones.{{zone_id}}.jobs.{{engine_kind}}",
        stream=subjects.JOBS_STREAM,
        message="JobRequest",
        description="A subject added to the registry.",
    )
    monkeypatch.setattr(subjects, "REGISTRY", (*subjects.REGISTRY, extra))
    document = yaml.safe_load(render_asyncapi())
    channel = document["channels"]["zoneJobs"]
    assert channel["address"] == extra.pattern
    assert sorted(channel["parameters"]) == ["engine_kind", "zone_id"]
    assert {"sendZoneJobs", "receiveZoneJobs"} <= set(document["operations"])
