"""The boundary layers that can be imported and exported, by the names commands use.

One registry so the import and export commands agree on which model a layer is and
which of its attributes travel in a file; personal data (PIPL) is flagged here once.
"""

from __future__ import annotations

from dataclasses import dataclass

from geo_disputes.models import Area, Banner, Grid, MiningArea, Parcel, Township, Village

COMMON_FIELDS = ("code", "name", "valid_from", "valid_to")


@dataclass(frozen=True)
class Layer:
    """A boundary layer: its model, the attributes a file may carry, and which are personal data."""

    name: str
    model: type[Area]
    fields: tuple[str, ...]
    personal_fields: tuple[str, ...] = ()
    derived_fields: tuple[str, ...] = ()

    @property
    def table(self) -> str:
        return self.model._meta.db_table


class UnknownLayer(ValueError):
    """A layer name that is not in the registry."""


LAYERS: dict[str, Layer] = {
    layer.name: layer
    for layer in (
        Layer("banner", Banner, COMMON_FIELDS),
        Layer("townships", Township, (*COMMON_FIELDS, "kind")),
        Layer("villages", Village, (*COMMON_FIELDS, "kind", "township_code")),
        Layer(
            "grids",
            Grid,
            (*COMMON_FIELDS, "village_code", "households", "population", "worker_name", "worker_phone"),
            personal_fields=("worker_name", "worker_phone"),
        ),
        Layer(
            "mining-areas",
            MiningArea,
            (*COMMON_FIELDS, "kind", "operator", "licence_no", "influence_buffer_m"),
        ),
        Layer(
            "parcels",
            Parcel,
            (*COMMON_FIELDS, "land_use", "holder_name", "contract_no"),
            personal_fields=("holder_name",),
            derived_fields=("area_mu",),
        ),
    )
}


def get_layer(name: str) -> Layer:
    """The layer called `name`, or an error that lists the layers there are."""
    try:
        return LAYERS[name]
    except KeyError:
        raise UnknownLayer(f"unknown layer {name!r}; use one of: {', '.join(LAYERS)}") from None
