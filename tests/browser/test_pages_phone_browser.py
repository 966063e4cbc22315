"""The working pages on a 390 px phone: nothing scrolls sideways.

Case lists, queues, the joint meeting's agenda and the monthly report carry wide tables; on a phone they
scroll inside themselves (site.css). This small scene does not make them wide enough to overflow without
that rule (the demo year does: 394–499 px before, 390 after, measured by hand); it guards the pages and a
long unbroken reason on the case page against regressions.
"""

from __future__ import annotations

import datetime as dt

import pytest

from geo_disputes.models import Unit
from geo_disputes.services.cases.workflow import apply
from tests.factories import CaseFactory

from .scene import build_scene

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}


@pytest.fixture
def scene(transactional_db):
    return build_scene()


def test_working_pages_fit_a_390_px_phone(page_for, live_server, scene, django_user_model):
    admin = django_user_model.objects.create_superuser("phone-admin", password="pw-for-tests-only")
    unit = Unit.objects.create(code="VC-150622106202", name="双敖包村村委会", kind="village_committee")
    case = CaseFactory(
        unit=unit,
        tier="village",
        township_code="150622106",
        village_code="150622106202",
        description="邻" * 400,
        responsible_person="Zhang-Wei-Township-Petitions-Officer-On-Duty",
    )
    deadline = (dt.date.today() + dt.timedelta(days=30)).isoformat()
    apply(case, "supervise", admin, case.version, kind="urge", reason="overdue-" * 240, deadline=deadline)
    page = page_for(admin, PHONE)
    for path in ("/cases/", "/queues/", "/agenda/", "/report/monthly/", "/dashboard/", f"/cases/{case.reference}/"):
        page.goto(f"{live_server.url}{path}", wait_until="load")
        width = page.evaluate("() => document.documentElement.scrollWidth")
        assert width <= PHONE["width"], (path, width)
    assert page.traffic.outside == []
