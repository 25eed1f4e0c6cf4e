"""The campaigns list (with the company's stop words) and a campaign's progress page: its bar, its counts
(queued, sent, delivered, read, replied, failed, and skipped by reason), the recent recipients, pause,
resume and cancel, and who created, started, paused, resumed or cancelled it.

A running or scheduled campaign's progress asks for news every ``poll_seconds``; an ended one does not.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from panels.campaign_compose import SkipCount, skip_counts
from panels.templating import render
from server.domain.campaigns import (
    ACTIVE,
    CampaignStatus,
    CampaignSummary,
    Progress,
    RecipientStatus,
    recipient_status_text,
    skip_reason_text,
    status_text,
)
from server.domain.settings_form import FieldError
from server.domain.text import Text

# The counts the progress page shows, in the order a message goes through them.
COUNTED = (
    RecipientStatus.PENDING,
    RecipientStatus.QUEUED,
    RecipientStatus.SENT,
    RecipientStatus.DELIVERED,
    RecipientStatus.READ,
    RecipientStatus.REPLIED,
    RecipientStatus.FAILED,
    RecipientStatus.SKIPPED,
)
AUDIT_TITLES = {
    "campaign.create": Text("Created"),
    "campaign.start": Text("Started"),
    "campaign.pause": Text("Paused"),
    "campaign.resume": Text("Resumed"),
    "campaign.cancel": Text("Cancelled"),
}


@dataclass(frozen=True, slots=True)
class CountView:
    status: str
    label: Text
    count: int


@dataclass(frozen=True, slots=True)
class RecipientView:
    name: str
    phone: str
    from_number: str
    status: str
    label: Text
    skip_label: Text | None


@dataclass(frozen=True, slots=True)
class AuditView:
    action: str
    title: Text | str
    who: Text | str
    at: datetime


@dataclass(frozen=True, slots=True)
class ProgressView:
    id: int
    name: Text | str
    status: str
    status_label: Text
    total: int
    done_percent: int
    counts: tuple[CountView, ...]
    skipped: tuple[SkipCount, ...]
    recent: tuple[RecipientView, ...]
    next_send_at: datetime | None
    poll_seconds: float | None  # None: nothing changes any more
    audit: tuple[AuditView, ...] = ()
    notice: FieldError | None = None  # why the last action was refused

    @property
    def can_pause(self) -> bool:
        return self.status in ACTIVE

    @property
    def can_resume(self) -> bool:
        return self.status == CampaignStatus.PAUSED

    @property
    def can_cancel(self) -> bool:
        return self.status in ACTIVE or self.status == CampaignStatus.PAUSED


def campaign_name(name: str, campaign_id: int) -> Text | str:
    return name or Text("Campaign %(id)s", id=campaign_id)


def progress_view(progress: Progress, poll_seconds: float, audit: Sequence[AuditView] = ()) -> ProgressView:
    campaign = progress.campaign
    counts = tuple(
        CountView(status.value, recipient_status_text(status), progress.counts.get(status, 0))
        for status in COUNTED
    )
    recent = tuple(
        RecipientView(
            name=row.name,
            phone=row.phone,
            from_number=row.from_number,
            status=row.status.value,
            label=recipient_status_text(row.status),
            skip_label=skip_reason_text(row.skip) if row.skip is not None else None,
        )
        for row in progress.recent
    )
    return ProgressView(
        id=campaign.id,
        name=campaign_name(campaign.name, campaign.id),
        status=campaign.status.value,
        status_label=status_text(campaign.status),
        total=progress.total,
        done_percent=max(0, min(100, round(progress.done * 100))),
        counts=counts,
        skipped=skip_counts(progress.skipped_by_reason),
        recent=recent,
        next_send_at=progress.next_send_at,
        poll_seconds=poll_seconds if campaign.status in ACTIVE else None,
        audit=tuple(audit),
    )


@dataclass(frozen=True, slots=True)
class SummaryView:
    id: int
    name: Text | str
    status: str
    status_label: Text
    sent: int
    total: int
    created_at: datetime


def summary_view(summary: CampaignSummary) -> SummaryView:
    counts = summary.counts
    sent = sum(
        counts.get(s, 0)
        for s in (
            RecipientStatus.SENT,
            RecipientStatus.DELIVERED,
            RecipientStatus.READ,
            RecipientStatus.REPLIED,
        )
    )
    return SummaryView(
        id=summary.id,
        name=campaign_name(summary.name, summary.id),
        status=summary.status.value,
        status_label=status_text(summary.status),
        sent=sent,
        total=sum(counts.values()),
        created_at=summary.created_at,
    )


@dataclass(frozen=True, slots=True)
class StopWordsView:
    words: str  # one a line, as stored or as typed
    can_edit: bool
    error: FieldError | None = None
    saved: bool = False


@dataclass(frozen=True, slots=True)
class ListView:
    campaigns: tuple[SummaryView, ...]
    stop_words: StopWordsView


def render_list(view: ListView, *, whole_page: bool) -> str:
    return render("panels/campaigns.html" if whole_page else "partials/_campaign_list.html", view=view)


def render_progress_page(view: ProgressView, *, whole_page: bool) -> str:
    return render("panels/campaign.html" if whole_page else "partials/_campaign_page.html", progress=view)


def render_progress(view: ProgressView) -> str:
    return render("partials/_campaign_progress.html", progress=view)


def render_stop_words(view: StopWordsView) -> str:
    return render("partials/_campaign_stop_words.html", stop_words=view)
