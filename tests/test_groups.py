"""One event, many petitioners: a case group is routed by its scale and moves as one."""

from __future__ import annotations

import pytest

from geo_disputes.models import Banner, Case
from geo_disputes.services.cases.groups import apply_to_group, form_group
from geo_disputes.services.cases.intake import IntakeRequest, Petitioner, open_case
from geo_disputes.services.cases.workflow import WorkflowError

from .factories import MiningAreaFactory, box, seed_places

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
    with pytest.raises(WorkflowError):
        apply_to_group(group, "agreement")  # no text of the agreement given
    assert set(Case.objects.filter(group=group).values_list("status", flat=True)) == {"accepted"}


def test_a_group_is_one_category(households):
    other = households[0]
    other.category = "environment"
    other.save()
    with pytest.raises(ValueError, match="one category"):
        form_group("混合", households)
