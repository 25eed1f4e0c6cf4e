"""The Pipedrive API client for one installation: resource namespaces over one request pipeline.

    client = PipedriveClient(http, tokens, RateScope(token_key=installation_id, company_key=company_id),
                             limiter=limiter, meter=meter)
    hits = await client.persons.search("+4915112345678", exact_match=True)

v2 is used wherever it exists; v1 only for leads, lead labels, activity types, files, users, notes and
webhooks. The ``httpx.AsyncClient`` (with its timeouts) belongs to the caller and is shared.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable

import httpx

from server.pipedrive.activities import ActivitiesApi
from server.pipedrive.api import MAX_ATTEMPTS, MAX_IN_CALL_WAIT, PipedriveApi
from server.pipedrive.deals import DealsApi
from server.pipedrive.fields import FieldsApi
from server.pipedrive.files import FilesApi
from server.pipedrive.leads import LeadsApi
from server.pipedrive.metering import TokenCostTable, UsageMeter
from server.pipedrive.notes import NotesApi
from server.pipedrive.oauth import Clock
from server.pipedrive.persons import PersonsApi
from server.pipedrive.ratelimit import RateLimiter, RateScope, Sleep
from server.pipedrive.tokens import TokenSource
from server.pipedrive.users import UsersApi
from server.pipedrive.webhooks import WebhooksApi


class PipedriveClient:
    """Typed access to the Pipedrive endpoints WaPipe uses, for one installation's tokens."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        tokens: TokenSource,
        scope: RateScope,
        *,
        limiter: RateLimiter | None = None,
        meter: UsageMeter | None = None,
        costs: TokenCostTable | None = None,
        sleep: Sleep = asyncio.sleep,
        clock: Clock | None = None,
        jitter: Callable[[], float] = random.random,
        max_attempts: int = MAX_ATTEMPTS,
        max_in_call_wait: float = MAX_IN_CALL_WAIT,
    ) -> None:
        self.api = PipedriveApi(
            http,
            tokens,
            scope,
            limiter=limiter,
            meter=meter,
            costs=costs,
            sleep=sleep,
            clock=clock,
            jitter=jitter,
            max_attempts=max_attempts,
            max_in_call_wait=max_in_call_wait,
        )
        self.users = UsersApi(self.api)
        self.persons = PersonsApi(self.api)
        self.deals = DealsApi(self.api)
        self.leads = LeadsApi(self.api)
        self.activities = ActivitiesApi(self.api)
        self.files = FilesApi(self.api)
        self.fields = FieldsApi(self.api)
        self.notes = NotesApi(self.api)
        self.webhooks = WebhooksApi(self.api)
