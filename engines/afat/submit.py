"""Send an aggregation's FlexOffers to the gateway over REST with the aggregator's API key.

Plain httpx (any `httpx.AsyncClient` pointed at the gateway, e.g. `base_url=https://atp/`);
each offer carries an idempotency key so a retried submission stores nothing twice.
"""

from __future__ import annotations

import httpx
import msgspec

from gateway.messages.orders import FlexOfferSubmit

_JSON = {"Content-Type": "application/json"}


class OfferRejectedError(RuntimeError):
    """The gateway refused an offer: `problem` is its RFC 9457 body."""

    def __init__(self, index: int, status: int, problem: str) -> None:
        self.index, self.status, self.problem = index, status, problem
        super().__init__(f"offer {index} rejected with HTTP {status}: {problem}")


async def submit_offers(
    client: httpx.AsyncClient,
    api_key: str,
    offers: list[FlexOfferSubmit],
    idempotency_prefix: str,
) -> list[str]:
    """POST each offer to `/v1/flex-offers`; returns the stored offers' ids in order. Stops at
    the first refusal (earlier offers stay: each is its own order)."""
    ids: list[str] = []
    for n, offer in enumerate(offers):
        response = await client.post(
            "/v1/flex-offers",
            content=msgspec.json.encode(offer),
            headers={**_JSON, "X-API-Key": api_key, "Idempotency-Key": f"{idempotency_prefix}-{n}"},
        )
        if response.status_code != 201:
            raise OfferRejectedError(n, response.status_code, response.text)
        ids.append(str(response.json()["id"]))
    return ids
