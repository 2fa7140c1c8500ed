"""The demo's last acts: forwarding the unneeded offers of the cleared CIGRE MV session to the
emulated TSO balancing market, and the three market architectures on a short scenario."""

from __future__ import annotations

import asyncio
from typing import Any, Protocol

from rich.console import Console
from rich.table import Table

console = Console()
TSO_NEED_MW = 0.3  # the emulated TSO is short by this much in every period of the session
ARCHITECTURE_PERIODS = (18, 4)  # 18:00-22:00 local: the evening peak


class Api(Protocol):
    async def call(
        self, method: str, path: str, key: str, body: Any = None, *, expect: int
    ) -> Any: ...


async def _wait(api: Api, path: str, key: str, done: tuple[str, ...], field: str) -> Any:
    for _ in range(2400):
        body = await api.call("GET", path, key, expect=200)
        if body[field] in done:
            return body
        await asyncio.sleep(0.25)
    raise RuntimeError(f"{path} did not finish")


async def forward_to_tso(api: Api, fmo: str, session_id: str, periods: list[int]) -> None:
    console.rule("Forwarding unneeded flexibility to the TSO balancing market")
    needs = [{"period_index": t, "need_mw": TSO_NEED_MW} for t in periods]
    path = f"/v1/market-sessions/{session_id}/forwarding"
    started = await api.call("POST", path, fmo, {"product": "mFRR", "needs": needs}, expect=202)
    console.print(f"DSO power flow check: job {started['check_job_id']} (dso-forward-check)")
    fw = await _wait(api, path, fmo, ("settled", "failed"), "state")
    table = Table(title=f"TSO mFRR: need {TSO_NEED_MW} MW up per period; DSO check and activation")
    for column in ("hour", "offer", "node", "MW", "bid EUR/MWh", "DSO check", "TSO", "EUR"):
        table.add_column(column)
    for o in fw["offers"]:
        act = o["activation"] or {}
        table.add_row(
            str(o["period_index"]), o["offer_id"][:8], o["node_mrid"].removeprefix("cigre-mv-"),
            f"{o['p_mw']:.2f}", f"{o['tso_price_eur_per_mwh']:.0f}",
            o["dso_check"] + (f": {o['reason']}" if o["reason"] else ""),
            act.get("state", "-"), f"{act['amount_eur']:.2f}" if act.get("amount_eur") else "-",
        )  # fmt: skip
    console.print(table)
    for c in fw["checks"]:
        console.print(
            f"  hour {c['period_index']} {c['direction']}: {c['allowed_mw']:.2f} MW allowed, "
            f"{c['refused_mw']:.2f} MW refused; max loading {c['max_loading_percent']:.1f}%, "
            f"voltages {c['min_vm_pu']:.3f}-{c['max_vm_pu']:.3f} pu"
        )
    prices = ", ".join(f"{t}: {p:.0f}" for t, p in fw["marginal_prices_eur_per_mwh"].items())
    console.print(
        f"forwarding {fw['state']}: {fw['activated_mwh']:.2f} MWh activated by the TSO, "
        f"{fw['tso_payments_eur']:.2f} EUR paid (pay-as-cleared; marginal EUR/MWh by hour: "
        f"{prices or 'none'}) {fw['message']}"
    )


async def compare_architectures(api: Api, fmo: str) -> None:
    console.rule("Market architectures: 33-bus feeder under bus 29 of IEEE case30")
    first, count = ARCHITECTURE_PERIODS
    scenario = {"first_period": first, "periods": count, "generator_steps": 60}
    started = await api.call(
        "POST", "/v1/market-architectures/comparisons", fmo, {"scenario": scenario}, expect=202
    )
    console.print(f"comparison run {started['id']} (market-architecture job), {count} periods")
    run = await _wait(
        api, f"/v1/market-architectures/runs/{started['id']}", fmo,
        ("completed", "failed", "cancelled"), "status",
    )  # fmt: skip
    if run["status"] != "completed":
        raise RuntimeError(f"the architecture comparison {run['status']}: {run['message']}")
    table = Table(title="Comparison (welfare = -(generation + flexibility cost), EUR)")
    table.add_column("architecture", no_wrap=True)
    for column in ("welfare", "gap %", "flex cost", "curtailed MWh", "iter.", "area pays",
                   "flex paid"):  # fmt: skip
        table.add_column(column, justify="right")
    for r in run["comparison"]:
        gap = r["gap_to_central_percent"]
        table.add_row(
            r["architecture"], f"{r['welfare_eur']:.0f}", "-" if gap is None else f"{gap:.3f}",
            f"{r['flex_cost_eur']:.1f}", f"{r['curtailed_res_mwh']:.2f}", str(r["iterations"]),
            f"{r['distribution_area_paid_eur']:.1f}",
            f"{r['flexibility_providers_received_eur']:.1f}",
        )  # fmt: skip
    console.print(table)
    for r in run["comparison"]:
        nrt = r.get("imbalance")
        if nrt:  # the reactive market played on to the day's realisation (seeded forecast errors)
            console.print(
                f"{r['architecture']}: forecast errors left {nrt['imbalance_mwh']:.2f} MWh of "
                f"imbalance; {nrt['resolved_locally_mwh']:.2f} MWh resolved by local re-dispatch "
                f"({nrt['nrt_flex_cost_eur']:.1f} EUR), {nrt['tso_balancing_mwh']:.2f} MWh of TSO "
                f"balancing energy ({nrt['tso_balancing_cost_eur']:.1f} EUR at bid prices; the "
                f"area settled {nrt['area_imbalance_paid_eur']:.1f} EUR at the marginal prices); "
                f"grid within limits after re-dispatch in {nrt['periods_within_limits']} periods"
            )
    console.print(
        f"wholesale market: {run['wholesale']} "
        f"({run['wholesale_requests']} day-ahead auctions cleared for the run)"
    )
