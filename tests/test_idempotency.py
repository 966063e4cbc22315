"""Idempotency-Key on the API's POSTs and the intake form's one-time token: one request, one effect."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from django.db import connection
from django.db.models import F
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from geo_disputes.models import Banner, Case, CaseEvent

from .factories import StaffFactory, box, intake_body, seed_places

pytestmark = pytest.mark.django_db

KEY = "5b0c6f0e-8f7d-4c1e-9d2a-6f1f0e2b7a11"


@pytest.fixture
def places():
    Banner.objects.create(code="150622", name="准格尔旗", geom=box(110.1, 39.27, 111.5, 40.32))
    seed_places()


def api_as(role: str = "banner_admin", scope: str = "") -> APIClient:
    client = APIClient()
    client.force_authenticate(StaffFactory(role=role, scope_code=scope).user)
    return client


def post(client: APIClient, body: dict, key: str | None = KEY, path: str = "/api/cases/"):
    headers = {"Idempotency-Key": key} if key is not None else {}
    return client.post(path, body, format="json", headers=headers)


# API: intake ---------------------------------------------------------------------------------------


def test_a_retry_with_the_same_key_and_body_gets_the_first_answer_and_makes_no_second_case(places):
    client = api_as()
    first = post(client, intake_body())
    again = post(client, intake_body())
    assert first.status_code == again.status_code == 201
    assert again.json()["reference"] == first.json()["reference"]
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true" and not first.has_header("Idempotent-Replayed")
    assert Case.objects.count() == 1


def test_the_same_key_with_another_body_is_refused_naming_the_header(places):
    client = api_as()
    post(client, intake_body())
    other = post(client, intake_body(description="另一件事:邻里纠纷"))
    assert other.status_code == 422 and list(other.json()) == ["Idempotency-Key"]
    assert Case.objects.count() == 1


def test_keys_are_per_user_another_users_key_never_replays_someone_elses_answer(places):
    first = post(api_as(), intake_body())
    second = post(api_as(), intake_body())
    assert second.status_code == 201 and not second.has_header("Idempotent-Replayed")
    assert second.json()["reference"] != first.json()["reference"]
    assert Case.objects.count() == 2


def test_a_refused_request_stores_nothing_so_the_corrected_one_goes_through_with_the_same_key(places):
    client = api_as()
    assert post(client, intake_body(category="nonsense")).status_code == 400
    assert post(client, intake_body()).status_code == 201
    assert Case.objects.count() == 1


def test_an_expired_key_does_the_work_again(places):
    from geo_disputes.models import IdempotentRequest

    client = api_as()
    post(client, intake_body())
    IdempotentRequest.objects.update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    again = post(client, intake_body())
    assert again.status_code == 201 and not again.has_header("Idempotent-Replayed")
    assert Case.objects.count() == 2 and IdempotentRequest.objects.count() == 1


def test_a_phone_resending_after_a_week_without_signal_gets_its_first_answer(places):
    """The offline outbox resends a case whose answer was lost; the phone may be out of signal for days."""
    from geo_disputes.models import IdempotentRequest

    client = api_as()
    first = post(client, intake_body())
    week_ago = timezone.now() - dt.timedelta(days=7)
    IdempotentRequest.objects.update(created_at=week_ago, expires_at=F("expires_at") - dt.timedelta(days=7))
    again = post(client, intake_body())
    assert again.status_code == 201 and again.has_header("Idempotent-Replayed")
    assert again.json()["reference"] == first.json()["reference"] and Case.objects.count() == 1


def test_a_replay_after_the_sender_recused_themselves_is_a_receipt_only(places):
    """An attack: a village officer registered a case, recused themselves (the case is now a 404 to them), then
    replayed the POST and got the whole case back — unit, grid worker, petitioners."""
    user = StaffFactory(role="village_officer", scope_code="150622106202").user
    client = APIClient()
    client.force_authenticate(user)
    first = post(client, intake_body())
    assert first.status_code == 201 and "petitioners" in first.json()
    ref = first.json()["reference"]
    recused = client.post(
        f"/api/cases/{ref}/recusals/", {"user": user.username, "ground": "interest", "reason": "亲属"}, format="json"
    )
    assert recused.status_code == 201, recused.content
    assert client.get(f"/api/cases/{ref}/").status_code == 404
    again = post(client, intake_body())
    assert again.status_code == 201 and again.has_header("Idempotent-Replayed")
    assert again.json()["reference"] == ref and "petitioners" not in again.json() and "unit" not in again.json()
    assert Case.objects.count() == 1


@pytest.mark.parametrize("key", ["", "x" * 256, "has space", "键"])
def test_a_malformed_key_is_refused_naming_the_header(places, key):
    response = post(api_as(), intake_body(), key=key)
    assert response.status_code == 400 and list(response.json()) == ["Idempotency-Key"]
    assert Case.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_eight_concurrent_sends_with_one_key_make_exactly_one_case(places):
    user = StaffFactory(role="banner_admin").user
    start = threading.Barrier(8)
    answers: list = []

    def send() -> None:
        client = APIClient()
        client.force_authenticate(user)
        try:
            start.wait()
            answers.append(post(client, intake_body()))
        finally:
            connection.close()

    threads = [threading.Thread(target=send) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [a.status_code for a in answers] == [201] * 8
    assert len({a.json()["reference"] for a in answers}) == 1
    assert sum(a.has_header("Idempotent-Replayed") for a in answers) == 7
    assert Case.objects.count() == 1


# API: transitions ----------------------------------------------------------------------------------


def test_a_transition_retried_with_its_key_is_applied_once(places):
    client = api_as()
    reference = post(client, intake_body(), key=None).json()["reference"]
    path = f"/api/cases/{reference}/transitions/"
    first = post(client, {"action": "accept"}, path=path)
    again = post(client, {"action": "accept"}, path=path)
    assert first.status_code == again.status_code == 200 and again["Idempotent-Replayed"] == "true"
    assert again.json()["version"] == first.json()["version"]
    assert CaseEvent.objects.filter(case__reference=reference, action="accept").count() == 1
    assert post(client, {"action": "accept"}, key=None, path=path).status_code == 400  # without a key: refused
    reused = post(client, {"action": "accept"}, path="/api/cases/ZGE-2099-000001/transitions/")
    assert reused.status_code == 404  # another case: not found before any key is looked at


# API: near-identical intake ------------------------------------------------------------------------


def test_a_near_identical_intake_minutes_later_is_registered_with_a_warning_naming_the_first(places):
    client = api_as()
    first = post(client, intake_body(), key=None).json()
    assert first["warnings"] == []
    second = post(client, intake_body(), key=None)
    assert second.status_code == 201 and Case.objects.count() == 2
    [warning] = second.json()["warnings"]
    assert warning["code"] == "near_identical" and warning["reference"] == first["reference"]
    assert "分钟前" in warning["message"]


@pytest.mark.parametrize(
    "change",
    [
        {"lon": 111.051},  # about 86 m east
        {"category": "neighbour"},
        {"description": "另一件事", "petitioners": [{"name": "李四", "phone": "13700000000"}]},
    ],
)
def test_no_warning_farther_than_50_m_of_another_category_or_another_person_and_text(places, change):
    client = api_as()
    post(client, intake_body(), key=None)
    assert post(client, intake_body(**change), key=None).json()["warnings"] == []


def test_the_same_words_or_the_same_person_alone_warn(places):
    client = api_as()
    first = post(client, intake_body(), key=None).json()["reference"]
    same_words = post(client, intake_body(petitioners=[{"name": "李四", "phone": "13700000000"}]), key=None)
    same_person = post(client, intake_body(description="草场又被占了"), key=None)
    assert [w["reference"] for w in same_words.json()["warnings"]] == [first]
    assert [w["reference"] for w in same_person.json()["warnings"]] == [first]  # not 李四's


def test_no_warning_about_a_case_registered_longer_ago_than_the_window(places):
    client = api_as()
    post(client, intake_body(), key=None)
    Case.objects.update(created_at=timezone.now() - dt.timedelta(minutes=31))
    assert post(client, intake_body(), key=None).json()["warnings"] == []


def test_a_near_identical_case_out_of_scope_is_never_revealed_its_holders_get_a_note(places):
    accusation = post(
        api_as(),
        intake_body(kind="accusation", accused_unit="VC-150622106202", petitioners=[{"name": "赵六"}]),
        key=None,
    ).json()
    accused_officer = api_as("village_officer", "150622106202")
    response = post(accused_officer, intake_body(), key=None)
    assert response.status_code == 201 and response.json()["warnings"] == []
    assert accusation["reference"] not in response.content.decode()
    note = CaseEvent.objects.get(case__reference=accusation["reference"], action="possible_duplicate")
    assert note.changes == {"case": response.json()["reference"]}


# The intake page: a one-time token ------------------------------------------------------------------


def page_client() -> Client:
    client = Client()
    client.force_login(StaffFactory(role="banner_admin").user)
    return client


def form(token: str, **overrides) -> dict:
    data = {
        "submission": token,
        "category": "land_occupation",
        "channel": "talk_room",
        "kind": "claim",
        "description": "8亩多草地被占用",
        "lon": "111.05",
        "lat": "39.55",
        "datum": "wgs84",
        "households_affected": "1",
        "petitioners-TOTAL_FORMS": "1",
        "petitioners-INITIAL_FORMS": "0",
        "petitioners-0-name": "王建国",
        "petitioners-0-phone": "13912345678",
    }
    return {**data, **overrides}


def test_the_form_carries_a_one_time_token_and_a_double_submission_makes_one_case(places):
    client = page_client()
    page = client.get("/cases/new/").content.decode()
    token = page.split('name="submission" value="', 1)[1].split('"', 1)[0]
    assert len(token) == 32
    first = client.post("/cases/new/", form(token))
    again = client.post("/cases/new/", form(token), follow=True)
    assert first.status_code == 302 and again.redirect_chain == [(first["Location"], 302)]
    assert Case.objects.count() == 1
    assert any("已提交,未重复登记" in str(m) for m in again.context["messages"])


def test_the_same_form_sent_again_with_changes_is_refused_in_chinese(places):
    client = page_client()
    client.post("/cases/new/", form("a" * 32))
    changed = client.post("/cases/new/", form("a" * 32, description="另一件事"))
    assert changed.status_code == 400 and "此登记表已提交过" in changed.content.decode()
    assert Case.objects.count() == 1


def test_the_page_warns_in_chinese_about_a_near_identical_case(places):
    client = page_client()
    client.post("/cases/new/", form("a" * 32))
    first = Case.objects.get()
    response = client.post("/cases/new/", form("b" * 32), follow=True)
    assert Case.objects.count() == 2
    warnings = [str(m) for m in response.context["messages"] if m.level_tag == "warning"]
    assert any("分钟前已在同一地点登记同类事项" in w and first.reference in w for w in warnings)
