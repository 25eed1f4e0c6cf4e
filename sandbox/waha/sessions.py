"""Session lifecycle: STOPPED -> STARTING -> SCAN_QR_CODE -> WORKING, FAILED; QR rotation and pairing."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sandbox.waha import seeds
from sandbox.waha.jids import digits
from sandbox.waha.models import RetryPolicy, SandboxError, Session, Status, WebhookTarget
from sandbox.waha.payloads import status_payload

if TYPE_CHECKING:
    from sandbox.waha.state import SandboxState

DEFAULT_EVENTS = ["message", "session.status"]


def parse_webhooks(config: dict[str, Any]) -> list[WebhookTarget]:
    targets = []
    for raw in config.get("webhooks") or []:
        if not isinstance(raw, dict) or not isinstance(raw.get("url"), str):
            raise SandboxError(400, "config.webhooks[].url is required")
        retries = raw.get("retries") or {}
        hmac_key = (raw.get("hmac") or {}).get("key")
        targets.append(
            WebhookTarget(
                url=raw["url"],
                events=list(raw.get("events") or DEFAULT_EVENTS),
                hmac_key=hmac_key or None,
                retries=RetryPolicy(
                    policy=str(retries.get("policy", "constant")),
                    delay_seconds=float(retries.get("delaySeconds", 2)),
                    attempts=int(retries.get("attempts", 15)),
                ),
                custom_headers=[(str(h["name"]), str(h["value"])) for h in raw.get("customHeaders") or []],
            )
        )
    return targets


def create(state: SandboxState, name: str, config: dict[str, Any], *, start: bool) -> Session:
    if name in state.sessions:
        raise SandboxError(422, f"Session '{name}' already exists. Use PUT to update it.")
    session = Session(name=name, config=config, webhooks=parse_webhooks(config))
    session.statuses.append((str(Status.STOPPED), state.clock.now_ms()))
    state.sessions[name] = session
    if start:
        begin(state, session)
    return session


def update(state: SandboxState, session: Session, config: dict[str, Any]) -> Session:
    """PUT replaces the whole config and restarts a running session."""
    session.webhooks = parse_webhooks(config)
    session.config = config
    if session.status != Status.STOPPED:
        stop(state, session)
        begin(state, session)
    return session


def set_status(
    state: SandboxState, session: Session, status: Status, data: dict[str, Any] | None = None
) -> None:
    session.status = status
    session.statuses.append((str(status), state.clock.now_ms()))
    del session.statuses[:-10]
    state.emit(session, "session.status", status_payload(session, data))


def begin(state: SandboxState, session: Session) -> None:
    """STARTING now; a moment later WORKING when linked, else SCAN_QR_CODE with a fresh QR code."""
    session.qr_generation += 1
    generation = session.qr_generation
    set_status(state, session, Status.STARTING)

    def connected() -> None:
        if session.qr_generation != generation or session.status != Status.STARTING:
            return
        if session.phone:
            set_status(state, session, Status.WORKING)
        else:
            session.qr_rotations = 0
            _show_qr(state, session, generation)

    state.scheduler.after(0, connected, f"{session.name} connect")


def _show_qr(state: SandboxState, session: Session, generation: int) -> None:
    session.qr_value = state.ids.qr_value()
    set_status(state, session, Status.SCAN_QR_CODE)

    def rotate() -> None:
        if session.qr_generation != generation or session.status != Status.SCAN_QR_CODE:
            return
        session.qr_rotations += 1
        if state.qr_max_rotations is not None and session.qr_rotations > state.qr_max_rotations:
            session.qr_value = None
            set_status(state, session, Status.FAILED, {"reason": "QR code was not scanned in time"})
            return
        _show_qr(state, session, generation)

    state.scheduler.after(state.qr_rotation_seconds, rotate, f"{session.name} qr rotation")


def start(state: SandboxState, session: Session) -> Session:
    if session.status in (Status.STOPPED, Status.FAILED):
        begin(state, session)
    return session


def stop(state: SandboxState, session: Session) -> Session:
    session.qr_generation += 1
    session.qr_value = None
    if session.status != Status.STOPPED:
        set_status(state, session, Status.STOPPED)
    return session


def restart(state: SandboxState, session: Session) -> Session:
    stop(state, session)
    begin(state, session)
    return session


def unlink(session: Session) -> None:
    session.phone = None
    session.push_name = ""
    session.own_lid = None
    session.pairing = None
    session.chats.clear()
    session.groups.clear()
    session.lids.clear()


def logout(state: SandboxState, session: Session) -> Session:
    """API logout: the device is unlinked; a running session starts over at SCAN_QR_CODE."""
    running = session.status != Status.STOPPED
    unlink(session)
    if running:
        restart(state, session)
    return session


def phone_logout(state: SandboxState, session: Session) -> Session:
    """The linked device was removed from the phone: FAILED until the session is restarted and re-linked."""
    unlink(session)
    session.qr_generation += 1
    set_status(state, session, Status.FAILED, {"reason": "logged out from the phone (device removed)"})
    return session


def fail(state: SandboxState, session: Session, reason: str) -> Session:
    session.qr_generation += 1
    set_status(state, session, Status.FAILED, {"reason": reason})
    return session


def link(state: SandboxState, session: Session, phone: str, push_name: str) -> Session:
    number = digits(phone)
    if not 8 <= len(number) <= 15:
        raise SandboxError(400, f"'{phone}' is not a phone number with country code")
    session.qr_generation += 1
    session.qr_value = None
    session.pairing = None
    session.phone = number
    session.push_name = push_name or f"+{number}"
    session.own_lid = state.ids.lid()
    state.accounts.add(number)
    if state.seed_history:
        seeds.seed_history(state, session)
    set_status(state, session, Status.WORKING)
    return session


def scan(state: SandboxState, session: Session, phone: str, push_name: str, qr: str | None) -> Session:
    if session.status != Status.SCAN_QR_CODE or session.qr_value is None:
        raise SandboxError(
            409, f"Session '{session.name}' is not showing a QR code (status {session.status})"
        )
    if qr is not None and qr != session.qr_value:
        raise SandboxError(409, "This QR code has expired; scan the current one")
    return link(state, session, phone, push_name)


def request_code(state: SandboxState, session: Session, phone: str) -> str:
    if session.status != Status.SCAN_QR_CODE:
        raise SandboxError(
            422, f"Session '{session.name}' is not waiting for pairing (status {session.status})"
        )
    code = state.ids.pairing_code()
    session.pairing = (digits(phone), code)
    return code


def enter_code(state: SandboxState, session: Session, code: str, push_name: str = "") -> Session:
    """The user types the pairing code on their phone."""
    if session.pairing is None or session.status != Status.SCAN_QR_CODE:
        raise SandboxError(409, "No pairing code was requested for this session")
    phone, expected = session.pairing
    if code.replace("-", "").upper() != expected.replace("-", ""):
        raise SandboxError(409, "Wrong pairing code")
    return link(state, session, phone, push_name)
