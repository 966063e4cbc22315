"""Nothing of an accusation reaches the accused side, on any surface (条例 Art. 30 ¶3; issue 12).

Two accusations: one against 不拉村's committee naming its director (who has an account, here with
a banner-wide role), one against the banner energy bureau, which the routing rule would have made a
co-handler. Every account on the accused side — the village's officer, the grid worker of its grid,
field staff bound to it by scope or by unit, the director himself, a township officer who recused
himself, the energy bureau's staff — walks every surface a user or client program touches: lists,
details, pages, the CSV export, map pages, case points, clusters, hot spots, group proposals, stats,
the dashboard, the monthly report, queues and agenda, and the intake answer of a repeat by the same
petitioner. None may carry the accusation's reference, text, position, petitioner or accused name.
A banner admin outside it sees the accusations on the same surfaces, so the test can fail.
"""

from __future__ import annotations

import io

import pytest
from django.test import Client
from PIL import Image
from rest_framework.test import APIClient

from geo_disputes.models import Banner, Unit
from geo_disputes.services.cases.recusal import record_recusal
from tests.factories import StaffFactory, UnitFactory, box, intake_body, seed_places

pytestmark = pytest.mark.django_db

SHAGEDU, BULA = "150622101", "150622101206"
SPOT = (110.8071234, 39.6051234)  # in 不拉村's grid -001; its digits mark the point in any answer
BUREAU_SPOT = (110.8233456, 39.6433456)  # elsewhere in 不拉村
ACCUSER = {"name": "赵举报", "phone": "13700001111", "id_number": "150622198203040015"}
BUREAU_ACCUSER = {"name": "钱检举", "phone": "13700002222", "id_number": "150622198203040031"}
# What would identify each accusation: its text, accuser, accused person, phone and point.
MARKERS = {
    "village": ("MARKVC", "赵举报", "李主任", "13700001111", "110.80712"),
    "bureau": ("MARKBD", "钱检举", "13700002222", "110.82334"),
}

SURFACES = [
    "/api/cases/?page_size=500",
    "/api/case-points/",
    "/api/clusters/?min_points=2",
    "/api/hotspots/",
    "/api/emerging-hotspots/",
    "/api/group-proposals/",
    "/api/stats/",
    "/cases/",
    "/cases/export.csv",
    "/dashboard/",
    "/report/monthly/",
    "/report/monthly.csv",
    "/queues/",
    "/agenda/",
    "/maps/field/",
    "/maps/court/",
    "/maps/planner/",
]


@pytest.fixture
def accusations(django_user_model):
    Banner.objects.create(code="150622", name="准格尔旗", geom=box(110.1, 39.27, 111.5, 40.32))
    seed_places()
    UnitFactory(code="BD-discipline", name="旗纪委监委", kind="banner_department", area_code="150622")
    director = StaffFactory(role="banner_admin").user
    admin = APIClient()
    admin.force_authenticate(StaffFactory(role="banner_admin").user)
    common = dict(category="land_occupation", lon=SPOT[0], lat=SPOT[1], petitioners=[dict(ACCUSER)], channel="letter")
    village = admin.post(
        "/api/cases/",
        intake_body(
            **common,
            kind="accusation",
            description="检举MARKVC 村委会主任私自出租集体草场",
            accused_unit=f"VC-{BULA}",
            accused_persons=[{"name": "李主任", "position": "村委会主任", "user": director.username}],
        ),
        format="json",
    ).json()
    bureau = admin.post(
        "/api/cases/",
        intake_body(
            **{**common, "lon": BUREAU_SPOT[0], "lat": BUREAU_SPOT[1], "petitioners": [dict(BUREAU_ACCUSER)]},
            kind="accusation",
            description="检举MARKBD 能源局工作人员违规审批",
            accused_unit="BD-energy",
            departments=["energy"],
        ),
        format="json",
    ).json()
    # Two ordinary matters at the same spot, so clusters and group proposals have something to show.
    for text in ("草场边界纠纷", "草场边界纠纷,邻户又来反映"):
        plain = dict(common, petitioners=[], description=text, lon=110.8075, lat=39.6055)
        assert admin.post("/api/cases/", intake_body(**plain), format="json").status_code == 201
    recused = StaffFactory(role="township_officer", scope_code=SHAGEDU).user
    from geo_disputes.models import Case

    record_recusal(Case.objects.get(reference=village["reference"]), recused, recused.username, "interest", "亲属")
    files = {}
    for which, answer in (("village", village), ("bureau", bureau)):  # the accuser's photo of the evidence
        photo = io.BytesIO()
        Image.new("RGB", (64, 48), (90, 140, 60)).save(photo, "JPEG")
        photo.name = f"MARK{which}-证据.jpg"
        photo.seek(0)
        sent = admin.post(f"/api/cases/{answer['reference']}/attachments/", {"file": photo}, format="multipart")
        assert sent.status_code == 201, sent.content
        files[which] = sent.json()["id"]
    return {
        "village": village["reference"],
        "bureau": bureau["reference"],
        "director": director,
        "recused": recused,
        "files": files,
    }


