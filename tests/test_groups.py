"""One event, many petitioners: a case group is routed by its scale and moves as one."""

from __future__ import annotations

import pytest
from django.contrib.gis.geos import Point
from django.test import Client

from geo_disputes.models import Banner, Case
from geo_disputes.models.cases import GroupProposal
from geo_disputes.services.cases.groups import apply_to_group, form_group
from geo_disputes.services.cases.intake import IntakeRequest, Petitioner, open_case
from geo_disputes.services.cases.workflow import WorkflowError

from .factories import CaseFactory, MiningAreaFactory, StaffFactory, as_role, box, intake_body, seed_places

pytestmark = pytest.mark.django_db


@pytest.fixture
def households():
    Banner.objects.create(code="150622", name="准格尔旗", geom=box(110.1, 39.27, 111.5, 40.32))
    seed_places()
    MiningAreaFactory(code="KQ-02", name="黑岱沟露天煤矿", geom=box(111.22, 39.82, 111.28, 39.88))
    return [
        open_case(
            IntakeRequest(
                category="land_occupation",
                channel="talk_room",
                description="采矿排土占用草场",
                lon=111.21,
                lat=39.81 + i * 0.001,
                petitioners=[Petitioner(name=f"王{i}")],
            )
        )
        for i in range(5)
    ]


def test_a_group_is_routed_by_all_its_households_and_keeps_each_petitioner(households):
    assert {c.tier for c in households} == {"village"}  # alone, each is a one-household village matter
    group = form_group("王家圪楞社草场被占", households)
    members = Case.objects.filter(group=group)
    assert members.count() == 5
    assert set(members.values_list("tier", flat=True)) == {"township"}
    assert set(members.values_list("unit__code", flat=True)) == {"TC-150622004"}
    assert sorted(p.petitioners.get().name for p in members) == [f"王{i}" for i in range(5)]


def test_an_action_on_the_group_moves_every_member_or_none(households):
    group = form_group("王家圪楞社草场被占", households)
    apply_to_group(group, "accept")
    assert set(Case.objects.filter(group=group).values_list("status", flat=True)) == {"accepted"}
    with pytest.raises(WorkflowError, match="text"):
        apply_to_group(group, "agreement")  # no text of the agreement given
    assert set(Case.objects.filter(group=group).values_list("status", flat=True)) == {"accepted"}


def test_a_later_member_refusing_rolls_back_the_members_before_it(households):
    """Members move in order of receipt; when the fourth cannot take the action, the three before it (already
    moved in the same transaction) go back to where they were, with no history written."""
    from geo_disputes.models import CaseEvent
    from geo_disputes.services.cases.workflow import perform

    group = form_group("王家圪楞社草场被占", households)
    members = list(Case.objects.filter(group=group).order_by("received_at", "pk"))
    perform(members[3], "accept", None, members[3].version, {})  # the fourth is accepted already, on its own
    events = CaseEvent.objects.count()
    with pytest.raises(WorkflowError, match=f"cannot accept {members[3].reference}: it is accepted"):
        apply_to_group(group, "accept")
    statuses = dict(Case.objects.filter(group=group).values_list("pk", "status"))
    assert [statuses[m.pk] for m in members] == ["reported", "reported", "reported", "accepted", "reported"]
    assert CaseEvent.objects.count() == events


def test_a_group_is_one_category(households):
    other = households[0]
    other.category = "environment"
    other.save()
    with pytest.raises(ValueError, match="one category"):
        form_group("混合", households)


# Joining a group at intake: scope- and category-checked (issue 12 item 5) ---------------------------

SUJIGOU = (111.25, 39.85)  # 友谊街道 苏计沟村 (seed_places)
SECRET_TITLE = "王家圪楞社房屋开裂(保密标题)"


@pytest.fixture
def youyi_group():
    """A group of one land-occupation case in 友谊街道, outside 魏家峁镇's scope."""
    Banner.objects.create(code="150622", name="准格尔旗", geom=box(110.1, 39.27, 111.5, 40.32))
    seed_places()
    member = CaseFactory(location=Point(*SUJIGOU, srid=4326), township_code="150622004", village_code="150622004201")
    return form_group(SECRET_TITLE, [member])


