"""The host's context reaches the engines that ask services (and only them), survives the pickling
into worker processes, and decides the market-architecture job's default wholesale market."""

from __future__ import annotations

import pickle

import pytest

from adapters.errors import MarketUnavailable
from engines.context import EngineContext, NatsEndpoint, UsesContext
from engines.echo import EchoEngine
from engines.markets.engine import ArchitectureEngine
from engines.registry import Registry
from gateway.messages import subjects
from gateway.messages.architectures import ArchitectureRunInput, ArchitectureScenario

pytestmark = pytest.mark.unit

SERVED = EngineContext(nats=NatsEndpoint(servers=("nats://10.0.0.1:4222",)), market_adapters=True)


def _input(wholesale: str | None = None) -> ArchitectureRunInput:
    return ArchitectureRunInput(
        architectures=["reactive"],
        scenario=ArchitectureScenario(first_period=19, periods=1),
        wholesale=wholesale,  # type: ignore[arg-type]
    )


def test_the_registry_gives_the_context_to_engines_that_use_it() -> None:
    echo = EchoEngine()
    bound = Registry([ArchitectureEngine(), echo]).with_context(SERVED)
    architecture = bound.get("market-architecture")
    assert isinstance(architecture, UsesContext)
    assert isinstance(architecture, ArchitectureEngine)
    assert architecture.context == SERVED
    assert bound.get("echo") is echo  # an engine without services is left as it is
    # Worker processes get their engines pickled: the context is configuration, no handles.
    copy = pickle.loads(pickle.dumps(architecture))  # noqa: S301 - our own bytes
    assert copy.context == SERVED


@pytest.mark.parametrize(
    ("context", "asked", "used"),
    [
        (EngineContext(), None, "in-process"),
        (SERVED, None, "adapter"),
        (SERVED, "in-process", "in-process"),
        (EngineContext(), "adapter", "adapter"),
    ],
)
def test_the_wholesale_market_by_default_and_on_request(
    context: EngineContext, asked: str | None, used: str
) -> None:
    assert ArchitectureEngine(context).source(_input(asked)) == used


def test_asking_the_adapter_without_nats_fails_naming_the_subject() -> None:
    with pytest.raises(MarketUnavailable) as caught:
        ArchitectureEngine().run(_input("adapter"), lambda fraction, stage: None)
    assert subjects.DAY_AHEAD_CLEAR in str(caught.value)
    assert "no NATS connection" in str(caught.value)