def _accused_side(accusations) -> dict[str, tuple[object, str]]:
    """Each account on the accused side, with the accusation (key) it must never see."""
    vc, energy = (Unit.objects.get(code=c) for c in (f"VC-{BULA}", "BD-energy"))
    village, bureau = "village", "bureau"
    return {
        "village_officer": (StaffFactory(role="village_officer", scope_code=BULA).user, village),
        "grid_worker": (StaffFactory(role="grid_worker", scope_code=f"{BULA}-001").user, village),
        "field_staff_by_scope": (StaffFactory(role="field_staff", scope_code=BULA).user, village),
        "field_staff_by_unit": (StaffFactory(role="field_staff", unit=vc).user, village),
        "accused_director": (accusations["director"], village),
        "recused_township_officer": (accusations["recused"], village),
        "energy_bureau_admin": (StaffFactory(role="banner_admin", unit=energy).user, bureau),
        "energy_bureau_field_staff": (StaffFactory(role="field_staff", unit=energy).user, bureau),
    }


SIDES = [
    "village_officer",
    "grid_worker",
    "field_staff_by_scope",
    "field_staff_by_unit",
    "accused_director",
    "recused_township_officer",
    "energy_bureau_admin",
    "energy_bureau_field_staff",
]


def _get(user, url: str) -> tuple[int, str]:
    client = Client()
    client.force_login(user)
    response = client.get(url)
    body = b"".join(response.streaming_content) if response.streaming else response.content
    return response.status_code, body.decode("utf-8", errors="replace")


@pytest.mark.parametrize("side", SIDES)
def test_no_surface_carries_the_accusation_to_the_accused_side(accusations, side):
    user, which = _accused_side(accusations)[side]
    reference = accusations[which]
    for url in SURFACES:
        status, body = _get(user, url)
        assert status < 500, (side, url, status)
        leaked = [m for m in (reference, *MARKERS[which]) if m in body]
        assert not leaked, (side, url, leaked)
    attachment = accusations["files"][which]
    for url in (
        f"/api/cases/{reference}/",
        f"/cases/{reference}/",
        f"/cases/{reference}/documents/",
        f"/api/cases/{reference}/attachments/",
        f"/api/cases/{reference}/attachments/{attachment}/",
        f"/api/cases/{reference}/attachments/{attachment}/?variant=thumbnail",
        f"/cases/{reference}/exchange.zip",
    ):
        assert _get(user, url)[0] == 404, (side, url)
    api = APIClient()
    api.force_authenticate(user)
    sent = api.post(f"/api/cases/{reference}/uploads/", {"name": "x.jpg", "size": 10}, format="json")
    assert sent.status_code == 404, (side, sent.content)


@pytest.mark.parametrize("side", SIDES)
def test_a_repeat_by_the_accuser_tells_the_accused_side_nothing(accusations, side):
    """The duplicate check (same ID number) links the repeat silently: no reference of the original comes back."""
    user, which = _accused_side(accusations)[side]
    reference = accusations[which]
    accuser = ACCUSER if which == "village" else BUREAU_ACCUSER
    api = APIClient()
    api.force_authenticate(user)
    body = intake_body(
        category="land_occupation",
        lon=SPOT[0],
        lat=SPOT[1],
        petitioners=[dict(accuser)],
        description="又来反映草场的事",
    )
    answer = api.post("/api/cases/", body, format="json")
    assert answer.status_code in (201, 403), answer.content  # planners and the like cannot register at all
    text = answer.content.decode()  # the caller's own new case, its petitioner included; nothing of the original
    assert reference not in text and MARKERS[which][0] not in text and "李主任" not in text


def test_the_same_surfaces_show_the_accusations_to_the_banner_outside_them(accusations):
    """The control: without it the test above could pass because a surface shows nothing at all."""
    admin = StaffFactory(role="banner_admin").user
    for url in ("/api/cases/?page_size=500", "/cases/", "/cases/export.csv"):
        status, body = _get(admin, url)
        assert status == 200 and accusations["village"] in body and accusations["bureau"] in body, url
    status, body = _get(admin, "/api/case-points/")
    assert status == 200 and "110.80712" in body
    status, body = _get(admin, "/api/clusters/?min_points=2")
    assert status == 200 and accusations["village"] in body
    for which in ("village", "bureau"):
        reference = accusations[which]
        assert _get(admin, f"/cases/{reference}/")[0] == 200
        status, body = _get(admin, f"/api/cases/{reference}/attachments/")
        assert status == 200 and accusations["files"][which] in body
        assert _get(admin, f"/api/cases/{reference}/attachments/{accusations['files'][which]}/")[0] == 200


