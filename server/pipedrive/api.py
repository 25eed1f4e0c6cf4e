"""The request pipeline every Pipedrive API call goes through.

For each call: wait for the rate limiter, send with the installation's Bearer token to its ``api_domain``,
meter it, teach the limiter the response headers, and then
- 401: refresh the tokens once and send once more;
- 429: retry a bounded number of times with exponential backoff honouring ``Retry-After`` /
  ``x-ratelimit-reset``; a spent daily budget raises ``BudgetExhausted`` at once (defer, don't hammer;
  the limiter lets one request out as the probe at most an hour later);
- 5xx and transport failures: retry idempotent methods the same bounded way; a POST only when it never
  left (connection refused or timed out while connecting), since otherwise it may have been applied;
- anything else: the domain error from :func:`pipedrive_error`.
Retries are short and in-call; longer waits become ``Transient.retry_after`` for the job layer.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

import httpx

from server.domain.errors import BudgetExhausted, Transient, WaPipeError
from server.pipedrive.errors import budget_spent, header_int, pipedrive_error, response_json
from server.pipedrive.metering import Metered, TokenCostTable, UsageMeter, default_costs
from server.pipedrive.oauth import Clock
from server.pipedrive.ratelimit import NoRateLimit, RateLimiter, RateScope, Sleep, backoff_delay
from server.pipedrive.tokens import TokenSource

MAX_ATTEMPTS = 4
MAX_IN_CALL_WAIT = 30.0
IDEMPOTENT = frozenset({"GET", "HEAD", "PUT", "PATCH", "DELETE"})
# Failures that happen before the request reaches Pipedrive, so even a POST can be sent again.
NEVER_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
Params = Mapping[str, str | int | bool | None]


class PipedriveApi:
    """Sends requests for one installation. Shares the caller's ``httpx.AsyncClient`` (and its timeouts)."""

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
        self._http = http
        self._tokens = tokens
        self.scope = scope
        self._limiter = limiter or NoRateLimit()
        self._meter = meter
        self._costs = costs or default_costs()
        self._sleep = sleep
        self._clock = clock or (lambda: datetime.now(UTC))
        self._jitter = jitter
        self._max_attempts = max_attempts
        self._max_in_call_wait = max_in_call_wait

    async def data(
        self,
        method: str,
        path: str,
        *,
        params: Params | None = None,
        json: Any = None,
        search: bool = False,
    ) -> tuple[Any, dict[str, Any]]:
        """``(data, additional_data)`` of a JSON envelope answer."""
        response = await self.send(method, path, params=params, json=json, search=search)
        body = response_json(response)
        if body is None:
            raise Transient(
                f"Pipedrive answered {method} {path} with a non-JSON body", reason="pipedrive_unavailable"
            )
        additional = body.get("additional_data")
        return body.get("data"), additional if isinstance(additional, dict) else {}

    async def send(
        self,
        method: str,
        path: str,
        *,
        params: Params | None = None,
        json: Any = None,
        data: Mapping[str, str] | None = None,
        files: Mapping[str, tuple[str, bytes, str]] | None = None,
        search: bool = False,
        follow_redirects: bool = False,
    ) -> httpx.Response:
        """Send ``method path`` (``/api/v1/...`` or ``/api/v2/...``); the response on success, else raise."""
        method = method.upper()
        query = {k: _query_value(v) for k, v in (params or {}).items() if v is not None}
        tokens = await self._tokens.current()
        refreshed = False
        attempt = 0
        while True:
            attempt += 1
            await self._limiter.before_request(self.scope, search=search)
            try:
                response = await self._http.request(
                    method,
                    tokens.api_domain + path,
                    params=query,
                    json=json,
                    data=data,
                    files=files,
                    headers={"Authorization": f"Bearer {tokens.access_token}"},
                    follow_redirects=follow_redirects,
                )
            except httpx.HTTPError as failure:
                self._record_unanswered(method, path)
                error = pipedrive_error(failure)
                never_sent = isinstance(failure, NEVER_SENT)
                if (method in IDEMPOTENT or never_sent) and await self._backoff(attempt, error):
                    continue
                raise error from failure
            spent = budget_spent(response)
            self._record(method, path, response, spent)
            await self._limiter.after_response(
                self.scope, response.headers, response.status_code, search=search, budget_spent=spent
            )
            if response.is_success:
                return response
            failed = pipedrive_error(response, now=self._clock())
            if response.status_code == 401 and not refreshed:
                refreshed = True
                tokens = await self._tokens.refresh_rejected(tokens)
                attempt -= 1
                continue
            retryable = failed.reason == "rate_limited" or (
                failed.reason == "pipedrive_unavailable" and method in IDEMPOTENT
            )
            if retryable and await self._backoff(attempt, failed):
                continue
            raise failed

    async def _backoff(self, attempt: int, error: WaPipeError) -> bool:
        """Sleep before another attempt, or ``False`` when the job layer should take over."""
        if (
            isinstance(error, BudgetExhausted)
            or not isinstance(error, Transient)
            or attempt >= self._max_attempts
        ):
            return False
        hint = error.retry_after if error.reason == "rate_limited" else None
        delay = backoff_delay(attempt, hint, jitter=self._jitter)
        if delay > self._max_in_call_wait:
            return False
        await self._sleep(delay)
        return True

    def _record(self, method: str, path: str, response: httpx.Response, spent: bool) -> None:
        if self._meter is None:
            return
        operation = self._costs.operation(method, path)
        self._meter.record(
            Metered(
                self.scope.company_key,
                operation,
                response.status_code,
                tokens=0 if response.status_code == 429 else self._costs.cost(operation),
                budget_left=header_int(response.headers, "x-daily-ratelimit-token-remaining"),
                budget_spent=spent,
            )
        )

    def _record_unanswered(self, method: str, path: str) -> None:
        if self._meter is not None:
            operation = self._costs.operation(method, path)
            self._meter.record(Metered(self.scope.company_key, operation, None, tokens=0))


def items_of(data: Any) -> list[dict[str, Any]]:
    """The objects in a list answer's ``data`` (``null`` and non-objects are skipped)."""
    if not isinstance(data, list):
        return []
    return [item for item in data if isinstance(item, dict)]


def object_of(data: Any, what: str) -> dict[str, Any]:
    """A single-object answer's ``data``, or ``Transient`` when Pipedrive sent something else."""
    if not isinstance(data, dict):
        raise Transient(f"Pipedrive's answer had no {what}", reason="pipedrive_unavailable")
    return data


def _query_value(value: str | int | bool) -> str | int:
    if isinstance(value, bool):
        return "true" if value else "false"
    return value
