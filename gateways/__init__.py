"""Adapters to the outside: Kafka (relay, utility orders, receipts) and probes."""
