"""The working pages on a 390 px phone: nothing scrolls sideways, however wide a table or long a pasted text.

Case lists, queues, the joint meeting's agenda and the monthly report carry wide tables; on a phone they
scroll inside themselves (site.css). A reason pasted without a break wraps on the case page.
"""

from __future__ import annotations

import datetime as dt

import pytest

from geo_disputes.models import Case, Unit
from geo_disputes.services.cases.workflow import apply

from .scene import build_scene

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}


@pytest.fixture
def scene(transactional_db):
    return build_scene()


def test_working_pages_fit_a_390_px_phone(page_for, live_server, scene, django_user_model):
    admin = django_user_model.objects.create_superuser("phone-admin", password="pw-for-tests-only")
    case = Case.objects.order_by("id").first()
    unit = Unit.objects.create(code="VC-150622106202", name="双敖包村村委会", kind="village_committee")
    Case.objects.filter(pk=case.pk).update(unit=unit, tier="village", procedure="petition", status="reported")
    case.refresh_from_db()
    deadline = (dt.date.today() + dt.timedelta(days=30)).isoformat()
    apply(case, "supervise", admin, case.version, kind="urge", reason="限" * 1999, deadline=deadline)
    page = page_for(admin, PHONE)
    for path in ("/cases/", "/queues/", "/agenda/", "/report/monthly/", "/dashboard/", f"/cases/{case.reference}/"):
        page.goto(f"{live_server.url}{path}", wait_until="load")
        width = page.evaluate("() => document.documentElement.scrollWidth")
        assert width <= PHONE["width"], (path, width)
    assert page.traffic.outside == []
