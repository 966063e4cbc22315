"""Plain-dict shapes of domain objects for the JSON API (one place per shape)."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from geo_disputes.models import Case, Grid, MiningArea, Parcel, Township, Unit, Village
from geo_disputes.services.areas.locate import Location
from geo_disputes.services.cases.access import (
    WITHHELD,
    accused_persons_view,
    can_read_contract_numbers,
    case_as_seen,
    changes_as_seen,
    may_perform,
    parcel_holder,
    petitioner_view,
    visible_changes,
    visible_reference,
)
from geo_disputes.services.cases.clock import due_dates, local_date
from geo_disputes.services.cases.workflow import allowed_actions


def location_dict(loc: Location, user) -> dict:
    return {
        "point": {"lon": round(loc.lon, 7), "lat": round(loc.lat, 7)},
        "datum": loc.datum.value,
        "submitted": {"lon": loc.submitted[0], "lat": loc.submitted[1]},
        "township": area_ref(loc.township),
        "village": area_ref(loc.village),
        "grid": grid_dict(loc.grid),
        "mining_areas": [
            {
                "id": m.area.pk,
                "code": m.area.code,
                "name": m.area.name,
                "relation": m.relation,
                "operator": m.area.operator,
                "influence_buffer_m": m.area.influence_buffer_m,
            }
            for m in loc.mining
        ],
        "parcels": [parcel_dict(p, user) for p in loc.parcels],
    }


def area_ref(area) -> dict | None:
    if area is None:
        return None
    return {"code": area.code, "name": area.name}


def grid_dict(grid) -> dict | None:
    if grid is None:
        return None
    return {
        "code": grid.code,
        "name": grid.name,
        "households": grid.households,
        # The grid worker is the household's petition agent: a public contact, not personal data.
        "worker": {"name": grid.worker_name, "phone": grid.worker_phone},
    }


def parcel_dict(parcel: Parcel, user, personal: bool = True) -> dict:
    return {
        "code": parcel.code,
        "name": parcel.name,
        "land_use": parcel.land_use,
        "land_use_label": parcel.get_land_use_display(),
        "area_mu": float(parcel.area_mu) if parcel.area_mu is not None else None,
        "contract_no": parcel.contract_no if can_read_contract_numbers(user) else "",
        "holder": parcel_holder(user, parcel) if personal else None,
    }


def case_dict(case: Case, user, history: bool = False, personal: bool = True) -> dict:
    """A case as the API shows it to `user`: context, why this tier, derived deadlines, masked petitioners.

    `personal=False` leaves out petitioners and parcel holders (None), so a view that shows neither — a map
    popup — does not read them and is not recorded as a view of personal data. Someone who does not handle
    the case (a planner, field staff) reads it through access.case_as_seen: description redacted, free text
    and named people withheld, a coarse point and no parcels (a parcel pinpoints a household).
    """
    case, full = case_as_seen(user, case)
    on = local_date(case.received_at)
    dues = due_dates(case)
    mining = (
        MiningArea.objects.in_force(on).filter(code=case.mining_area_code).first() if case.mining_area_code else None
    )
    body = {
        "reference": case.reference,
        "category": case.category,
        "category_label": case.get_category_display(),
        "channel": case.channel,
        "kind": case.kind,
        "procedure": case.procedure,
        "procedure_label": case.get_procedure_display(),
        "description": case.description,
        "status": case.status,
        "status_label": case.get_status_display(),
        "location": {"lon": round(case.location.x, 7), "lat": round(case.location.y, 7)},
        "datum": case.datum,
        "submitted": {"lon": case.submitted_lon, "lat": case.submitted_lat},
        "accuracy_m": case.accuracy_m,
        "township": area_ref(Township.objects.in_force(on).filter(code=case.township_code).first()),
        "village": area_ref(Village.objects.in_force(on).filter(code=case.village_code).first()),
        "grid": grid_dict(Grid.objects.in_force(on).filter(code=case.grid_code).first()),
        "mining_area": (
            {"id": mining.pk, "code": mining.code, "name": mining.name, "relation": case.mining_relation}
            if mining
            else None
        ),
        "parcels": [parcel_dict(p, user, personal) for p in case.parcels.order_by("code")] if full else [],
        "households_affected": case.households_affected,
        "departments": case.departments,
        "legacy": case.legacy,
        "tier": case.tier,
        "tier_label": case.get_tier_display(),
        "unit": unit_ref(case.unit),
        "partner_units": [unit_ref(u) for u in case.partner_units.order_by("code")],
        "responsible_person": case.responsible_person,
        "routing_rule": str(case.routing_rule) if case.routing_rule_id else "",
        "routing_reason": case.routing_reason,
        "due": {
            "accept_by": _iso(dues.accept_by),
            "object_by": _iso(dues.object_by),
            "conclude_by": _iso(dues.conclude_by),
            "review_request_by": _iso(dues.review_request_by),
            "review_decide_by": _iso(dues.review_decide_by),
            "confirm_apply_by": _iso(dues.confirm_apply_by),
            "agenda_deadline": _iso(dues.agenda_deadline),
            "next_due": _iso(dues.next_due),
            "next_due_kind": dues.next_due_kind.value if dues.next_due_kind else None,
            "state": dues.state.value,
            "days_left": dues.days_left,
            "supervision": dues.supervision.value,
        },
        "supervision": [
            {
                "kind": act.kind,
                "kind_label": act.get_kind_display(),
                "unit": act.unit.code if act.unit_id else None,
                "ordered_by": act.ordered_by,
                "at": _iso(act.at),
                "deadline": _iso(act.deadline),
                "reason": act.reason if full else WITHHELD,
            }
            for act in case.supervision_acts.select_related("unit").order_by("at", "id")
        ],
        "received_at": _iso(case.received_at),
        "holder_received_at": _iso(case.holder_received_at or case.received_at),
        "forwarded_by": unit_ref(case.forwarded_by) if case.forwarded_by_id else None,
        "above_banner": case.above_banner,
        "accepted_at": _iso(case.accepted_at),
        "replied_at": _iso(case.replied_at),
        "extension": {
            "days": case.extension_days,
            "reason": case.extension_reason,
            "approved_by": case.extension_approved_by,
            "told_at": _iso(case.extension_told_at),
        },
        "extension_days": case.extension_days,
        "extension_reason": case.extension_reason,
        "petition": {
            "route": case.petition_route,
            "opinion": case.opinion_outcome,
            "served_at": _iso(case.served_at),
            "served_method": case.served_method,
            "review_round": case.review_round,
            "review_requested_at": _iso(case.review_requested_at),
            "review_external": case.review_external,
            "review_outcome": case.review_outcome,
            "review_decided_at": _iso(case.review_decided_at),
        },
        "mediation": {
            "mediators": case.mediators,
            "sessions": _sessions(case, full),
            "outcome": case.mediation_outcome,
            "agreement_at": _iso(case.agreement_at),
            "judicial_confirmation": {
                "applied_at": _iso(case.confirmation_applied_at),
                "court": case.confirmation_court,
                "number": case.confirmation_number,
                "ruled_at": _iso(case.confirmation_ruled_at),
            },
        },
        "legal": {
            "body": case.legal_body,
            "number": case.legal_number,
            "led_into_at": _iso(case.led_into_at),
            "pre_mediation_at": _iso(case.pre_mediation_at),
            "filed_at": _iso(case.filed_at),
            "outcome": case.legal_outcome,
            "outcome_at": _iso(case.legal_outcome_at),
        },
        "agenda": {"date": _iso(case.agenda_date), "plan": case.agenda_plan, "deadline": _iso(case.agenda_deadline)},
        "resolution_method": case.resolution_method,
        "outcome": case.outcome,
        "satisfaction": case.satisfaction,
        "follow_ups": [
            {
                "at": _iso(f.at),
                "by": f.by if full else WITHHELD,
                "method": f.method,
                "satisfaction": f.satisfaction or None,
                "unreachable": f.unreachable,
            }
            for f in case.follow_ups.order_by("at", "id")
        ],
        "group": {"id": case.group_id, "title": case.group.title} if case.group_id else None,
        "repeat_of": visible_reference(user, case.repeat_of_id),
        "accused_persons": [
            {"name": p.name, "position": p.position, "unit": p.unit.code if p.unit_id else ""}
            for p in accused_persons_view(user, case)
        ],
        "petitioners": petitioner_view(user, case) if personal else None,
        "version": case.version,
        "allowed_actions": [a for a in allowed_actions(case) if may_perform(user, case, a)],
    }
    if history:
        body["history"] = [
            {
                "at": _iso(e.at),
                "actor": e.actor.username if e.actor_id else "系统",
                "action": e.action,
                "from": e.from_status,
                "to": e.to_status,
                "changes": changes_as_seen(visible_changes(user, e.changes), full),
                "reason": e.reason if full else (WITHHELD if e.reason else ""),
                "rule": str(e.rule) if e.rule_id else "",
            }
            for e in case.events.select_related("actor", "rule").order_by("at", "id")
        ]
    return body


def _sessions(case: Case, full: bool) -> list[dict]:
    """The mediation sessions; their mediators are named people, withheld from non-handlers."""
    sessions = [e.changes["session"] for e in case.events.filter(action="session").order_by("at", "id")]
    return sessions if full else [{"at": s.get("at"), "mediators": WITHHELD} for s in sessions]


def unit_ref(unit: Unit | None) -> dict | None:
    return {"code": unit.code, "name": unit.name} if unit else None


def _iso(value) -> str | None:
    """ISO 8601; date-times in the banner's local time (Asia/Shanghai), as users read them."""
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        value = timezone.localtime(value)
    return value.isoformat()


def receipt_dict(case: Case) -> dict:
    """What the person who registered a case gets when they may not see it (they stand on the accused side, or
    were recused): the reference to hand the petitioner, and nothing of the matter or who holds it (条例 Art. 30)."""
    return {
        "reference": case.reference,
        "received_at": _iso(case.received_at),
        "visible": False,
        "detail": "已登记,由有权机关办理;您不在此事项的经办范围 / registered; it is handled by a body with "
        "authority and is outside what you may see",
    }
