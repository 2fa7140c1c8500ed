"""The AFAT engines: `afat-aggregate` (flexibility aggregation, HLUC_04_UCS_01) and
`afat-pricing` (retail pricing, HLUC_04_UCS_02)."""

from __future__ import annotations

from engines.afat.admm import aggregate_decentralised
from engines.afat.aggregation import aggregate_centralised
from engines.afat.retail import compare_contracts
from engines.afat.retail_schema import RetailInput, RetailResult
from engines.afat.schema import AggregationInput, AggregationResult
from engines.base import ProgressFn


class AggregationEngine:
    kind = "afat-aggregate"
    input_type = AggregationInput
    output_type = AggregationResult

    def run(self, data: AggregationInput, progress: ProgressFn) -> AggregationResult:
        if data.options.method == "decentralised":
            return aggregate_decentralised(data, progress)
        return aggregate_centralised(data, progress)


class RetailPricingEngine:
    kind = "afat-pricing"
    input_type = RetailInput
    output_type = RetailResult

    def run(self, data: RetailInput, progress: ProgressFn) -> RetailResult:
        return compare_contracts(data, progress)
