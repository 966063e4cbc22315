"""Repeat petitions (services/cases/repeats.py): the same person on the same matter, and only that.

Each test registers a first matter, then a second one through the API, and checks whether the second was linked as a
repeat (status `repeat`, `repeat_of`) or is a matter of its own with its own clock.
"""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from geo_disputes.models import Banner, Case
from geo_disputes.models.cases import Status

from .factories import ParcelFactory, StaffFactory, box, intake_body, seed_places

pytestmark = pytest.mark.django_db

LI = {"name": "李桂兰", "phone": "13800001111", "id_number": "150622196503030022"}
LI_NO_ID = {"name": "李桂兰", "phone": "13800001111"}
SHUANGAOBAO = (111.05, 39.55)  # in the seed parcel of 双敖包村
BULA = (110.82, 39.65)  # 沙圪堵镇 不拉村, tens of kilometres away


@pytest.fixture
def admin() -> APIClient:
    Banner.objects.create(code="150622", name="准格尔旗", geom=box(110.1, 39.27, 111.5, 40.32))
    seed_places()
    ParcelFactory(code="150622106202JD00001", land_use="grassland", geom=box(111.04, 39.54, 111.06, 39.56))
    client = APIClient()
    client.force_authenticate(StaffFactory(role="banner_admin").user)
    return client


def register(client: APIClient, petitioner: dict, at=SHUANGAOBAO, **overrides) -> dict:
    body = intake_body(channel="letter", petitioners=[dict(petitioner)], lon=at[0], lat=at[1], **overrides)
    response = client.post("/api/cases/", body, format="json")
    assert response.status_code == 201, response.json()
    return response.json()


def assert_own_matter(second: dict) -> None:
    assert second["status"] == "reported" and second.get("repeat_of") in (None, "")
    if second["procedure"] == "petition":
        assert second["due"]["accept_by"] is not None  # a petition of its own: its own clock runs


def test_the_same_name_and_phone_without_an_id_number_is_the_same_person(admin):
    first = register(admin, LI_NO_ID)
    second = register(admin, LI_NO_ID, description="草场还是被占着")
    assert (second["status"], second["repeat_of"]) == ("repeat", first["reference"])
    assert second["due"]["accept_by"] is None


def test_the_same_name_with_another_phone_is_another_person(admin):
    register(admin, LI_NO_ID)
    assert_own_matter(register(admin, {**LI_NO_ID, "phone": "13900002222"}))


def test_another_petitioner_at_the_same_place_is_not_a_repeat(admin):
    """Same parcel, same category, same day: a neighbour's own petition (one event may have many petitioners)."""
    register(admin, LI)
    assert_own_matter(register(admin, {"name": "王秀英", "phone": "13700003333", "id_number": "150622197001010046"}))


def test_the_same_person_on_another_matter_elsewhere_is_not_a_repeat(admin):
    register(admin, LI)
    assert_own_matter(register(admin, LI, at=BULA, category="labour", description="工资被拖欠"))


def test_a_closed_original_is_not_repeated_a_new_request_is_a_new_matter(admin):
    first = register(admin, LI)
    Case.objects.filter(reference=first["reference"]).update(status=Status.CLOSED)
    assert_own_matter(register(admin, LI, description="又被占了"))


def test_the_same_person_under_another_category_far_off_in_the_same_village_is_another_matter(admin):
    """The place counts, not the label: another category is a repeat only at the same place (a shared parcel or
    within 500 m); 6 km away in the same village it is another matter. Same category in the same village: a repeat."""
    first = register(admin, LI)
    elsewhere = register(admin, LI, category="neighbour", at=(111.1, 39.6), description="邻居排水")
    assert elsewhere["village"]["code"] == first["village"]["code"] == "150622106202"
    assert_own_matter(elsewhere)
    same_category = register(admin, LI, at=(111.1, 39.6), description="草场又被占")
    assert (same_category["status"], same_category["repeat_of"]) == ("repeat", first["reference"])
