"""What every page's header needs: the role's menu and its due/overdue counts (services/ops/menus.py), and
the user's banner's reference example for the pages that look a case up by its number (404.html)."""

from __future__ import annotations

from django.utils.functional import SimpleLazyObject

from geo_disputes.services.cases.access import banner_prefix
from geo_disputes.services.cases.references import reference_example
from geo_disputes.services.ops.menus import banner_label, due_counts, menu_for, role_label, site_name


def menu(request) -> dict:
    user = getattr(request, "user", None)
    # Lazy: error pages rendered without a working database never evaluate them unless the template does.
    return {
        "menu": SimpleLazyObject(lambda: menu_for(user)),
        "due_counts": SimpleLazyObject(lambda: due_counts(user)),
        "role_label": SimpleLazyObject(lambda: role_label(user)),
        "banner_label": SimpleLazyObject(lambda: banner_label(user)),
        "site_name": SimpleLazyObject(lambda: site_name(user)),
        # "ZGE-2026-000001" for the home banner's staff, "SLQ-2026-000001" for a banner numbered SLQ.
        "reference_example": SimpleLazyObject(lambda: reference_example(banner_prefix(user))),
    }
