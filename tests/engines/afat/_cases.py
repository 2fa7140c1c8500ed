"""Inputs shared by the AFAT tests."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal

import numpy as np

from engines.afat.portfolio import Prosumer
from engines.afat.sample import day_shapes, household_portfolio
from engines.afat.schema import AggregationInput, AggregationOptions, FlexRequestSpec

START = datetime(2025, 6, 1, tzinfo=UTC)


def hourly(
    prosumers: list[Prosumer],
    energy: list[float],
    volume_mw: list[float],
    price: list[float],
    direction: Literal["up", "down"] = "up",
    **options: object,
) -> AggregationInput:
    return AggregationInput(
        horizon_start=START,
        slot_minutes=60,
        energy_price_eur_per_mwh=energy,
        request=FlexRequestSpec(
            request_id="req-1",
            node_mrid="node-1",
            direction=direction,
            volume_mw=volume_mw,
            price_eur_per_mwh=price,
        ),
        prosumers=prosumers,
        options=AggregationOptions(**options),  # type: ignore[arg-type]
    )


def evening_request(count: int, seed: int, volume_mw: float, **options: object) -> AggregationInput:
    """A day of 24 hourly slots, `count` sampled households, an evening-peak `up` request."""
    load, pv = day_shapes(24)
    prosumers = household_portfolio(count, load, pv, seed=seed)
    volume = [volume_mw if 17 <= t < 21 else 0.0 for t in range(24)]
    price = [250.0 if 17 <= t < 21 else 0.0 for t in range(24)]
    energy = list(60 + 40 * np.sin(np.arange(24) / 24 * 2 * np.pi))
    return hourly(prosumers, energy, volume, price, **options)
