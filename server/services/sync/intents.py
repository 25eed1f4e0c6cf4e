"""Exactly-once creates in Pipedrive: a write-ahead intent row before every create.

The intent is stored under a unique key before the create is sent. When a run finds an intent that was
claimed before and never completed, the earlier run may have created the object and died before
recording it, so it looks the object up first (``find``) and only creates when it is not there.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from server.services.sync.context import SyncBusy, SyncContext


async def create_once(
    ctx: SyncContext,
    company_id: int,
    key: str,
    *,
    find: Callable[[], Awaitable[str | None]],
    create: Callable[[], Awaitable[str]],
) -> str:
    """The id of the object ``key`` stands for, created at most once across retries and workers."""
    claim = await ctx.store.claim_intent(
        company_id, key, owner=ctx.worker, lease=ctx.config.intent_lease, now=ctx.clock()
    )
    if claim is None:
        raise SyncBusy(f"another worker is creating {key}")
    if claim.result is not None:
        return claim.result
    try:
        found = await find() if claim.attempts > 0 else None
        result = found if found is not None else await create()
    except Exception:
        await ctx.store.release_intent(key)  # the retry may claim it at once (and will look first)
        raise
    await ctx.store.complete_intent(key, result, now=ctx.clock())
    return result
