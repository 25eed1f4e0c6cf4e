"""In-memory state of the Pipedrive sandbox: clock, companies, users, OAuth clients, grants, entities.

Everything is deterministic: ids come from per-type counters, tokens from a counter and a hash, and the
clock is frozen unless it is told to follow the wall clock. As in Pipedrive, what a company owns is
numbered within that company (each company's first Person is 1, so two companies share ids); companies,
users, OAuth codes, tokens and lead UUIDs are unique across the sandbox.
"""

from __future__ import annotations

import hashlib
import itertools
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sandbox.pipedrive.defaults import install_company_defaults
from sandbox.pipedrive.limits import Limiter

DEFAULT_START = datetime(2026, 3, 2, 9, 0, 0, tzinfo=UTC)
PLANS = ("lite", "growth", "premium", "ultimate")
LEAD_NAMESPACE = uuid.UUID("6f1d0c52-3a51-4d3c-9c1e-2b7d3c2f9a10")
# Kinds Pipedrive numbers per company; every other kind has one counter for the whole sandbox.
COMPANY_NUMBERED = frozenset(
    {
        "person",
        "deal",
        "organization",
        "activity",
        "activity_type",
        "file",
        "note",
        "pipeline",
        "stage",
        "field",
        "webhook",
        "filter",
    }
)

Record = dict[str, Any]


class Clock:
    """The sandbox's idea of "now" (UTC).

    Frozen at `start` by default (tests); `Clock(follow_wall_clock=True)` ticks with real time while
    `advance`/`set` still shift it (demo).
    """

    def __init__(self, start: datetime | None = None, *, follow_wall_clock: bool = False) -> None:
        self._follow = follow_wall_clock
        self._wall_anchor = datetime.now(UTC)
        base = start if start is not None else (self._wall_anchor if follow_wall_clock else DEFAULT_START)
        self._anchor = self._start = base.astimezone(UTC)
        self._behind_wall = self._wall_anchor - self._start  # kept to when a following clock starts over

    def now(self) -> datetime:
        if self._follow:
            return self._anchor + (datetime.now(UTC) - self._wall_anchor)
        return self._anchor

    def advance(self, seconds: float) -> datetime:
        self._anchor += timedelta(seconds=seconds)
        return self.now()

    def reset(self) -> datetime:
        """Start over: a frozen clock at its start, a following one on the wall clock (as far behind as it
        started), whatever `advance` and `set` did."""
        wall = datetime.now(UTC)
        self._anchor = wall - self._behind_wall if self._follow else self._start
        self._wall_anchor = wall
        return self.now()

    def set(self, dt: datetime) -> datetime:
        if dt.tzinfo is None:
            dt = dt.replace(tzinfo=UTC)
        self._anchor = dt.astimezone(UTC)
        self._wall_anchor = datetime.now(UTC)
        return self.now()


@dataclass
class SandboxCompany:
    id: int
    name: str
    domain: str
    plan: str = "growth"
    timezone: str = "Europe/Berlin"


@dataclass
class SandboxUser:
    id: int
    company_id: int
    name: str
    email: str
    is_admin: bool = False
    timezone_name: str = "Europe/Berlin"
    locale: str = "en_US"
    active: bool = True


@dataclass
class OAuthClient:
    client_id: str
    client_secret: str
    redirect_uri: str
    scopes: list[str]
    jwt_secret: str
    name: str  # what Pipedrive shows users: on the consent page, the panel's header, the app's settings


@dataclass
class Grant:
    access_token: str
    refresh_token: str
    client_id: str
    company_id: int
    user_id: int
    scopes: list[str]
    expires_at: datetime
    revoked: bool = False


@dataclass
class StoredFile:
    record: Record
    content: bytes
    content_type: str


