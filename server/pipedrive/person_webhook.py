"""WaPipe's app webhook for Person changes: found by its address, created only when missing."""

from __future__ import annotations

from server.pipedrive.client import PipedriveClient

WEBHOOK_NAME = "WaPipe: Person changes"


async def ensure_person_webhook(
    client: PipedriveClient, *, url: str, credentials: tuple[str, str], user_id: int
) -> str:
    """``exists`` when the app already has a webhook to ``url`` for every action on Persons, else
    ``created`` (payload 2.0, events seen as ``user_id`` sees them, HTTP Basic ``credentials``). One whose
    credentials are no longer ours (the server secret changed) would have every delivery refused: it is
    deleted and created again (``replaced``). Needs the ``admin`` scope; Pipedrive allows 40 app webhooks
    per user."""
    replaced = False
    for hook in await client.webhooks.all():
        if hook.subscription_url == url and hook.event_object == "person" and hook.event_action == "*":
            stale = (
                hook.http_auth_user is not None
                and (hook.http_auth_user, hook.http_auth_password) != credentials
            )
            if not stale:
                return "exists"
            await client.webhooks.delete(hook.id)
            replaced = True
    await client.webhooks.create(
        url,
        event_action="*",
        event_object="person",
        name=WEBHOOK_NAME,
        http_auth=credentials,
        user_id=user_id,
    )
    return "replaced" if replaced else "created"
