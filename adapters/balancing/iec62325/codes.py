"""Namespaces, element limits and ENTSO-E code list values of the balancing documents.

Where the names come from (all public):
- Namespaces and element names/order: the IEC 62325-451-7 XML schemas as bound by xsdata in
  `BerriJ/entsoe-apy` (`xml_models/iec62325_451_7_reservebiddocument_v7_4.py`,
  `iec62325_451_7_reserveallocationresult_v6_4.py`), and the example documents of Fingrid's
  mFRR energy activation market guide (`Fingrid/reservimarkkinat`,
  `content/mFRR_E/document_structure.md`): ReserveBid_MarketDocument 7.4 for bids,
  ReserveAllocationResult_MarketDocument 6.4 for the activated energy with its price (the
  Activation_MarketDocument 6.2 carries orders without prices, so it is not the result here).
- Code values: ENTSO-E code list (release 92, 2025-01-13): MessageTypeList, ProcessTypeList,
  BusinessTypeList, DirectionTypeList, IndicatorTypeList, MarketProductTypeList, RoleTypeList,
  UnitOfMeasureTypeList, ReasonCodeTypeList.
"""

from __future__ import annotations

from typing import Final

from gateway.messages.balancing import Product

BID_NS: Final = "urn:iec62325.351:tc57wg16:451-7:reservebiddocument:7:4"
RESULT_NS: Final = "urn:iec62325.351:tc57wg16:451-7:reserveallocationresultdocument:6:4"
BID_ROOT: Final = "ReserveBid_MarketDocument"
RESULT_ROOT: Final = "ReserveAllocationResult_MarketDocument"

# Lengths of the schemas' string types: a longer identifier makes a document schema-invalid.
MRID_MAX: Final = 60  # ID_String (document, time series and bid mRIDs)
PARTY_MAX: Final = 16  # PartyID_String (market participants)
AREA_MAX: Final = 18  # AreaID_String (domains)

CODING_SCHEME_EIC: Final = "A01"  # codingScheme attribute on party and area identifiers

TYPE_RESERVE_BID: Final = "A37"  # MessageTypeList: Reserve bid document
TYPE_ALLOCATION_RESULT: Final = "A38"  # MessageTypeList: Reserve allocation result document

PROCESS_BY_PRODUCT: Final[dict[Product, str]] = {"mFRR": "A47", "aFRR": "A51"}  # ProcessTypeList
PRODUCT_BY_PROCESS: Final[dict[str, Product]] = {v: k for k, v in PROCESS_BY_PRODUCT.items()}
# BusinessTypeList of a result's time series: the reserve type activated.
BUSINESS_BY_PRODUCT: Final[dict[Product, str]] = {"mFRR": "A97", "aFRR": "A96"}
BUSINESS_OFFER: Final = "B74"  # BusinessTypeList: Offer (every Bid_TimeSeries)

DIRECTION_CODES: Final = {"up": "A01", "down": "A02"}  # DirectionTypeList
DIRECTIONS: Final = {v: k for k, v in DIRECTION_CODES.items()}

DIVISIBLE: Final = "A01"  # IndicatorTypeList: Yes
INDIVISIBLE: Final = "A02"  # IndicatorTypeList: No

# MarketProductTypeList: A01 standard balancing product; A05/A06/A07 standard mFRR product
# eligible for scheduled / direct / both activations. A02 (specific) and A04 (local) are not
# standard products, so the emulated market refuses them.
STANDARD_PRODUCTS: Final = frozenset({"A01", "A05", "A06", "A07"})
PRODUCT_TYPE_BY_PRODUCT: Final[dict[Product, str]] = {"mFRR": "A05", "aFRR": "A01"}

UNIT_MW: Final = "MAW"  # UnitOfMeasureTypeList: megawatt
UNIT_MWH: Final = "MWH"  # UnitOfMeasureTypeList: megawatt hour
CURRENCY: Final = "EUR"

ROLE_BSP: Final = "A46"  # RoleTypeList: Balancing service provider
ROLE_SYSTEM_OPERATOR: Final = "A04"
ROLE_RESERVE_ALLOCATOR: Final = "A34"

REASON_BALANCING: Final = "B49"  # ReasonCodeTypeList: Balancing (an activated bid)
# ReasonCodeTypeList B16 "Tender unavailable in MOL list": an indivisible bid passed over
# because its minimum did not fit in what was left of the need (reported with quantity 0).
REASON_PASSED_OVER: Final = "B16"
