"""Who sends and receives the emulated market's documents, and for which area.

ENTSO-E documents name their sender, receiver and control area with EIC codes. The emulated
TSO has none, so its defaults are plain names within the schema's lengths; a deployment that
talks to a real platform passes its own codes.
"""

from __future__ import annotations

import msgspec

from adapters.balancing.iec62325 import codes
from gateway.messages.problems import FieldError


class Parties(msgspec.Struct, frozen=True, kw_only=True):
    platform_id: str = "FLEXGRID-ATP"  # sends bid documents, receives results
    tso_id: str = "EMULATED-TSO"  # the reserve allocator: receives bids, sends results
    area_id: str = "EMULATED-AREA"  # domain.mRID and acquiring_Domain.mRID

    def check(self) -> list[FieldError]:
        limits = (("platform_id", codes.PARTY_MAX), ("tso_id", codes.PARTY_MAX), ("area_id", codes.AREA_MAX))  # fmt: skip
        return [
            FieldError(location=f"parties.{name}", message=f"longer than {limit} characters")
            for name, limit in limits
            if not 0 < len(getattr(self, name)) <= limit
        ]


DEFAULT_PARTIES = Parties()
