"""What every page's header needs: the role's menu and its due/overdue counts (services/ops/menus.py)."""

from __future__ import annotations

from django.utils.functional import SimpleLazyObject

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
    }
