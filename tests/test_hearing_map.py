"""The printable hearing map: a mediator prints one page for the hearing and reads it on paper."""

from __future__ import annotations

import datetime as dt
import io
import re

import pytest
from django.contrib.gis.geos import Point
from django.test import Client
from pypdf import PdfReader

from geo_disputes.models.cases import Tier
from geo_disputes.services.areas import hearing_map
from tests.factories import CaseFactory, MiningAreaFactory, ParcelFactory, StaffFactory, box, seed_places

MINE_POINT = Point(111.26, 39.73, srid=4326)  # inside MiningAreaFactory's default box


@pytest.fixture
def mine_scene(db):
    """A coal mine with two parcels inside its influence zone and a subsidence case on one of them."""
    seed_places()
    mine = MiningAreaFactory(code="MA-HW", name="哈尔乌素露天煤矿")
    inside = ParcelFactory(code="150622004201JD00001", geom=box(111.272, 39.73, 111.276, 39.734))
    ParcelFactory(code="150622004201JD00002", land_use="homestead", geom=box(111.243, 39.72, 111.247, 39.724))
    case = CaseFactory(
        location=MINE_POINT,
        category="mining_subsidence",
        tier=Tier.MINING_COURT,
        mining_area_code="MA-HW",
        mining_relation="inside",
        village_code="150622004201",
    )
    case.parcels.add(inside)
    return mine, case


def pdf_text(data: bytes) -> tuple[int, str]:
    reader = PdfReader(io.BytesIO(data))
    return len(reader.pages), "".join(page.extract_text() for page in reader.pages)


def client_for(role: str, scope: str = "") -> Client:
    client = Client()
    client.force_login(StaffFactory(role=role, scope_code=scope).user)
    return client


def test_the_mine_page_is_one_a4_page_with_mine_scale_date_and_printer(mine_scene):
    mine, _ = mine_scene
    page = hearing_map.for_mining_area(mine, printed_by="法庭书记员", on=dt.date(2026, 12, 5))
    reader = PdfReader(io.BytesIO(hearing_map.render_pdf(page)))
    assert len(reader.pages) == 1
    width, height = float(reader.pages[0].mediabox.width), float(reader.pages[0].mediabox.height)
    assert (round(width), round(height)) == (842, 595)  # A4 landscape
    text = reader.pages[0].extract_text()
    for expected in ("哈尔乌素露天煤矿", "2026-12-05", "法庭书记员", "图例", "矿区影响区", "北", "草地", "宅基地"):
        assert expected in text
    assert re.search(r"比例尺 \d+(\.\d+)? (k?m)", text) and re.search(r"1:[\d,]+", text)
    assert "地块 2 宗" in text  # both parcels in the zone, each labelled with its use and area
    assert re.search(r"00001 草地 \d+\.\d亩", text)


def test_a3_is_available(mine_scene):
    mine, _ = mine_scene
    page = hearing_map.for_mining_area(mine, printed_by="x", on=dt.date(2026, 12, 5))
    reader = PdfReader(io.BytesIO(hearing_map.render_pdf(page, "A3")))
    assert round(float(reader.pages[0].mediabox.width)) == 1191


def test_the_court_prints_the_mine_map_from_the_court_map(mine_scene):
    response = client_for("mining_court").get("/maps/court/print/?mining_area=MA-HW")
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    pages, text = pdf_text(response.content)
    assert pages == 1 and "哈尔乌素露天煤矿" in text


def test_a_case_map_names_the_case_and_its_mine_but_no_petitioner(mine_scene):
    _, case = mine_scene
    case.petitioners.create(name="王建国", phone="13900000000", id_number="150622197001010011")
    response = client_for("mining_court").get(f"/cases/{case.reference}/map.pdf")
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    pages, text = pdf_text(response.content)
    assert pages == 1 and case.reference in text and "哈尔乌素露天煤矿" in text and "村界" in text
    assert "王建国" not in text and "139" not in text
    assert client_for("mining_court").get(f"/maps/court/print/?case={case.reference}").status_code == 200


def test_users_out_of_scope_get_403_or_404(mine_scene, client):
    _, case = mine_scene
    planner = client_for("planner")
    assert planner.get("/maps/court/print/?mining_area=MA-HW").status_code == 403
    other_village = client_for("village_officer", "150622101206")
    assert other_village.get(f"/cases/{case.reference}/map.pdf").status_code == 404
    assert client_for("mining_court").get("/maps/court/print/?mining_area=NOPE").status_code == 404
    assert client_for("mining_court").get("/cases/2099-99999/map.pdf").status_code == 404
    assert client.get(f"/cases/{case.reference}/map.pdf").status_code == 302  # login first


def test_a_planner_gets_no_hearing_map_of_a_case_nor_a_link_to_one(mine_scene):
    """The printed map draws the exact point and the linked parcel (a household's); a planner sees the case with a
    coarse point only (an attack printed the map and read the homestead beside the case's label)."""
    _, case = mine_scene
    planner = client_for("planner")
    assert planner.get(f"/cases/{case.reference}/").status_code == 200
    assert planner.get(f"/cases/{case.reference}/map.pdf").status_code == 404
    assert planner.get(f"/maps/court/print/?case={case.reference}").status_code == 404
    assert "/map.pdf" not in planner.get(f"/cases/{case.reference}/").content.decode()


def test_the_case_page_links_to_the_map_at_the_case_and_to_its_printable_map(mine_scene):
    _, case = mine_scene
    html = client_for("mining_court").get(f"/cases/{case.reference}/").content.decode()
    assert "在地图上查看" in html and "打印地图" in html
    assert f'href="/maps/court/#map=16/{case.location.y:g}/{case.location.x:g}"' in html
    assert f'href="/cases/{case.reference}/map.pdf"' in html
