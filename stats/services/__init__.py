"""Writes of the stats app: ingest (bot → raw events) and processing (raw events → counters)."""
