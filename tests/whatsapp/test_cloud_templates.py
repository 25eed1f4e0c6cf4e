"""Reading a WhatsApp Business Account's approved templates from the Graph API (against the Cloud stand-in),
keeping them per number for a few minutes on the clock, the template messages the stand-in accepts and
refuses as Meta does, and the reasons a failed template send is stored under."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import pytest

from server.domain.cloud_templates import ApprovedTemplate
from server.domain.errors import (
    ConfigurationError,
    GatewayUnavailable,
    InvalidInput,
    OutsideMessagingWindow,
    Permanent,
    Unauthorized,
)
from server.domain.models import Account
from server.domain.whatsapp import OutboundMessage, Template
from server.services.cloud_templates import CloudTemplates, TemplateCache
from server.whatsapp.cloud import CloudTransport
from server.whatsapp.cloud_templates import CloudTemplateReader, approved_template
from tests.whatsapp.cloud_standin import (
    BUSINESS_ACCOUNT_ID,
    PHONE_NUMBER_ID,
    TOKEN,
    CloudStandIn,
    template,
)
from tests.whatsapp.conftest import NOW

CUSTOMER = "4915112345678"


@pytest.fixture
def standin() -> CloudStandIn:
    return CloudStandIn(now=NOW)


@pytest.fixture
async def http(standin: CloudStandIn) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.MockTransport(standin.handle)) as client:
        yield client


def reader(
    http: httpx.AsyncClient, *, token: str = TOKEN, waba: str = BUSINESS_ACCOUNT_ID
) -> CloudTemplateReader:
    return CloudTemplateReader(http, access_token=token, business_account_id=waba)


def template_requests(standin: CloudStandIn) -> list[httpx.Request]:
    return [r for r in standin.requests if r.url.path.endswith("/message_templates")]


class TestReading:
    async def test_every_page_is_read_and_only_approved_templates_are_offered(
        self, http: httpx.AsyncClient, standin: CloudStandIn
    ) -> None:
        found = await reader(http).approved(PHONE_NUMBER_ID)
        assert [(t.name, t.language) for t in found] == [
            ("order_update", "en_US"),
            ("appointment_reminder", "en_US"),
            ("welcome_back", "en_US"),
            ("order_update", "de"),
            ("follow_up", "de"),
        ]
        # seven templates, two a page: four pages, each after the cursor the one before gave
        calls = template_requests(standin)
        assert [r.url.params.get("after") for r in calls] == [None, "cursor-2", "cursor-4", "cursor-6"]
        assert all(r.headers["authorization"] == f"Bearer {TOKEN}" for r in calls)
        assert calls[0].url.params["fields"] == "name,language,status,category,components,parameter_format"

    async def test_a_template_reads_with_its_variables_header_footer_and_buttons(
        self, http: httpx.AsyncClient
    ) -> None:
        found = {t.key: t for t in await reader(http).approved(PHONE_NUMBER_ID)}
        order = found["order_update:en_US"]
        assert order == ApprovedTemplate(
            name="order_update",
            language="en_US",
            category="UTILITY",
            body="Hello {{1}}, your order {{2}} is on its way.",
            footer="Acme",
        )
        assert order.variables == ("1", "2")
        reminder = found["appointment_reminder:en_US"]
        assert (reminder.named, reminder.variables, reminder.buttons) == (
            True,
            ("first_name", "day"),
            ("Confirm", "Reschedule"),
        )
        assert found["welcome_back:en_US"].variables == ()

    async def test_positional_variables_are_in_number_order_whatever_order_the_body_has(self) -> None:
        raw = template("swap", "{{2}} then {{1}}, and {{2}} again, {{10}}")
        parsed = approved_template(raw)
        assert parsed is not None and parsed.variables == ("1", "2", "10")

    @pytest.mark.parametrize(
        "raw",
        [
            template("pending", "Hi", status="PENDING"),
            template("rejected", "Hi", status="REJECTED"),
            template("paused", "Hi", status="PAUSED"),
            template("Bad Name", "Hi"),
            {**template("media_header", "Hi"), "components": [{"type": "HEADER", "format": "IMAGE"}]},
            template("header_variable", "Hi", header="Order {{1}}"),
            {
                **template("link", "Hi"),
                "components": [
                    {"type": "BODY", "text": "Hi"},
                    {
                        "type": "BUTTONS",
                        "buttons": [{"type": "URL", "text": "Track", "url": "https://a/{{1}}"}],
                    },
                ],
            },
        ],
    )
    def test_what_cannot_be_sent_as_wapipe_sends_is_left_out(self, raw: dict[str, object]) -> None:
        assert approved_template(raw) is None

    async def test_an_empty_list_reads_as_no_templates(
        self, http: httpx.AsyncClient, standin: CloudStandIn
    ) -> None:
        standin.templates = []
        assert await reader(http).approved(PHONE_NUMBER_ID) == []
        assert len(template_requests(standin)) == 1


class TestErrors:
    async def test_without_a_business_account_id_nothing_is_asked(
        self, http: httpx.AsyncClient, standin: CloudStandIn
    ) -> None:
        with pytest.raises(ConfigurationError) as caught:
            await reader(http, waba="").approved(PHONE_NUMBER_ID)
        assert caught.value.reason == "cloud_business_account_missing"
        with pytest.raises(ConfigurationError) as bad:
            await reader(http, waba="12/../34").approved(PHONE_NUMBER_ID)
        assert bad.value.reason == "cloud_business_account_invalid"
        assert standin.requests == []

    async def test_a_rejected_token_is_unauthorized(self, http: httpx.AsyncClient) -> None:
        with pytest.raises(Unauthorized):
            await reader(http, token="wrong").approved(PHONE_NUMBER_ID)

    async def test_meta_failing_is_transient(self, http: httpx.AsyncClient, standin: CloudStandIn) -> None:
        standin.fail_templates_with = 503
        with pytest.raises(GatewayUnavailable):
            await reader(http).approved(PHONE_NUMBER_ID)

    async def test_an_unknown_business_account_is_not_found(self, http: httpx.AsyncClient) -> None:
        with pytest.raises(Permanent) as caught:
            await reader(http, waba="999").approved(PHONE_NUMBER_ID)
        assert caught.value.reason == "not_found"

    async def test_an_answer_that_is_not_json_is_a_bad_response(self) -> None:
        def handle(request: httpx.Request) -> httpx.Response:
            return httpx.Response(200, text="<html>")

        async with httpx.AsyncClient(transport=httpx.MockTransport(handle)) as client:
            with pytest.raises(GatewayUnavailable) as caught:
                await reader(client).approved(PHONE_NUMBER_ID)
        assert caught.value.reason == "gateway_bad_response"


class Clock:
    def __init__(self) -> None:
        self.at = NOW

    def now(self):  # type: ignore[no-untyped-def]
        return self.at


class Mappings:
    def __init__(self) -> None:
        self.stored: dict[int, dict[str, dict[str, str]]] = {}

    async def for_company(self, company_id: int) -> dict[str, dict[str, str]]:
        return dict(self.stored.get(company_id, {}))

    async def get(self, company_id: int, key: str) -> dict[str, str] | None:
        return self.stored.get(company_id, {}).get(key)

    async def save(self, company_id: int, key: str, mapping: dict[str, str], user_id: int) -> None:
        self.stored.setdefault(company_id, {})[key] = dict(mapping)


def account(transport: str = "cloud") -> Account:
    return Account(
        id=3,
        company_id=1,
        owner_user_id=11,
        transport=transport,
        session_name=PHONE_NUMBER_ID if transport == "cloud" else "wp-anna",
        e164="+49301234567",
        display_name="Acme",
        status="connected",
        status_detail="",
        last_activity_at=None,
    )


class TestCache:
    async def test_a_numbers_templates_are_read_once_for_five_minutes(
        self, http: httpx.AsyncClient, standin: CloudStandIn
    ) -> None:
        clock = Clock()
        service = CloudTemplates(reader(http), Mappings(), clock, TemplateCache())
        first = await service.approved(account())
        pages = len(template_requests(standin))
        clock.at = NOW + timedelta(minutes=4, seconds=59)
        assert await service.approved(account()) == first
        assert len(template_requests(standin)) == pages
        standin.templates = [template("new_one", "Hi {{1}}")]
        clock.at = NOW + timedelta(minutes=5)
        assert [t.name for t in await service.approved(account())] == ["new_one"]
        assert len(template_requests(standin)) == pages + 1

    async def test_a_whatsapp_web_number_is_refused_by_name_without_asking_meta(
        self, http: httpx.AsyncClient, standin: CloudStandIn
    ) -> None:
        service = CloudTemplates(reader(http), Mappings(), Clock(), TemplateCache())
        with pytest.raises(InvalidInput) as caught:
            await service.approved(account("waha"))
        assert caught.value.reason == "template_needs_cloud_number"
        assert "+49301234567" in caught.value.message
        assert await service.approved_for_picker(1, account("waha"), {}) == []
        assert standin.requests == []

    async def test_a_failed_read_is_not_cached(self, http: httpx.AsyncClient, standin: CloudStandIn) -> None:
        service = CloudTemplates(reader(http), Mappings(), Clock(), TemplateCache())
        standin.fail_templates_with = 500
        with pytest.raises(GatewayUnavailable):
            await service.approved(account())
        assert len(await service.approved(account())) == 5


def cloud(http: httpx.AsyncClient) -> CloudTransport:
    return CloudTransport(
        http, access_token=TOKEN, app_secret="app-secret", verify_token="verify-me", clock=lambda: NOW
    )


def send(name: str, language: str, *parameters: str, names: tuple[str, ...] = ()) -> OutboundMessage:
    return OutboundMessage(
        client_ref="outbox-1",
        to=f"+{CUSTOMER}",
        template=Template(name, language, parameters, parameter_names=names),
    )


class TestTemplateMessages:
    async def test_a_template_goes_out_outside_the_window(
        self, http: httpx.AsyncClient, standin: CloudStandIn
    ) -> None:
        standin.last_inbound[CUSTOMER] = NOW - timedelta(hours=30)
        result = await cloud(http).send(PHONE_NUMBER_ID, send("order_update", "en_US", "Maria", "A-17"))
        assert result.wa_message_id == "wamid.HBgL0001"
        assert standin.sent[0]["type"] == "template"
        assert standin.sent[0]["template"] == {
            "name": "order_update",
            "language": {"code": "en_US"},
            "components": [
                {
                    "type": "body",
                    "parameters": [{"type": "text", "text": "Maria"}, {"type": "text", "text": "A-17"}],
                }
            ],
        }

    async def test_a_named_template_carries_each_parameters_name(
        self, http: httpx.AsyncClient, standin: CloudStandIn
    ) -> None:
        message = send("appointment_reminder", "en_US", "Maria", "Monday", names=("first_name", "day"))
        await cloud(http).send(PHONE_NUMBER_ID, message)
        parameters = standin.sent[0]["template"]["components"][0]["parameters"]  # type: ignore[index]
        assert parameters == [
            {"type": "text", "text": "Maria", "parameter_name": "first_name"},
            {"type": "text", "text": "Monday", "parameter_name": "day"},
        ]

    async def test_free_text_outside_the_window_is_still_refused(
        self, http: httpx.AsyncClient, standin: CloudStandIn
    ) -> None:
        standin.last_inbound[CUSTOMER] = NOW - timedelta(hours=24, seconds=1)
        with pytest.raises(OutsideMessagingWindow):
            await cloud(http).send(
                PHONE_NUMBER_ID, OutboundMessage(client_ref="r", to=f"+{CUSTOMER}", text="Hi")
            )
        assert standin.sent == []

    @pytest.mark.parametrize(
        ("message", "reason"),
        [
            (send("order_update", "en_US", "Maria"), "template_parameter_mismatch"),
            (send("order_update", "en_US", "Maria", "A-17", "extra"), "template_parameter_mismatch"),
            (send("welcome_back", "en_US", "Maria"), "template_parameter_mismatch"),
            (send("appointment_reminder", "en_US", "Maria", "Monday"), "template_parameter_mismatch"),
            (send("order_update", "fr", "Maria", "A-17"), "template_not_found"),
            (send("no_such_template", "en_US"), "template_not_found"),
            (send("spring_sale", "en_US", "Maria"), "template_not_found"),  # pending, not approved
        ],
    )
    async def test_a_template_meta_would_refuse_fails_by_name(
        self, http: httpx.AsyncClient, standin: CloudStandIn, message: OutboundMessage, reason: str
    ) -> None:
        with pytest.raises(Permanent) as caught:
            await cloud(http).send(PHONE_NUMBER_ID, message)
        assert caught.value.reason == reason
        assert standin.sent == []
