"""One process's counts and timings, in a registry of its own.

Each web process and each worker counts what it did itself (a scrape of one process shows that process's
share; Prometheus sums them over the instances). Every ``Metrics`` has its own registry, so two apps in one
process (tests, the demo beside its sandboxes) never count into each other.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, ProcessCollector

# A due job starts within a poll (0.1 s on arq, 0.05 s in-process) unless every slot is busy; a backlog shows
# as seconds to minutes.
JOB_WAIT_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0)
# Most jobs take a few Pipedrive or gateway calls; a sync or a campaign tick may run up to its 600 s timeout.
JOB_DURATION_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0)
# In real time a message reaches its note after the burst window (3.5 s) and a few writes; a company on a
# batch frequency waits for its period (up to a day), a spent daily budget until the next probe (an hour).
SYNC_LAG_BUCKETS = (2.5, 5.0, 10.0, 15.0, 30.0, 60.0, 120.0, 300.0, 900.0, 1800.0, 3600.0, 14_400.0, 86_400.0)

UNANSWERED = "none"  # the status label of a Pipedrive request no answer came to


class Metrics:
    """The families a process counts into; the methods are what the rest of WaPipe calls."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        registry = self.registry
        ProcessCollector(registry=registry)  # the process's CPU, memory and open files (process_*)
        self.webhooks = Counter(
            "wapipe_webhooks_received",
            "Webhook deliveries received, by transport (waha, cloud, pipedrive) and outcome: accepted, "
            "duplicate, ignored, or the reason it was refused",
            ("transport", "outcome"),
            registry=registry,
        )
        self.pipedrive_requests = Counter(
            "wapipe_pipedrive_requests",
            "Requests sent to Pipedrive's API, by WaPipe's company id and the answer's HTTP status "
            f"({UNANSWERED!r}: no answer came)",
            ("company", "status"),
            registry=registry,
        )
        self.pipedrive_rate_limited = Counter(
            "wapipe_pipedrive_rate_limited",
            "Pipedrive's 429 answers, by company and limit: burst (the token's 2-second window) or budget "
            "(the company's daily token budget is spent)",
            ("company", "limit"),
            registry=registry,
        )
        self.pipedrive_tokens = Counter(
            "wapipe_pipedrive_tokens_spent",
            "Daily-budget tokens spent on Pipedrive requests, by company (each operation's x-token-cost; "
            "a 429 costs none)",
            ("company",),
            registry=registry,
        )
        self.pipedrive_budget_left = Gauge(
            "wapipe_pipedrive_daily_tokens_remaining",
            "What Pipedrive's latest answer to this process said is left of the company's daily token "
            "budget (x-daily-ratelimit-token-remaining)",
            ("company",),
            registry=registry,
        )
        self.job_wait = Histogram(
            "wapipe_job_wait_seconds",
            "Seconds from when a job was due (queued, or its deferral ended) to when it started, by job",
            ("job",),
            buckets=JOB_WAIT_BUCKETS,
            registry=registry,
        )
        self.job_duration = Histogram(
            "wapipe_job_duration_seconds",
            "Seconds a job ran, by job and outcome: complete, retry (it asked to run again later), failed, "
            "cancelled",
            ("job", "outcome"),
            buckets=JOB_DURATION_BUCKETS,
            registry=registry,
        )
        self.sync_lag = Histogram(
            "wapipe_sync_lag_seconds",
            "For each day's transcript written to Pipedrive: seconds from the arrival of the oldest message "
            "it carried for the first time (its webhook, or when WaPipe read it) to the write",
            buckets=SYNC_LAG_BUCKETS,
            registry=registry,
        )

    # -- webhooks ---------------------------------------------------------------------------------------
    def webhook(self, transport: str, outcome: str) -> None:
        self.webhooks.labels(transport=transport, outcome=outcome).inc()

    # -- Pipedrive --------------------------------------------------------------------------------------
    def pipedrive_answered(
        self, company: str, status: int, tokens: int, *, budget_left: int | None, budget_spent: bool
    ) -> None:
        self.pipedrive_requests.labels(company=company, status=str(status)).inc()
        if status == 429:
            limit = "budget" if budget_spent else "burst"
            self.pipedrive_rate_limited.labels(company=company, limit=limit).inc()
        self.pipedrive_tokens.labels(company=company).inc(tokens)
        if budget_left is not None:
            self.pipedrive_budget_left.labels(company=company).set(budget_left)

    def pipedrive_unanswered(self, company: str) -> None:
        self.pipedrive_requests.labels(company=company, status=UNANSWERED).inc()

    # -- jobs -------------------------------------------------------------------------------------------
    def job_started(self, job: str, waited: float | None) -> None:
        """``waited``: seconds since the job was due (``None`` where the runner did not say)."""
        if waited is not None:
            self.job_wait.labels(job=job).observe(max(0.0, waited))

    def job_finished(self, job: str, outcome: str, seconds: float) -> None:
        self.job_duration.labels(job=job, outcome=outcome).observe(max(0.0, seconds))

    # -- the sync ---------------------------------------------------------------------------------------
    def transcript_written(self, lag: float) -> None:
        self.sync_lag.observe(max(0.0, lag))
