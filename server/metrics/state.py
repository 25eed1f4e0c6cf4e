"""The state every process reports alike, read at each scrape from where it lives: the queue's depth (Redis,
or the in-process runner's memory), the numbers' sessions and the outbox (the database).

Counting these in a process would make each process tell its own story; read at scrape time, a scrape of
any web process or worker shows the same truth. A reader that fails or does not answer within
``READ_TIMEOUT_S`` leaves its families out of that scrape, and ``wapipe_state_readable`` says which.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from prometheus_client.metrics_core import GaugeMetricFamily, Metric

from server.domain.models import OutboxStatus
from server.domain.whatsapp import SessionStatus

log = logging.getLogger(__name__)

READ_TIMEOUT_S = 3.0  # a scrape is abandoned by Prometheus after 10 s by default; this leaves room
DUE, DEFERRED, RUNNING = "due", "deferred", "running"
OTHER = "other"  # a stored value the code does not name (kept out of the labels, so they stay bounded)


@dataclass(frozen=True)
class QueueDepth:
    """Jobs on the queue at one moment: how many of each job are running, due (may start now) or deferred
    (wait for their time), and how long the oldest due one has waited to start."""

    jobs: Mapping[tuple[str, str], int] = field(default_factory=dict)  # (job, state) → jobs
    oldest_due_seconds: float = 0.0

    def total(self, state: str) -> int:
        return sum(count for (_, each), count in self.jobs.items() if each == state)


@dataclass(frozen=True)
class StateReaders:
    """Where the state is read from; the composition root of each process hands them in."""

    queue: Callable[[datetime], Awaitable[QueueDepth]]  # the depth at this moment
    sessions: Callable[[], Awaitable[Mapping[tuple[str, str], int]]]  # (transport, status) → numbers
    outbox: Callable[[], Awaitable[Mapping[str, int]]]  # status → messages
    now: Callable[[], datetime]


async def read_state(readers: StateReaders) -> list[Metric]:
    """The state's families, each reader at once and bounded by ``READ_TIMEOUT_S``."""
    queue, sessions, outbox = await asyncio.gather(
        _read("queue", readers.queue(readers.now())),
        _read("sessions", readers.sessions()),
        _read("outbox", readers.outbox()),
    )
    families: list[Metric] = []
    if isinstance(queue, QueueDepth):
        families.extend(_queue_families(queue))
    if isinstance(sessions, Mapping):
        families.append(_session_family(sessions))
    if isinstance(outbox, Mapping):
        families.append(_outbox_family(outbox))
    readable = GaugeMetricFamily(
        "wapipe_state_readable",
        "1 when this scrape could read the source (queue, sessions, outbox), else 0 and its families are "
        "missing from the scrape",
        labels=("source",),
    )
    for name, value in (("queue", queue), ("sessions", sessions), ("outbox", outbox)):
        readable.add_metric((name,), 0.0 if value is None else 1.0)
    families.append(readable)
    return families


async def _read(source: str, reading: Awaitable[object]) -> object | None:
    try:
        return await asyncio.wait_for(reading, READ_TIMEOUT_S)
    except Exception as error:  # one source away must not take the others' families with it
        log.warning("metrics could not read the state", extra={"source": source, "error": repr(error)})
        return None


def _queue_families(depth: QueueDepth) -> Iterator[Metric]:
    by_job = GaugeMetricFamily(
        "wapipe_queue_jobs",
        "Jobs on the queue, by job and state: running, due (may start now) or deferred (waits for its time)",
        labels=("job", "state"),
    )
    for (job, state), count in sorted(depth.jobs.items()):
        by_job.add_metric((job, state), float(count))
    yield by_job
    total = GaugeMetricFamily(
        "wapipe_queue_depth", "Jobs on the queue, by state (running, due, deferred)", labels=("state",)
    )
    for state in (RUNNING, DUE, DEFERRED):
        total.add_metric((state,), float(depth.total(state)))
    yield total
    yield GaugeMetricFamily(
        "wapipe_queue_oldest_due_seconds",
        "Seconds the oldest due job has waited to start (0 when none is due)",
        value=depth.oldest_due_seconds,
    )


def _session_family(counts: Mapping[tuple[str, str], int]) -> Metric:
    family = GaugeMetricFamily(
        "wapipe_whatsapp_sessions",
        "Linked WhatsApp numbers, by transport and the state of their session",
        labels=("transport", "state"),
    )
    known = {status.value for status in SessionStatus}
    merged: dict[tuple[str, str], int] = {}
    for transport in {transport for transport, _ in counts}:
        for status in known:
            merged[(transport, status)] = 0
    for (transport, status), count in counts.items():
        key = (transport, status if status in known else OTHER)
        merged[key] = merged.get(key, 0) + count
    for (transport, status), count in sorted(merged.items()):
        family.add_metric((transport, status), float(count))
    return family


def _outbox_family(counts: Mapping[str, int]) -> Metric:
    family = GaugeMetricFamily(
        "wapipe_outbox_messages",
        "Messages people asked to send, by status: queued, sending, sent, failed",
        labels=("status",),
    )
    merged = {status.value: 0 for status in OutboxStatus}
    for status, count in counts.items():
        key = status if status in merged else OTHER
        merged[key] = merged.get(key, 0) + count
    for status, count in sorted(merged.items()):
        family.add_metric((status,), float(count))
    return family
