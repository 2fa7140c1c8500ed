"""The FST engines: `fst-schedule` (OPEX scheduling and bids), `fst-bidding` (DLFM bidding
against the FMCT clearing) and `fst-sizing` (sizing and siting). Outcomes are values: bad
input that the wire schema cannot express (lengths that disagree, an unknown line) comes back
as ``status="error"`` with a message naming the field."""

from __future__ import annotations

from engines.base import ProgressFn
from engines.fst.bidding import bid
from engines.fst.network import NetworkError
from engines.fst.scheduling import schedule
from engines.fst.schema import (
    BiddingInput,
    BiddingResult,
    ScheduleInput,
    ScheduleResult,
    SizingInput,
    SizingResult,
)
from engines.fst.sizing import size_and_site


class ScheduleEngine:
    kind = "fst-schedule"
    input_type = ScheduleInput
    output_type = ScheduleResult

    def run(self, data: ScheduleInput, progress: ProgressFn) -> ScheduleResult:
        progress(0.0, "building the MILP")
        return schedule(data)


class BiddingEngine:
    kind = "fst-bidding"
    input_type = BiddingInput
    output_type = BiddingResult

    def run(self, data: BiddingInput, progress: ProgressFn) -> BiddingResult:
        progress(0.0, "price-taking clearing")
        try:
            return bid(data)
        except NetworkError as exc:
            return BiddingResult(status="error", message=str(exc))


class SizingEngine:
    kind = "fst-sizing"
    input_type = SizingInput
    output_type = SizingResult

    def run(self, data: SizingInput, progress: ProgressFn) -> SizingResult:
        progress(0.0, "nodal prices per scenario")
        try:
            return size_and_site(data)
        except NetworkError as exc:
            return SizingResult(status="error", message=str(exc))
