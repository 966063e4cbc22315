"""One demo login per role, scoped to the seed's places, so every view can be tried at once."""

from __future__ import annotations

from geo_disputes.models import Grid, Role
from geo_disputes.services.ops.staff import upsert_staff

# (username, role, scope): the seed's 友谊街道 (苏计沟村's 41 cracked houses), 双敖包村 (grassland
# occupied) and the first grid of 不拉村 (the agent who restored the water supply).
DEMO_STAFF: list[tuple[str, str, str]] = [
    ("banner_admin", Role.BANNER_ADMIN, ""),
    ("youyi_officer", Role.TOWNSHIP_OFFICER, "150622004"),
    ("shuangaobao_officer", Role.VILLAGE_OFFICER, "150622106202"),
    ("bula_grid_worker", Role.GRID_WORKER, "150622101206-001"),
    ("mining_court", Role.MINING_COURT, ""),
    ("planner", Role.PLANNER, ""),
    ("field_staff", Role.FIELD_STAFF, ""),
]


def create_demo_staff(password: str) -> list[tuple[str, str, str]]:
    """Create or update the demo users (all with `password`); safe to run again.

    The grid worker also becomes the worker account of their grid when that grid is loaded.
    """
    made = []
    for username, role, scope in DEMO_STAFF:
        result = upsert_staff(username, role, scope, password=password)
        if role == Role.GRID_WORKER:
            Grid.objects.in_force().filter(code=scope).update(worker_user=result.user)
        made.append((username, str(role), scope))
    return made