def _post(client, **overrides):
    client.raise_request_exception = False
    return client.post("/api/cases/", intake_body(**overrides), format="json")


def test_a_group_out_of_scope_is_answered_as_a_missing_one_and_its_title_never_shown(youyi_group):
    officer = as_role("township_officer", "150622106")  # 魏家峁镇: sees none of the group's cases
    hidden = _post(officer, group=youyi_group.pk)
    missing = _post(officer, group=youyi_group.pk + 1000)
    assert hidden.status_code == missing.status_code == 400
    assert list(hidden.json()) == ["group"]
    assert hidden.json()["group"] == missing.json()["group"].replace(str(youyi_group.pk + 1000), str(youyi_group.pk))
    assert SECRET_TITLE not in hidden.content.decode() and "mining" not in hidden.content.decode()
    assert Case.objects.count() == 1  # the group's own member only


def test_a_group_of_another_category_is_refused_naming_the_field(youyi_group):
    response = _post(as_role("banner_admin"), group=youyi_group.pk, category="utilities")
    assert response.status_code == 400 and list(response.json()) == ["group"]
    assert "category" in response.json()["group"] and SECRET_TITLE not in response.content.decode()
    assert Case.objects.count() == 1


def test_a_group_in_scope_and_of_the_same_category_is_joined(youyi_group):
    response = _post(as_role("township_officer", "150622004"), group=youyi_group.pk, lon=SUJIGOU[0], lat=SUJIGOU[1])
    assert response.status_code == 201, response.json()
    assert response.json()["group"] == {"id": youyi_group.pk, "title": SECRET_TITLE}
    assert Case.objects.filter(group=youyi_group).count() == 2


def test_the_intake_page_refuses_a_group_out_of_scope_on_its_field(youyi_group):
    client = Client()
    client.force_login(StaffFactory(role="township_officer", scope_code="150622106").user)
    data = {
        "category": "land_occupation",
        "channel": "talk_room",
        "kind": "claim",
        "description": "8亩多草地被占用",
        "lon": "111.05",
        "lat": "39.55",
        "datum": "wgs84",
        "households_affected": "1",
        "group": str(youyi_group.pk),
        "petitioners-TOTAL_FORMS": "1",
        "petitioners-INITIAL_FORMS": "0",
        "petitioners-0-name": "王建国",
    }
    response = client.post("/cases/new/", data)
    assert response.status_code == 400
    assert list(response.context["form"].errors) == ["group"]
    assert SECRET_TITLE not in response.content.decode()
    other = client.post("/cases/new/", {**data, "group": str(youyi_group.pk), "category": "utilities"})
    assert list(other.context["form"].errors) == ["group"]  # still "no such group": its category is not told
    assert Case.objects.count() == 1


def test_confirming_a_proposal_into_a_group_of_another_category_is_a_conflict_not_a_500(youyi_group):
    """A case that joined a group of another category (as intake once allowed) next to an ungrouped one."""
    stray = Case.objects.get(group=youyi_group)
    Case.objects.filter(pk=stray.pk).update(category="utilities")  # the group is land_occupation
    neighbour = CaseFactory(
        category="utilities",
        location=Point(SUJIGOU[0] + 0.001, SUJIGOU[1], srid=4326),
        township_code="150622004",
        village_code="150622004201",
    )
    admin = as_role("banner_admin")
    admin.raise_request_exception = False
    [proposal] = admin.get("/api/group-proposals/").json()["results"]
    assert proposal["extends_group"] == youyi_group.pk
    response = admin.post(f"/api/group-proposals/{proposal['id']}/confirm/", {}, format="json")
    assert response.status_code == 409 and "category" in response.json()["detail"]
    neighbour.refresh_from_db()
    assert neighbour.group_id is None and not GroupProposal.objects.exists()