@dataclass
class CompanyData:
    """Every entity one company owns, keyed by id."""

    persons: dict[int, Record] = field(default_factory=dict)
    deals: dict[int, Record] = field(default_factory=dict)
    pipelines: dict[int, Record] = field(default_factory=dict)
    stages: dict[int, Record] = field(default_factory=dict)
    activities: dict[int, Record] = field(default_factory=dict)
    activity_types: dict[int, Record] = field(default_factory=dict)
    leads: dict[str, Record] = field(default_factory=dict)
    lead_labels: dict[str, Record] = field(default_factory=dict)
    files: dict[int, StoredFile] = field(default_factory=dict)
    person_fields: dict[int, Record] = field(default_factory=dict)
    deal_fields: dict[int, Record] = field(default_factory=dict)
    organizations: dict[int, Record] = field(default_factory=dict)
    organization_fields: dict[int, Record] = field(default_factory=dict)
    filters: dict[int, Record] = field(default_factory=dict)  # saved filters (`sandbox/pipedrive/filters.py`)
    notes: dict[int, Record] = field(default_factory=dict)
    webhooks: dict[int, Record] = field(default_factory=dict)


class SandboxState:
    """The whole sandbox. Other sandbox modules (OAuth server, host pages, API) share one instance."""

    def __init__(self, clock: Clock | None = None, base_url: str = "http://127.0.0.1:8100") -> None:
        self.clock = clock or Clock()
        self._first_base_url = base_url
        self.forget()

    def reset(self) -> None:
        """What `POST /_sandbox/reset` does here: `forget`, and the clock starts over."""
        self.clock.reset()
        self.forget()

    def forget(self) -> None:
        """Forget every company, user, client, grant, entity, counter, limit, fault and setting (the clock
        stays where it is)."""
        self.base_url = self._first_base_url
        self.companies: dict[int, SandboxCompany] = {}
        self.users: dict[int, SandboxUser] = {}
        self.clients: dict[str, OAuthClient] = {}
        self.grants: list[Grant] = []
        self.data: dict[int, CompanyData] = {}
        self.token_ttl_seconds = 3600
        self.emit_nulls = False
        # Pipedrive documents that a refresh answers with the same refresh token (its 60-day window
        # extended). Switch on to hand out a new one each time and spend the old, to test rotation races.
        self.rotate_refresh_tokens = False
        self.phone_search_ignores_punctuation = True
        self.api_domains: dict[int, str] = {}
        self._counters: dict[tuple[str, int | None], itertools.count[int]] = {}
        self._token_counter = itertools.count(1)
        self._spent_refresh_tokens: set[str] = set()
        self.limiter = Limiter(self.clock)

    # ids -------------------------------------------------------------------------------------------
    def next_id(self, kind: str, company_id: int | None = None) -> int:
        """The next id of ``kind``: within ``company_id`` for what a company owns, else sandbox-wide."""
        if (kind in COMPANY_NUMBERED) != (company_id is not None):
            needs = "needs a company id" if kind in COMPANY_NUMBERED else "is numbered sandbox-wide"
            raise ValueError(f"{kind!r} {needs}")
        counter = self._counters.setdefault((kind, company_id), itertools.count(1))
        return next(counter)

    def next_uuid(self, kind: str) -> str:
        return str(uuid.uuid5(LEAD_NAMESPACE, f"{kind}:{self.next_id(kind)}"))

    def field_key(self, company_id: int, name: str) -> str:
        seq = self.next_id("field_key")
        return hashlib.sha1(f"{company_id}:{seq}:{name}".encode(), usedforsecurity=False).hexdigest()

    # companies and users ---------------------------------------------------------------------------
    def add_company(
        self, name: str, *, domain: str | None = None, plan: str = "growth", timezone: str = "Europe/Berlin"
    ) -> SandboxCompany:
        if plan not in PLANS:
            raise ValueError(f"plan must be one of {PLANS}")
        company_id = self.next_id("company")
        slug = domain or "".join(ch if ch.isalnum() else "-" for ch in name.lower()).strip("-") or "company"
        company = SandboxCompany(company_id, name, slug, plan, timezone)
        self.companies[company_id] = company
        self.data[company_id] = CompanyData()
        install_company_defaults(self, company_id)
        return company

    def add_user(
        self,
        company_id: int,
        name: str,
        email: str,
        *,
        is_admin: bool = False,
        timezone_name: str | None = None,
        locale: str = "en_US",
    ) -> SandboxUser:
        company = self.companies[company_id]
        user = SandboxUser(
            self.next_id("user"),
            company_id,
            name,
            email,
            is_admin=is_admin,
            timezone_name=timezone_name or company.timezone,
            locale=locale,
        )
        self.users[user.id] = user
        return user

    def company_users(self, company_id: int) -> list[SandboxUser]:
        return [u for u in self.users.values() if u.company_id == company_id]

    def company_data(self, company_id: int) -> CompanyData:
        return self.data[company_id]

    def api_domain(self, company_id: int) -> str:
        return self.api_domains.get(company_id, self.base_url)

    # OAuth -----------------------------------------------------------------------------------------
    def add_client(
        self,
        client_id: str,
        client_secret: str,
        redirect_uri: str,
        scopes: list[str],
        jwt_secret: str | None = None,
        name: str | None = None,
    ) -> OAuthClient:
        client = OAuthClient(
            client_id,
            client_secret,
            redirect_uri,
            list(scopes),
            jwt_secret or client_secret,
            name or client_id,
        )
        self.clients[client_id] = client
        return client

    def _token(self, prefix: str, *parts: object) -> str:
        seq = next(self._token_counter)
        digest = hashlib.sha256(":".join(str(p) for p in (seq, *parts)).encode()).hexdigest()
        return f"{prefix}{digest}{hashlib.sha256(digest.encode()).hexdigest()[:32]}"

    def issue_grant(self, client_id: str, company_id: int, user_id: int, scopes: list[str]) -> Grant:
        grant = Grant(
            access_token=self._token("v1u:AQIBAH", "access", client_id, company_id, user_id),
            refresh_token=self._token(f"{company_id}:{user_id}:", "refresh", client_id),
            client_id=client_id,
            company_id=company_id,
            user_id=user_id,
            scopes=list(scopes),
            expires_at=self.clock.now() + timedelta(seconds=self.token_ttl_seconds),
        )
        self.grants.append(grant)
        return grant

    def grant_for_access_token(self, token: str) -> Grant | None:
        return next((g for g in self.grants if g.access_token == token), None)

    def grant_for_refresh_token(self, token: str) -> Grant | None:
        if token in self._spent_refresh_tokens:
            return None
        return next((g for g in self.grants if g.refresh_token == token), None)

    def rotate_grant(self, grant: Grant) -> Grant:
        """A refresh: a new access token (the old one stays valid until it expires) and the same refresh
        token, or with ``rotate_refresh_tokens`` a new one while the old is spent."""
        fresh = self.issue_grant(grant.client_id, grant.company_id, grant.user_id, grant.scopes)
        if self.rotate_refresh_tokens:
            self._spent_refresh_tokens.add(grant.refresh_token)
        else:
            fresh.refresh_token = grant.refresh_token
        return fresh

    def revoke_user(self, client_id: str, company_id: int, user_id: int) -> None:
        for grant in self.grants:
            if (grant.client_id, grant.company_id, grant.user_id) == (client_id, company_id, user_id):
                grant.revoked = True
        hooks = self.data[company_id].webhooks if company_id in self.data else {}
        for hook_id in [
            hid
            for hid, hook in hooks.items()
            if hook.get("type") == "application"
            and hook.get("client_id") == client_id
            and hook.get("user_id") == user_id
        ]:
            del hooks[hook_id]

    def token_for(self, company_id: int, user_id: int, scopes: list[str], client_id: str = "sandbox") -> str:
        """Shortcut for tests and seeding: a valid access token without the OAuth dance."""
        if client_id not in self.clients:
            self.add_client(client_id, f"{client_id}-secret", "http://127.0.0.1/callback", scopes)
        return self.issue_grant(client_id, company_id, user_id, scopes).access_token

    # time formats ----------------------------------------------------------------------------------
    def rfc3339(self, dt: datetime | None = None) -> str:
        return (dt or self.clock.now()).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

    def v1_time(self, dt: datetime | None = None) -> str:
        return (dt or self.clock.now()).astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")
