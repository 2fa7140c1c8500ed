"""The XML form of the balancing request/reply on NATS (`atp.v1.markets.balancing.activate`).

Headers only (no XML parser): the NATS client imports this module.

A request with header `Content-Type: application/xml` carries a ReserveBid_MarketDocument
(7.4) as its body and the TSO's imbalance needs in header `Flexgrid-Imbalance-Need`, a JSON
list of ImbalanceNeed (`[{"period_index":0,"need_mw":50.0}]`): the bid document has no place
for the need, which is the TSO's own input. The reply is a ReserveAllocationResult_MarketDocument
(6.4) with `Content-Type: application/xml`; an error reply is the same problem+json as on the
JSON path, its locations naming the document's elements (or the header).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import msgspec

from adapters.errors import MarketInputError
from gateway.messages.balancing import ImbalanceNeed
from gateway.messages.problems import FieldError
from gateway.messaging.replies import validation_errors

CONTENT_TYPE = "Content-Type"
XML = "application/xml"
NEED_HEADER = "Flexgrid-Imbalance-Need"
NEED_LOCATION = f"header {NEED_HEADER}"  # where errors in the needs are located
_XML_TYPES = frozenset({XML, "text/xml"})
_needs = msgspec.json.Decoder(list[ImbalanceNeed])
_encoder = msgspec.json.Encoder()


def is_document(headers: Mapping[str, str] | None) -> bool:
    """Whether a request carries an IEC document (its Content-Type is XML)."""
    value = (headers or {}).get(CONTENT_TYPE, "")
    return value.split(";", 1)[0].strip().lower() in _XML_TYPES


def document_headers(needs: Sequence[ImbalanceNeed]) -> dict[str, str]:
    return {CONTENT_TYPE: XML, NEED_HEADER: _encoder.encode(list(needs)).decode()}


def read_needs(headers: Mapping[str, str] | None) -> list[ImbalanceNeed]:
    raw = (headers or {}).get(NEED_HEADER)
    if raw is None:
        error = FieldError(location=NEED_LOCATION, message="missing: the imbalance need per period, a JSON list of {period_index, need_mw}")  # fmt: skip
        raise MarketInputError([error], "balancing request")
    try:
        return _needs.decode(raw)
    except msgspec.ValidationError as exc:
        errors = [FieldError(location=f"{NEED_LOCATION} {e.location}", message=e.message) for e in validation_errors(exc)]  # fmt: skip
    except msgspec.DecodeError as exc:
        errors = [FieldError(location=NEED_LOCATION, message=f"not JSON: {exc}")]
    raise MarketInputError(errors, "balancing request")