# Found by the round-two attack on issue 12: the duplicate check's notes and links, and group proposals.


def _accusation_by_the_accuser(description: str) -> dict:
    """The accuser's accusation against 不拉村's committee, told on a visit at the accuser's spot."""
    return intake_body(
        category="land_occupation",
        channel="visit",
        kind="accusation",
        lon=SPOT[0],
        lat=SPOT[1],
        petitioners=[dict(ACCUSER)],
        description=description,
        accused_unit=f"VC-{BULA}",
    )


def _plain_matter_of_the_accuser(admin: APIClient) -> str:
    """An ordinary claim of the accuser at the accused village, held where its officers see it."""
    body = intake_body(
        category="land_occupation",
        channel="talk_room",
        lon=SPOT[0] + 0.0004,
        lat=SPOT[1] + 0.0004,
        petitioners=[dict(ACCUSER)],
        description="草场边界纠纷(普通事项)",
    )
    answer = admin.post("/api/cases/", body, format="json")
    assert answer.status_code == 201, answer.content
    return answer.json()["reference"]


@pytest.fixture
def places(django_user_model):
    Banner.objects.create(code="150622", name="准格尔旗", geom=box(110.1, 39.27, 111.5, 40.32))
    seed_places()
    UnitFactory(code="BD-discipline", name="旗纪委监委", kind="banner_department", area_code="150622")


def test_an_accusation_registered_out_of_sight_of_the_accusers_other_matter_leaves_no_note_there(places):
    """The accuser's earlier claim is held by the accused village; the accusation is registered by someone who
    cannot see that claim (another township's officer). The duplicate check must not hand "this person registered
    the same matter elsewhere: <reference>" to the claim's history — the accused village reads it."""
    admin = APIClient()
    admin.force_authenticate(StaffFactory(role="banner_admin").user)
    plain = _plain_matter_of_the_accuser(admin)
    elsewhere = APIClient()
    elsewhere.force_authenticate(StaffFactory(role="township_officer", scope_code="150622004").user)
    accusation = elsewhere.post(
        "/api/cases/",
        _accusation_by_the_accuser("检举MARKVC 村委会主任私自出租集体草场"),
        format="json",
    )
    assert accusation.status_code == 201, accusation.content
    reference = accusation.json()["reference"]
    for user in (
        StaffFactory(role="village_officer", scope_code=BULA).user,
        StaffFactory(role="grid_worker", scope_code=f"{BULA}-001").user,
    ):
        for url in (f"/api/cases/{plain}/", f"/cases/{plain}/"):
            status, body = _get(user, url)
            assert status == 200, (url, status)
            assert reference not in body, url
            assert "possible_repeat" not in body and "possible_duplicate" not in body, url


def test_an_accusation_is_never_linked_as_a_repeat_of_a_matter_the_accused_hold(places):
    """Linked as a `repeat`, the accusation would run no clock and be answered by the original's holder — the
    accused village itself (条例 Arts. 22, 30): it goes to the discipline commission instead."""
    admin = APIClient()
    admin.force_authenticate(StaffFactory(role="banner_admin").user)
    _plain_matter_of_the_accuser(admin)
    answer = admin.post(
        "/api/cases/",
        _accusation_by_the_accuser("检举 村委会主任私自出租集体草场"),
        format="json",
    ).json()
    assert answer["status"] != "repeat" and answer["repeat_of"] is None
    assert answer["unit"]["code"] == "BD-discipline"


def test_a_claim_linked_to_an_accusation_does_not_show_the_accused_village_a_hidden_original(places):
    """A township officer (who sees the accusation) registers the accuser's claim in the accused village: the
    village's officers see that claim, and a `repeat` of an original they cannot see would tell them the
    accuser has a matter hidden from them."""
    admin = APIClient()
    admin.force_authenticate(StaffFactory(role="banner_admin").user)
    admin.post(
        "/api/cases/",
        _accusation_by_the_accuser("检举 村委会主任私自出租集体草场"),
        format="json",
    )
    township = APIClient()
    township.force_authenticate(StaffFactory(role="township_officer", scope_code=SHAGEDU).user)
    claim = _plain_matter_of_the_accuser(township)
    officer = StaffFactory(role="village_officer", scope_code=BULA).user
    status, body = _get(officer, f"/api/cases/{claim}/")
    assert status == 200
    import json

    shown = json.loads(body)
    assert shown["status"] != "repeat"
    assert "link_repeat" not in {h["action"] for h in shown["history"]}
    assert "不在您的辖区" not in body


