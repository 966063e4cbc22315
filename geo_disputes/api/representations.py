"""Plain-dict shapes of domain objects for the JSON API (one place per shape)."""

from __future__ import annotations

from geo_disputes.models import Parcel
from geo_disputes.services.access import parcel_holder
from geo_disputes.services.locate import Location


def location_dict(loc: Location, user) -> dict:
    return {
        "point": {"lon": round(loc.lon, 7), "lat": round(loc.lat, 7)},
        "datum": loc.datum.value,
        "submitted": {"lon": loc.submitted[0], "lat": loc.submitted[1]},
        "township": area_ref(loc.township),
        "village": area_ref(loc.village),
        "grid": grid_dict(loc.grid),
        "mining_areas": [
            {
                "id": m.area.pk,
                "code": m.area.code,
                "name": m.area.name,
                "relation": m.relation,
                "operator": m.area.operator,
                "influence_buffer_m": m.area.influence_buffer_m,
            }
            for m in loc.mining
        ],
        "parcels": [parcel_dict(p, user) for p in loc.parcels],
    }


def area_ref(area) -> dict | None:
    if area is None:
        return None
    return {"code": area.code, "name": area.name}


def grid_dict(grid) -> dict | None:
    if grid is None:
        return None
    return {
        "code": grid.code,
        "name": grid.name,
        "households": grid.households,
        # The grid worker is the household's petition agent: a public contact, not personal data.
        "worker": {"name": grid.worker_name, "phone": grid.worker_phone},
    }


def parcel_dict(parcel: Parcel, user) -> dict:
    return {
        "code": parcel.code,
        "name": parcel.name,
        "land_use": parcel.land_use,
        "land_use_label": parcel.get_land_use_display(),
        "area_mu": float(parcel.area_mu) if parcel.area_mu is not None else None,
        "contract_no": parcel.contract_no,
        "holder": parcel_holder(user, parcel),
    }
