"""A reserve bid document written by hand after the example of Fingrid's mFRR energy activation
market guide (ReserveBid_MarketDocument 7.4, `Fingrid/reservimarkkinat`): comments, extra
namespace declarations, the BSP named once as the document's subject for bids without a
provider, an indivisible bid, a down bid with a negative price, a period left without a bid."""

from __future__ import annotations

from gateway.messages.balancing import ImbalanceNeed

SAMPLE = b"""<?xml version="1.0" encoding="utf-8"?>
<ReserveBid_MarketDocument xmlns:xsd="http://www.w3.org/2001/XMLSchema"
    xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
    xmlns="urn:iec62325.351:tc57wg16:451-7:reservebiddocument:7:4">
  <mRID>32e6eff4-9262-4f6b-a954-5f9d08a37a9b</mRID>
  <revisionNumber>1</revisionNumber>
  <type>A37</type>
  <process.processType>A47</process.processType> <!-- mFRR -->
  <sender_MarketParticipant.mRID codingScheme="A01">44X-BSP-NORTH-1</sender_MarketParticipant.mRID>
  <sender_MarketParticipant.marketRole.type>A46</sender_MarketParticipant.marketRole.type>
  <receiver_MarketParticipant.mRID codingScheme="A01">10X1001A1001A264</receiver_MarketParticipant.mRID>
  <receiver_MarketParticipant.marketRole.type>A34</receiver_MarketParticipant.marketRole.type>
  <createdDateTime>2025-04-08T12:31:00Z</createdDateTime>
  <reserveBid_Period.timeInterval>
    <start>2025-04-08T14:00Z</start>
    <end>2025-04-08T15:00Z</end>
  </reserveBid_Period.timeInterval>
  <domain.mRID codingScheme="A01">10YFI-1--------U</domain.mRID>
  <subject_MarketParticipant.mRID codingScheme="A01">44X-BSP-NORTH-1</subject_MarketParticipant.mRID>
  <subject_MarketParticipant.marketRole.type>A46</subject_MarketParticipant.marketRole.type>
  <Bid_TimeSeries>
    <mRID>8651c1fa-8e84-4e83-a25b-59b0e17ae260</mRID>
    <auction.mRID>MFRR_ENERGY_ACTIVATION_MARKET</auction.mRID>
    <businessType>B74</businessType>
    <acquiring_Domain.mRID codingScheme="A01">10Y1001A1001A91G</acquiring_Domain.mRID>
    <connecting_Domain.mRID codingScheme="A01">10YFI-1--------U</connecting_Domain.mRID>
    <quantity_Measurement_Unit.name>MAW</quantity_Measurement_Unit.name>
    <currency_Unit.name>EUR</currency_Unit.name>
    <divisible>A01</divisible>
    <status><value>A06</value></status>
    <registeredResource.mRID codingScheme="NFI">R123456</registeredResource.mRID>
    <flowDirection.direction>A02</flowDirection.direction> <!-- down -->
    <energyPrice_Measurement_Unit.name>MWH</energyPrice_Measurement_Unit.name>
    <standard_MarketProduct.marketProductType>A07</standard_MarketProduct.marketProductType>
    <Period>
      <timeInterval><start>2025-04-08T14:00Z</start><end>2025-04-08T14:15Z</end></timeInterval>
      <resolution>PT15M</resolution>
      <Point>
        <position>1</position>
        <quantity.quantity>12</quantity.quantity>
        <minimum_Quantity.quantity>0</minimum_Quantity.quantity>
        <energy_Price.amount>-12</energy_Price.amount>
      </Point>
    </Period>
  </Bid_TimeSeries>
  <Bid_TimeSeries>
    <mRID>up-1415-a</mRID>
    <businessType>B74</businessType>
    <acquiring_Domain.mRID codingScheme="A01">10Y1001A1001A91G</acquiring_Domain.mRID>
    <connecting_Domain.mRID codingScheme="A01">10YFI-1--------U</connecting_Domain.mRID>
    <provider_MarketParticipant.mRID codingScheme="A01">44X-BSP-SOUTH-2</provider_MarketParticipant.mRID>
    <quantity_Measurement_Unit.name>MAW</quantity_Measurement_Unit.name>
    <currency_Unit.name>EUR</currency_Unit.name>
    <divisible>A02</divisible>
    <flowDirection.direction>A01</flowDirection.direction>
    <energyPrice_Measurement_Unit.name>MWH</energyPrice_Measurement_Unit.name>
    <Period>
      <timeInterval><start>2025-04-08T14:15Z</start><end>2025-04-08T14:30Z</end></timeInterval>
      <resolution>PT15M</resolution>
      <Point>
        <position>1</position>
        <quantity.quantity>7.5</quantity.quantity>
        <energy_Price.amount>83.25</energy_Price.amount>
      </Point>
    </Period>
  </Bid_TimeSeries>
  <Bid_TimeSeries>
    <mRID>up-1445-b</mRID>
    <businessType>B74</businessType>
    <acquiring_Domain.mRID codingScheme="A01">10Y1001A1001A91G</acquiring_Domain.mRID>
    <connecting_Domain.mRID codingScheme="A01">DSO-north:bus-12</connecting_Domain.mRID>
    <quantity_Measurement_Unit.name>MAW</quantity_Measurement_Unit.name>
    <divisible>A01</divisible>
    <flowDirection.direction>A01</flowDirection.direction>
    <Period>
      <timeInterval><start>2025-04-08T14:45Z</start><end>2025-04-08T15:00Z</end></timeInterval>
      <resolution>PT15M</resolution>
      <Point>
        <position>1</position>
        <quantity.quantity>30</quantity.quantity>
        <minimum_Quantity.quantity>5</minimum_Quantity.quantity>
        <energy_Price.amount>91</energy_Price.amount>
      </Point>
    </Period>
  </Bid_TimeSeries>
</ReserveBid_MarketDocument>
"""
SAMPLE_NEEDS = [ImbalanceNeed(period_index=p, need_mw=n) for p, n in [(0, -10.0), (1, 5.0), (3, 20.0)]]  # fmt: skip
