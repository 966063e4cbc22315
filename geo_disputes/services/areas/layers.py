"""The boundary layers that can be imported and exported, by the names commands use.

One registry so the import and export commands agree on which model a layer is and
which of its attributes travel in a file; personal data (PIPL) is flagged here once.
"""

from __future__ import annotations

from dataclasses import dataclass

from geo_disputes.models import Area, Banner, Grid, MiningArea, Parcel, Township, Village

COMMON_FIELDS = ("code", "name", "valid_from", "valid_to")


@dataclass(frozen=True)
class DerivedParent:
    """A parent code read off the area's own code: counties hand over village files with the 12-digit
    statistical code and the name only (its first 9 digits are the township's), grid files likewise."""

    field: str  # the parent field filled, e.g. township_code
    parent: str  # the layer the parent must exist in
    pattern: str  # what the area's code must look like for the derivation to hold
    digits: int  # the parent code is this many leading characters
    rule: str  # said in the dry run and in errors


@dataclass(frozen=True)
class Layer:
    """A boundary layer: its model, the attributes a file may carry, and which are personal data."""

    name: str
    model: type[Area]
    fields: tuple[str, ...]
    personal_fields: tuple[str, ...] = ()
    derived_fields: tuple[str, ...] = ()
    derived_parent: DerivedParent | None = None  # used when the file maps no field to it

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
        Layer(
            "villages",
            Village,
            (*COMMON_FIELDS, "kind", "township_code"),
            derived_parent=DerivedParent(
                "township_code", "townships", "[0-9]{12}", 9, "the first 9 digits of the 12-digit statistical code"
            ),
        ),
        Layer(
            "grids",
            Grid,
            (*COMMON_FIELDS, "village_code", "households", "population", "worker_name", "worker_phone"),
            personal_fields=("worker_name", "worker_phone"),
            derived_parent=DerivedParent(
                "village_code", "villages", "[0-9]{12}.*", 12, "the grid code's first 12 digits (the village's code)"
            ),
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
