"""What a fresh Pipedrive company already has: a default pipeline, built-in activity types, system fields."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sandbox.pipedrive.state import SandboxState

DEFAULT_STAGES = ("Qualified", "Contact Made", "Demo Scheduled", "Proposal Made", "Negotiations Started")
BUILTIN_ACTIVITY_TYPES = (
    ("Call", "call", "call"),
    ("Meeting", "meeting", "meeting"),
    ("Task", "task", "task"),
    ("Deadline", "deadline", "deadline"),
    ("Email", "email", "email"),
    ("Lunch", "lunch", "lunch"),
)
PERSON_SYSTEM_FIELDS = (
    ("name", "Name", "varchar"),
    ("first_name", "First name", "varchar"),
    ("last_name", "Last name", "varchar"),
    ("phone", "Phone", "phone"),
    ("email", "Email", "varchar"),
    ("owner_id", "Owner", "user"),
    ("org_id", "Organization", "org"),
    ("label_ids", "Labels", "set"),
)
DEAL_SYSTEM_FIELDS = (
    ("title", "Title", "varchar"),
    ("value", "Value", "monetary"),
    ("person_id", "Contact person", "people"),
    ("org_id", "Organization", "org"),
    ("pipeline_id", "Pipeline", "enum"),
    ("stage_id", "Stage", "enum"),
    ("status", "Status", "enum"),
    ("owner_id", "Owner", "user"),
)
ORGANIZATION_SYSTEM_FIELDS = (
    ("name", "Name", "varchar"),
    ("address", "Address", "address"),
    ("owner_id", "Owner", "user"),
    ("label_ids", "Labels", "set"),
)


def add_pipeline(state: SandboxState, company_id: int, name: str, stage_names: tuple[str, ...]) -> int:
    data = state.company_data(company_id)
    now = state.clock.now()
    pipeline_id = state.next_id("pipeline", company_id)
    data.pipelines[pipeline_id] = {
        "id": pipeline_id,
        "name": name,
        "order_nr": len(data.pipelines) + 1,
        "is_deleted": False,
        "is_deal_probability_enabled": False,
        "add_time": now,
        "update_time": now,
    }
    for order, stage_name in enumerate(stage_names, start=1):
        stage_id = state.next_id("stage", company_id)
        data.stages[stage_id] = {
            "id": stage_id,
            "order_nr": order,
            "name": stage_name,
            "is_deleted": False,
            "deal_probability": 100,
            "pipeline_id": pipeline_id,
            "is_deal_rot_enabled": False,
            "days_to_rotten": None,
            "add_time": now,
            "update_time": now,
        }
    return pipeline_id


def field_record(
    state: SandboxState, company_id: int, key: str, name: str, field_type: str, *, custom: bool, order: int
) -> dict[str, Any]:
    now = state.clock.now()
    return {
        "id": state.next_id("field", company_id),
        "key": key,
        "name": name,
        "field_type": field_type,
        "is_custom": custom,
        "order_nr": order,
        "options": None,
        "add_time": now,
        "update_time": now,
        "active": True,
        "add_visible_flag": True,
        "company_id": company_id,
    }


def install_company_defaults(state: SandboxState, company_id: int) -> None:
    data = state.company_data(company_id)
    add_pipeline(state, company_id, "Pipeline", DEFAULT_STAGES)
    now = state.clock.now()
    for order, (name, key, icon) in enumerate(BUILTIN_ACTIVITY_TYPES, start=1):
        type_id = state.next_id("activity_type", company_id)
        data.activity_types[type_id] = {
            "id": type_id,
            "name": name,
            "icon_key": icon,
            "color": None,
            "order_nr": order,
            "key_string": key,
            "active_flag": True,
            "is_custom_flag": False,
            "add_time": now,
            "update_time": now,
        }
    for store, fields in (
        (data.person_fields, PERSON_SYSTEM_FIELDS),
        (data.deal_fields, DEAL_SYSTEM_FIELDS),
        (data.organization_fields, ORGANIZATION_SYSTEM_FIELDS),
    ):
        for order, (key, name, field_type) in enumerate(fields, start=1):
            record = field_record(state, company_id, key, name, field_type, custom=False, order=order)
            store[record["id"]] = record
