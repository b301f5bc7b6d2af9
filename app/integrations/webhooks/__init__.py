"""Outgoing webhooks (Standard Webhooks 1.0): subscriptions, signed delivery of outbox events
with retries, per-person ordering, a delivery log, dead letters and replay."""
