"""Tools for developing and trying guildstats, not part of the running service: the feed
simulator (``manage.py simulate``, the benchmarks, the rollup engines' tests). Imports no server
app: only the contract's shapes, as a bot would."""
