"""Operations: /health and /metrics, the worker heartbeat, the feed simulator."""
