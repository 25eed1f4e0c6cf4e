"""``purge_uninstalled_companies`` (daily cron): delete the data of companies that left WaPipe.

When a company's last installation is uninstalled, its data is kept for the retention period
(``WAPIPE_DATA_RETENTION_DAYS``, ``JobDeps.data_retention_days``) so a reinstall picks up where it left off;
after that, everything WaPipe holds about the company is deleted. Reinstalling within the period makes an
installation active again, which takes the company off the list. Running it twice deletes nothing more.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from server.jobs.deps import job_deps
from server.storage.company_purge import purge_company

log = logging.getLogger(__name__)


async def purge_uninstalled_companies(ctx: dict[str, Any], now: datetime | None = None) -> list[int]:
    """The ids of the companies deleted."""
    deps = job_deps(ctx)
    if deps.installations is None:
        raise RuntimeError("the jobs' dependencies hold no installation store (JobDeps.installations)")
    installations = deps.installations
    days = deps.data_retention_days
    cutoff = (now or datetime.now(UTC)) - timedelta(days=days)
    purged: list[int] = []
    for company_id in await installations.companies_gone_since(cutoff):
        counts = await purge_company(deps.engine, company_id, files=deps.media_files)
        purged.append(company_id)
        log.info(
            "company data deleted after uninstall",
            extra={"company": company_id, "rows": sum(counts.values()), "retention_days": days},
        )
    return purged
