"""Who is asking, for pages inside Pipedrive's iframes: the signed Pipedrive token, verified every time.

The first load carries it as the ``token`` query parameter (Pipedrive puts it in the iframe URL); every
htmx request after that carries a fresh one from the SDK in ``X-Pipedrive-Token``. Company and user come
from the verified claims only. No cookies: browsers partition or block them inside iframes. The request is
answered in the language the user reads Pipedrive in (``server.web.language``).
"""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import Request

from server.domain.installations import InstallationStatus
from server.domain.models import Company
from server.pipedrive.jwt import verify_panel_token
from server.storage.companies import SqlCompanyStore
from server.web.language import answer_as
from server.web.resources import Resources

TOKEN_HEADER = "x-pipedrive-token"  # noqa: S105  (a header name, not a secret)


@dataclass(frozen=True, slots=True)
class FrameIdentity:
    company: Company
    pipedrive_user_id: int


async def frame_identity(request: Request) -> FrameIdentity:
    """Raises ``NotAuthenticated`` (token_missing, token_expired, token_invalid)."""
    resources: Resources = request.app.state.resources
    token = request.headers.get(TOKEN_HEADER) or request.query_params.get("token")
    identity = verify_panel_token(token, resources.settings.pipedrive_jwt_secret.get_secret_value())
    companies = SqlCompanyStore(resources.engine)
    company = await companies.get(identity.company_id)
    if company is None:
        # A token signed with our secret proves Pipedrive shows the app to this company; details come
        # with the installation.
        company = await companies.upsert(identity.company_id, name="", api_domain="", timezone="UTC")
    installation = await resources.pipedrive.installations.get(company.id, identity.user_id)
    answer_as(installation)  # the user's Pipedrive language, read with their installation
    if installation is not None and installation.status is InstallationStatus.ACTIVE:
        request.state.installation = installation  # read once per request (``own_installation``)
    return FrameIdentity(company=company, pipedrive_user_id=identity.user_id)
