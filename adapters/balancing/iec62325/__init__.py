"""ENTSO-E (IEC 62325-451-7) documents for the emulated TSO balancing market: bids in as a
ReserveBid_MarketDocument, activations out as a ReserveAllocationResult_MarketDocument."""
