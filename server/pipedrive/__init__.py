"""Pipedrive adapter: OAuth, API client (v2 first, v1 where only v1 exists), panel JWT check, rate budget.

Entry points: :class:`server.pipedrive.oauth.PipedriveOAuth` (install flow),
:class:`server.pipedrive.tokens.InstallationTokens` (refreshing credentials),
:class:`server.pipedrive.client.PipedriveClient` (the API), :func:`server.pipedrive.jwt.verify_panel_token`,
:class:`server.pipedrive.sync_adapter.PipedriveCrm` (the sync engine's ``CrmGateway``).
Failures are domain errors (:mod:`server.domain.errors`) mapped in :mod:`server.pipedrive.errors`.
"""