def test_a_group_proposal_never_puts_an_accusation_with_the_matters_the_accused_side_sees(accusations):
    """The accusation and the two ordinary matters beside it are linked as one event. Confirmed, the group's
    default title named the first reference — the accusation's — on every member, and the accused village
    reads the ordinary members; routing the group again also took the accusation from the discipline commission."""
    admin = APIClient()
    admin.force_authenticate(StaffFactory(role="banner_admin").user)
    proposals = admin.get("/api/group-proposals/").json()["results"]
    assert proposals, "the two ordinary matters beside the accusation are one event"
    for proposal in proposals:
        assert admin.post(f"/api/group-proposals/{proposal['id']}/confirm/", {}, format="json").status_code == 200
    detail = admin.get(f"/api/cases/{accusations['village']}/").json()
    assert detail["group"] is None and detail["unit"]["code"] == "BD-discipline"
    officer = StaffFactory(role="village_officer", scope_code=BULA).user
    ordinary = [f["properties"]["reference"] for f in admin.get("/api/cases/?page_size=500").json()["features"]]
    for reference in set(ordinary) - {accusations["village"], accusations["bureau"]}:
        status, body = _get(officer, f"/api/cases/{reference}/")
        assert status == 200 and accusations["village"] not in body, reference


def test_an_accusation_does_not_join_a_case_group_at_intake(accusations):
    """A group is routed again whenever it grows: an accusation in it would leave the discipline commission."""
    from geo_disputes.models import Case
    from geo_disputes.services.cases.groups import form_group

    plain = list(Case.objects.exclude(kind="accusation"))
    group = form_group("草场边界纠纷", plain)
    admin = APIClient()
    admin.force_authenticate(StaffFactory(role="banner_admin").user)
    answer = admin.post(
        "/api/cases/",
        intake_body(
            category="land_occupation",
            kind="accusation",
            accused_unit=f"VC-{BULA}",
            lon=SPOT[0],
            lat=SPOT[1],
            group=group.pk,
            description="检举 村委会",
        ),
        format="json",
    )
    assert answer.status_code == 400 and "group" in answer.json(), answer.content


# Issue 15 items 4–5: the follow-up register, leaders' cases, visits and the joint meeting's minutes.

LEADER_SURFACES = ["/follow-ups/", "/follow-ups/export.csv", "/leaders/", "/visits/", "/agenda/minutes/"]


def _leaders_acts_on(accusations) -> None:
    """Each accusation followed up, taken on by a leader, listed for a leader's visit and on the next meeting."""
    import datetime as dt

    from django.utils import timezone

    from geo_disputes.models import Case, FollowUp
    from geo_disputes.services.cases import leaders
    from geo_disputes.services.cases.clock import local_today, next_joint_meeting

    admin = StaffFactory(role="banner_admin").user
    today = local_today()
    for which in ("village", "bureau"):
        case = Case.objects.get(reference=accusations[which])
        marker = MARKERS[which][0]
        FollowUp.objects.create(
            case=case, at=timezone.now(), by="旗信访局回访员", method="phone", satisfaction="satisfied"
        )
        leaders.take_on(
            case,
            admin,
            leader_name="纪委书记",
            leader_post="旗纪委书记",
            plan=f"核查{marker}",
            deadline=today + dt.timedelta(days=9),
        )
        Case.objects.filter(pk=case.pk).update(
            status="on_agenda",
            agenda_date=next_joint_meeting(today - dt.timedelta(days=1)),
            agenda_plan=f"{marker}方案",
        )
        leaders.schedule_visit(
            admin,
            kind="invited",
            on=today,
            starts=None,
            place=f"旗纪委谈话室{marker}",
            leader_name="纪委书记",
            leader_post="旗纪委书记",
            references=[case.reference],
        )


@pytest.mark.parametrize("side", SIDES)
def test_the_leaders_and_follow_up_pages_carry_nothing_of_the_accusation_to_the_accused_side(accusations, side):
    _leaders_acts_on(accusations)
    user, which = _accused_side(accusations)[side]
    reference = accusations[which]
    for url in LEADER_SURFACES:
        status, body = _get(user, url)
        assert status < 500, (side, url, status)
        leaked = [m for m in (reference, *MARKERS[which]) if m in body]
        assert not leaked, (side, url, leaked)


def test_the_leaders_and_follow_up_pages_show_the_accusations_to_the_banner_outside_them(accusations):
    _leaders_acts_on(accusations)
    admin = StaffFactory(role="banner_admin").user
    for url in LEADER_SURFACES:
        status, body = _get(admin, url)
        assert status == 200 and accusations["village"] in body and accusations["bureau"] in body, url
