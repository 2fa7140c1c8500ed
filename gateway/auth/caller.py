from __future__ import annotations

import msgspec

from gateway.errors import Forbidden
from gateway.messages.common import Role


class Caller(msgspec.Struct, frozen=True, kw_only=True):
    """The authenticated participant behind a request."""

    participant_id: str
    role: Role
    scopes: frozenset[str]
    key_id: str

    def require(self, scope: str) -> None:
        if scope not in self.scopes:
            raise Forbidden(f"the {self.role.value} role lacks the scope {scope!r}")

    @property
    def is_fmo(self) -> bool:
        return self.role is Role.FMO
