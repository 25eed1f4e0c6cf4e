"""A WAHA-compatible WhatsApp gateway with a simulated phone.

`create_app(state, api_key=..., webhook_client=...)` serves WAHA's REST subset (sessions, QR and pairing,
sends, history, groups, LIDs, files) with signed webhooks; `SandboxState` is the Python API tests drive
it with (clock, inbound messages, fault switches, `await state.settle()`); `/_sim/...` exposes the same
controls over HTTP and `/_sim/phone/{session}` is the simulated phone page.
"""

from sandbox.waha.app import create_app
from sandbox.waha.clock import Clock
from sandbox.waha.models import Faults, SandboxError, Status
from sandbox.waha.state import SandboxState
from sandbox.waha.webhooks import Delivery, sign

__all__ = ["Clock", "Delivery", "Faults", "SandboxError", "SandboxState", "Status", "create_app", "sign"]
