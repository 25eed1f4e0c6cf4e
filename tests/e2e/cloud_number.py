"""A WhatsApp Cloud API number in Anna's company of a running demo: WaPipe's Cloud transport talks to a
stand-in for Meta's Graph API (``CloudStandIn`` through ``httpx.MockTransport``), and the number is stored
connected."""

from __future__ import annotations

from collections.abc import Mapping

import httpx

from server.domain.models import Account
from server.storage.accounts import SqlAccountStore
from server.storage.cloud_templates import SqlTemplateMappings
from server.storage.companies import SqlCompanyStore
from server.whatsapp.cloud import CloudTransport
from tests.e2e.demo_world import DemoRuntime
from tests.e2e.panel_helpers import company_id, sandbox_state
from tests.whatsapp.cloud_standin import PHONE_NUMBER_ID, TOKEN, CloudStandIn

CLOUD_NUMBER = "+49301234567"  # what the Cloud API stand-in reports for its business phone number


def add_cloud_number(
    runtime: DemoRuntime,
    graph: CloudStandIn,
    *,
    business_account: str | None = None,
    mapping: tuple[str, Mapping[str, str]] | None = None,
) -> Account:
    """The number, connected; ``business_account``: the account whose approved templates are offered;
    ``mapping``: (template key, variable → placeholder) saved for the company."""
    pipedrive_company = company_id(runtime.addresses)
    anna = next(u for u in sandbox_state(runtime.addresses)["users"] if u["is_admin"])

    async def add() -> Account:  # on WaPipe's loop, which also serves its requests: no blocking calls
        resources = runtime.resources
        resources.transports["cloud"] = CloudTransport(
            httpx.AsyncClient(transport=httpx.MockTransport(graph.handle)),
            access_token=TOKEN,
            app_secret="cloud-app-secret",
            verify_token="cloud-verify-token",
            business_account_id=business_account,
        )
        company = await SqlCompanyStore(resources.engine).get(pipedrive_company)
        assert company is not None
        accounts = SqlAccountStore(resources.engine)
        account = await accounts.create(
            company_id=company.id, owner_user_id=anna["id"], transport="cloud", session_name=PHONE_NUMBER_ID
        )
        await accounts.set_number(account.id, CLOUD_NUMBER, "Acme Sales")
        await accounts.set_status(account.id, "connected")
        if mapping is not None:
            key, variables = mapping
            await SqlTemplateMappings(resources.engine).save(company.id, key, dict(variables), anna["id"])
        found = await accounts.by_id(account.id)
        assert found is not None
        return found

    return runtime.run(add())
