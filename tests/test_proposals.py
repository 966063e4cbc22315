"""Proposed case groups: near in space and time, same parcel or same petitioner; confirmed or rejected by a person."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.gis.geos import Point
from django.utils import timezone

from geo_disputes.models import Case, CaseEvent, CaseGroup, CaseParcel
from geo_disputes.models.cases import GroupProposal
from geo_disputes.services.cases.proposals import ProposalError, confirm, proposals, reject, visible_proposals

from .factories import CaseFactory, ParcelFactory, PartyFactory, StaffFactory

pytestmark = pytest.mark.django_db

BASE = (111.05, 39.55)
DEG_100M = 0.00117  # about 100 m of longitude at 39.5 N
VILLAGE_A, VILLAGE_B = "150622106202", "150622106201"


def _case(dx_m: float = 0, days: float = 0, **kw) -> Case:
    lon, lat = BASE[0] + dx_m / 100 * DEG_100M, BASE[1]
    received = timezone.now() - dt.timedelta(days=40) + dt.timedelta(days=days)
    kw.setdefault("village_code", VILLAGE_A)
    kw.setdefault("township_code", "150622106")
    return CaseFactory(
        location=Point(lon, lat, srid=4326), submitted_lon=lon, submitted_lat=lat, received_at=received, **kw
    )


def _refs(found) -> list[set[str]]:
    return [set(p.references) for p in found]


def test_near_in_space_and_time_and_same_category_is_proposed():
    a, b = _case(0), _case(150, days=3)
    _case(150, days=2, category="utilities")  # another matter
    _case(5000, days=1)  # far away
    _case(100, days=90)  # long after
    found = proposals()
    assert _refs(found) == [{a.reference, b.reference}]
    assert found[0].reasons == ("near",) and found[0].extends_group is None


def test_same_parcel_and_same_petitioner_link_cases_far_apart():
    parcel = ParcelFactory()
    a, b = _case(0, category="land_contract"), _case(3000, days=20, category="land_contract")
    CaseParcel.objects.create(case=a, parcel=parcel)
    CaseParcel.objects.create(case=b, parcel=parcel, source="named")
    c, d = _case(8000, category="labour"), _case(20000, days=-25, category="labour")
    PartyFactory(case=c, id_number="150622198001010016")
    PartyFactory(case=d, name="李某", id_number="150622198001010016")
    e, f = _case(30000, category="family"), _case(40000, days=10, category="family")
    PartyFactory(case=e, name="赵四", phone="13900001111", id_number="")
    PartyFactory(case=f, name="赵四", phone="13900001111", id_number="")
    found = {p.category: p for p in proposals()}
    assert set(found["land_contract"].references) == {a.reference, b.reference}
    assert found["land_contract"].reasons == ("same_parcel",)
    assert set(found["labour"].references) == {c.reference, d.reference}
    assert found["labour"].reasons == ("same_petitioner",)
    assert set(found["family"].references) == {e.reference, f.reference}


def test_chains_join_into_one_proposal_and_closed_cases_and_repeats_stay_out():
    a, b, c = _case(0), _case(250, days=2), _case(500, days=4)  # a-b and b-c near, a-c not
    _case(100, days=1, status="closed")
    _case(50, days=1, repeat_of=a)
    assert _refs(proposals()) == [{a.reference, b.reference, c.reference}]


def test_confirm_forms_a_group_and_the_proposal_is_gone():
    a, b = _case(0), _case(100, days=1)
    admin = StaffFactory(role="banner_admin").user
    (proposal,) = proposals()
    group = confirm(proposal.id, admin, title="同一草场被占")
    assert set(Case.objects.filter(group=group).values_list("pk", flat=True)) == {a.pk, b.pk}
    assert group.title == "同一草场被占"
    decision = GroupProposal.objects.get(signature=proposal.id)
    assert decision.status == "confirmed" and decision.group == group and decision.decided_by == admin
    assert set(decision.cases.values_list("pk", flat=True)) == {a.pk, b.pk}
    assert proposals() == []
    with pytest.raises(ProposalError) as err:
        confirm(proposal.id, admin)
    assert err.value.status == 409


def test_a_rejected_set_is_not_proposed_again_but_a_new_member_makes_a_new_proposal():
    a, b = _case(0), _case(100, days=1)
    admin = StaffFactory(role="banner_admin").user
    (proposal,) = proposals()
    reject(proposal.id, admin, note="两户各自的事")
    assert GroupProposal.objects.get(signature=proposal.id).status == "rejected"
    assert proposals() == []
    assert Case.objects.filter(group__isnull=False).count() == 0
    c = _case(200, days=2)
    assert _refs(proposals()) == [{a.reference, b.reference, c.reference}]


def test_a_case_near_a_group_is_proposed_as_an_extension():
    a, b = _case(0), _case(100, days=1)
    group = CaseGroup.objects.create(title="王家圪楞社草场", category="land_occupation")
    Case.objects.filter(pk__in=[a.pk, b.pk]).update(group=group)
    assert proposals() == []  # already one group
    c = _case(150, days=2)
    (proposal,) = proposals()
    assert proposal.extends_group == group.pk
    assert confirm(proposal.id, StaffFactory(role="banner_admin").user) == group
    assert set(Case.objects.filter(group=group).values_list("pk", flat=True)) == {a.pk, b.pk, c.pk}
    assert CaseEvent.objects.filter(case=c, action="group").exists()
    assert CaseEvent.objects.filter(case=a, action="route").exists()  # every member routed by the new scale


def test_only_users_who_may_act_on_every_member_decide(api_client):
    _case(0), _case(100, days=1, village_code=VILLAGE_B)
    planner = StaffFactory(role="planner").user
    officer_a = StaffFactory(role="village_officer", scope_code=VILLAGE_A).user
    township = StaffFactory(role="township_officer", scope_code="150622106").user
    (proposal,) = proposals()
    # The village officer sees only one of the two cases: the proposal is not theirs to see.
    assert visible_proposals(officer_a) == []
    api_client.force_authenticate(officer_a)
    assert api_client.get("/api/group-proposals/").json()["count"] == 0
    assert api_client.post(f"/api/group-proposals/{proposal.id}/confirm/").status_code == 404
    # Planners see every proposal but never act.
    api_client.force_authenticate(planner)
    listed = api_client.get("/api/group-proposals/").json()
    assert listed["count"] == 1 and listed["results"][0]["id"] == proposal.id
    assert {c["reference"] for c in listed["results"][0]["cases"]} == set(proposal.references)
    assert api_client.post(f"/api/group-proposals/{proposal.id}/reject/").status_code == 403
    assert not GroupProposal.objects.exists()
    # The township officer may act on both.
    api_client.force_authenticate(township)
    response = api_client.post(f"/api/group-proposals/{proposal.id}/confirm/", {"title": "两村同一事件"}, format="json")
    assert response.status_code == 200 and response.json()["status"] == "confirmed"
    assert Case.objects.filter(group__title="两村同一事件").count() == 2
    assert api_client.post(f"/api/group-proposals/{proposal.id}/reject/").status_code == 409
    assert api_client.post("/api/group-proposals/nosuchproposal/reject/").status_code == 404


def test_only_the_holders_tier_or_above_decides_a_proposal(api_client):
    """Confirming regroups the members and routes each again by the group's scale — it moves matters, as a
    transfer does. A township officer or a grid worker must not do that to matters held at the banner (item 4)."""
    from .factories import UnitFactory

    leadership = UnitFactory(code="BL-150622", name="旗领导包案", kind="banner_leadership", area_code="150622")
    for dx, days in ((0, 0), (100, 1)):
        _case(dx, days=days, tier="banner", unit=leadership, grid_code=f"{VILLAGE_A}-001")
    (proposal,) = proposals()
    for role, scope in (("township_officer", "150622106"), ("grid_worker", f"{VILLAGE_A}-001")):
        api_client.force_authenticate(StaffFactory(role=role, scope_code=scope).user)
        assert api_client.get("/api/group-proposals/").json()["count"] == 1  # they see it
        for decision in ("confirm", "reject"):
            answer = api_client.post(f"/api/group-proposals/{proposal.id}/{decision}/", {}, format="json")
            assert answer.status_code == 403, (role, decision, answer.content)
    assert not GroupProposal.objects.exists()
    assert set(Case.objects.values_list("tier", "unit__code")) == {("banner", "BL-150622")}
    api_client.force_authenticate(StaffFactory(role="banner_admin").user)
    assert api_client.post(f"/api/group-proposals/{proposal.id}/reject/", {}, format="json").status_code == 200
