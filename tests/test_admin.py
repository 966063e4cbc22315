"""The banner admin in the admin (issue 14): staff, units and routing rules in Chinese, every rule change recorded;
nothing of cases or audit records; no superuser or permission flags; other roles are kept out."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.test import Client

from geo_disputes.models import RoutingRule, RoutingRuleChange, StaffProfile, Unit
from tests.factories import StaffFactory, routing_rule_form, seed_places


@pytest.fixture
def banner_admin(db):
    seed_places()
    client = Client()
    user = StaffFactory(role="banner_admin").user
    client.force_login(user)
    return client, user


def test_the_banner_admin_opens_the_admin_in_chinese_with_staff_units_and_rules_only(banner_admin):
    client, _user = banner_admin
    index = client.get("/admin/")
    page = index.content.decode()
    assert index.status_code == 200 and "站点管理" in page
    for path in ("/admin/geo_disputes/unit/", "/admin/geo_disputes/staffprofile/", "/admin/geo_disputes/routingrule/"):
        assert path in page and client.get(path).status_code == 200, path
    hidden = ("/admin/geo_disputes/case/", "/admin/geo_disputes/personaldataaccess/", "/admin/geo_disputes/caseevent/")
    for path in hidden:
        assert path not in page
        assert client.get(path).status_code == 403, path


def test_a_routing_rule_changed_by_the_banner_admin_is_recorded(banner_admin):
    client, user = banner_admin
    rule = RoutingRule.objects.order_by("order").first()
    form = routing_rule_form(rule, name=rule.name + "(修订)")
    response = client.post(f"/admin/geo_disputes/routingrule/{rule.pk}/change/", form)
    assert response.status_code == 302, response.content.decode()[:2000]
    rule.refresh_from_db()
    assert rule.name.endswith("(修订)")
    change = RoutingRuleChange.objects.filter(rule=rule).latest("at")
    assert change.actor == user and change.action == "change"


def test_the_banner_admin_adds_staff_but_never_a_superuser_flag(banner_admin):
    client, _user = banner_admin
    response = client.post(
        "/admin/auth/user/add/",
        {"username": "new-grid-worker", "password1": "a-long-pass-phrase-9", "password2": "a-long-pass-phrase-9"},
    )
    assert response.status_code == 302
    new = User.objects.get(username="new-grid-worker")
    unit = Unit.objects.get(code="VC-150622106202")
    response = client.post(
        "/admin/geo_disputes/staffprofile/add/",
        {"user": new.pk, "role": "grid_worker", "scope_code": "150622106202-001", "unit": unit.pk},
    )
    assert response.status_code == 302 and StaffProfile.objects.get(user=new).role == "grid_worker"
    change = client.get(f"/admin/auth/user/{new.pk}/change/").content.decode()
    assert 'name="is_superuser"' not in change and 'name="user_permissions"' not in change
    escalate = {"username": new.username, "is_superuser": "on", "is_active": "on"}
    client.post(f"/admin/auth/user/{new.pk}/change/", escalate)
    new.refresh_from_db()
    assert not new.is_superuser and not new.is_staff
    root = User.objects.create_superuser("root", password=None)
    assert client.get(f"/admin/auth/user/{root.pk}/change/").status_code in (302, 404)


def test_other_roles_get_a_chinese_403_naming_their_role(db):
    for role, scope in (("planner", ""), ("township_officer", "150622106"), ("grid_worker", "150622106202-001")):
        client = Client()
        client.force_login(StaffFactory(role=role, scope_code=scope).user)
        for path in ("/admin/", "/admin/geo_disputes/unit/", "/admin/login/?next=/admin/"):
            response = client.get(path)
            page = response.content.decode()
            assert response.status_code == 403, (role, path)
            assert "无权访问" in page and "管理后台只供旗级管理员" in page and "Django" not in page, (role, path)
        assert client.post("/admin/logout/").status_code in (200, 302)  # signing out stays open


def test_the_staff_form_holds_a_typed_scope_to_an_area_in_force_and_gives_an_officer_their_unit(banner_admin):
    client, _user = banner_admin
    worker = User.objects.create_user("typo-officer")
    response = client.post(
        "/admin/geo_disputes/staffprofile/add/",
        {"user": worker.pk, "role": "village_officer", "scope_code": "150622106299"},
    )
    assert response.status_code == 200 and not StaffProfile.objects.filter(user=worker).exists()
    assert "150622106299" in response.content.decode()  # the error names the code
    response = client.post(
        "/admin/geo_disputes/staffprofile/add/",
        {"user": worker.pk, "role": "village_officer", "scope_code": "150622106202"},
    )
    assert response.status_code == 302
    assert StaffProfile.objects.get(user=worker).unit.code == "VC-150622106202"


def test_every_field_the_admin_shows_has_a_chinese_label_and_an_english_one():
    """The change-log's columns read AT / RULE / ACTION / ACTOR (fields without a verbose_name): every field of every
    model in the admin is named in Chinese, and in English when it is chosen."""
    import re

    from django.contrib import admin
    from django.utils import translation

    cjk = re.compile(r"[\u4e00-\u9fff]")
    unnamed, untranslated = [], []
    for model in admin.site._registry:
        if model._meta.app_label != "geo_disputes":
            continue
        for field in model._meta.get_fields():
            if field.auto_created or not hasattr(field, "verbose_name"):
                continue
            with translation.override("zh-hans"):
                if not cjk.search(str(field.verbose_name)):
                    unnamed.append(f"{model.__name__}.{field.name}")
            with translation.override("en"):
                if cjk.search(str(field.verbose_name)):
                    untranslated.append(f"{model.__name__}.{field.name}")
    assert not unnamed and not untranslated, (unnamed, untranslated)
