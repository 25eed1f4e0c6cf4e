"""One scrape's text: the process's own families, then the state read at this moment."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from prometheus_client import generate_latest
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

from server.metrics.families import Metrics
from server.metrics.state import StateReaders, read_state

# The classic text format (names and labels in ASCII), as prometheus_client labels it when it serves it:
# every Prometheus reads it.
CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4


class _Scrape(Collector):
    def __init__(self, own: Collector, state: Iterable[Metric]) -> None:
        self._own = own
        self._state = list(state)

    def collect(self) -> Iterator[Metric]:
        yield from self._own.collect()
        yield from self._state


async def scrape(metrics: Metrics, readers: StateReaders | None) -> bytes:
    """The text Prometheus reads (``readers``: where the state is read from; ``None``: counts only)."""
    state = await read_state(readers) if readers is not None else []
    return generate_latest(_Scrape(metrics.registry, state))
