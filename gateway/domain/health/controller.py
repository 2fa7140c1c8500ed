from __future__ import annotations

from collections.abc import Awaitable, Callable
from importlib.metadata import PackageNotFoundError, version

from litestar import Controller, Response, get
from litestar.di import NamedDependency

from gateway.http.hooks import PrettyResponse
from gateway.http.openapi import problems
from gateway.messages.health import Check, CheckStatus, Health

Probe = Callable[[], Awaitable[None]]


def _version() -> str:
    try:
        return version("flexgrid-atp")
    except PackageNotFoundError:
        return "0+unknown"


class HealthController(Controller):
    path = "/v1/health"
    tags = ("health",)

    @get(
        "/",
        operation_id="getHealth",
        responses={
            **problems(authenticated=False),
            503: problems(503)[503],
        },
    )
    async def health(self, probes: NamedDependency[dict[str, Probe]]) -> Response[Health]:
        """Liveness and readiness: 200 when every dependency answers, 503 otherwise."""
        checks = []
        for name, probe in probes.items():
            try:
                await probe()
                checks.append(Check(name=name, status=CheckStatus.OK))
            except Exception as exc:  # a failing dependency is a reading, not a crash
                checks.append(
                    Check(name=name, status=CheckStatus.FAILING, detail=type(exc).__name__)
                )
        ok = all(c.status is CheckStatus.OK for c in checks)
        body = Health(
            status=CheckStatus.OK if ok else CheckStatus.FAILING, version=_version(), checks=checks
        )
        return PrettyResponse(body, status_code=200 if ok else 503)
