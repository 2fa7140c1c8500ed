"""How the real day deviates from the day-ahead forecast of an architecture scenario: the input of
the near-real-time reactive market (`reactive-nrt`), whose imbalances these deviations are.

Per hourly period of the day, one relative error of the feeder's load (every load of the feeder
scaled by ``1 + error``) and one error of the PV plants' output as a share of their installed
capacity (``realised = clip(forecast + error, 0, 1)``, daylight periods only). Both are drawn once
for the whole day from ``seed`` (standard normal, cut at 3 sigma, times the sigma), so a period's
deviation does not depend on which periods a run plays; explicit lists replace the draws.

Default sizes, day-ahead hourly errors of what the scenario holds:

* load, sigma 5 % (a mean absolute percentage error of about 4 %): a 12.66 kV feeder of 3.7 MW
  peak serves roughly a thousand customers, where day-ahead errors flatten out at a few percent
  (Sevlian and Rajagopal, "A scaling law for short term load forecasting on varying levels of
  aggregation", arXiv:1404.0058; national loads reach 1-3 %, single LV feeders 15-20 %).
* PV, sigma 12 % of capacity: day-ahead hourly RMSE of 10.3-14.0 % of nameplate for two 1 MWp
  plants, the size of the scenario's two (Larson, Nonnenmacher and Coimbra, Renewable Energy 91,
  2016, 11-20).

Evolution: new fields get defaults.
"""

from __future__ import annotations

from typing import Annotated

import msgspec
from msgspec import Meta

DAY_PERIODS = 24
DayErrors = Annotated[
    list[Annotated[float, Meta(ge=-1.0, le=1.0)]],
    Meta(min_length=DAY_PERIODS, max_length=DAY_PERIODS),
]


class ForecastErrors(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The realisation of the scenario's day against its day-ahead forecast (see the module)."""

    seed: Annotated[int, Meta(ge=0, le=2**32 - 1, description="seed of the day's draws")] = 2026
    load_sigma: Annotated[
        float, Meta(ge=0.0, le=0.5, description="std of the feeder load's relative error")
    ] = 0.05
    pv_sigma: Annotated[
        float, Meta(ge=0.0, le=1.0, description="std of the PV error, share of installed capacity")
    ] = 0.12
    load_errors: Annotated[
        DayErrors | None,
        Meta(description="relative load error per period of the day (24); replaces the draws"),
    ] = None
    pv_errors: Annotated[
        DayErrors | None,
        Meta(description="PV error per period of the day, share of capacity (24); replaces them"),
    ] = None
