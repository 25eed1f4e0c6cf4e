"""Every Pipedrive request of this process, counted into its metrics: the ``UsageMeter`` the composition
roots hand the Pipedrive connector (``server.jobs.context.pipedrive_wiring``)."""

from __future__ import annotations

from server.metrics.families import Metrics
from server.pipedrive.metering import Metered


class CountedUsage:
    def __init__(self, metrics: Metrics) -> None:
        self._metrics = metrics

    def record(self, request: Metered) -> None:
        if request.status is None:
            self._metrics.pipedrive_unanswered(request.company_key)
            return
        self._metrics.pipedrive_answered(
            request.company_key,
            request.status,
            request.tokens,
            budget_left=request.budget_left,
            budget_spent=request.budget_spent,
        )
