"""What a photo says about where and when it was taken, and the copies without it.

A phone writes the place (GPS) and time into a photo's EXIF. For the handlers that is evidence and a help at
intake: the place is offered as the case's location, the time as when it happened. For anyone who may see the
photo but not the case's exact point it is a leak: they get a copy re-encoded from the pixels alone (no EXIF, no
XMP, no maker notes), turned upright first (the orientation lived in the EXIF too), and so does every thumbnail.

Datum: the EXIF standard's GPS is WGS84 (GPSMapDatum, when written at all, says "WGS-84"); a photo that names
another datum is not offered as a location, since we cannot say what its numbers mean.
"""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

from geo_disputes.models.attachments import FileType

THUMBNAIL_PX = 320
DISPLAY_MAX_PX = 2560  # the shown copy: enough to see a crack in a wall, not a 48-megapixel original
_LOCAL = ZoneInfo("Asia/Shanghai")  # a phone's EXIF time without an offset is the phone's clock: local time
_GPS_IFD, _EXIF_IFD = 0x8825, 0x8769


@dataclass(frozen=True)
class PhotoFacts:
    lon: float | None = None
    lat: float | None = None
    datum: str = "WGS84"
    taken_at: dt.datetime | None = None

    @property
    def has_point(self) -> bool:
        return self.lon is not None and self.lat is not None


@dataclass(frozen=True)
class Copies:
    stripped: bytes  # the picture without metadata (JPEG, or PNG for a PNG)
    stripped_type: str
    thumbnail: bytes  # JPEG


def facts(path: Path) -> PhotoFacts:
    """GPS point and time from a picture's EXIF (empty facts when it has none or they are unreadable)."""
    from PIL import Image

    _register_heif()
    try:
        with Image.open(path) as image:
            exif = image.getexif()
    except OSError:
        return PhotoFacts()
    return PhotoFacts(*_point(exif), taken_at=_taken_at(exif))


def copies(path: Path, file_type: str) -> Copies:
    """The shown copy (no metadata, upright, at most DISPLAY_MAX_PX) and the thumbnail."""
    from PIL import Image, ImageOps

    _register_heif()
    with Image.open(path) as image:
        upright = ImageOps.exif_transpose(image)
        icc = image.info.get("icc_profile")
        keep_alpha = file_type == FileType.PNG and upright.mode in ("RGBA", "LA", "P")
        shown = upright.convert("RGBA" if keep_alpha else "RGB")
        shown.thumbnail((DISPLAY_MAX_PX, DISPLAY_MAX_PX))
        out = io.BytesIO()
        if file_type == FileType.PNG:
            shown.save(out, "PNG", optimize=True, **({"icc_profile": icc} if icc else {}))
            stripped_type = FileType.PNG
        else:
            shown.save(out, "JPEG", quality=88, **({"icc_profile": icc} if icc else {}))
            stripped_type = FileType.JPEG
        thumb = upright.convert("RGB")
        thumb.thumbnail((THUMBNAIL_PX, THUMBNAIL_PX))
        small = io.BytesIO()
        thumb.save(small, "JPEG", quality=80)
    return Copies(out.getvalue(), stripped_type, small.getvalue())


def _point(exif) -> tuple[float | None, float | None, str]:
    try:
        gps = exif.get_ifd(_GPS_IFD)
    except (KeyError, ValueError, OSError):
        return None, None, "WGS84"
    datum = str(gps.get(18) or "WGS-84").strip("\x00 ").upper()
    try:
        lat = _degrees(gps[2], gps.get(1, "N"))
        lon = _degrees(gps[4], gps.get(3, "E"))
    except (KeyError, TypeError, ValueError, ZeroDivisionError, IndexError):
        return None, None, "WGS84"
    if not (-90 <= lat <= 90 and -180 <= lon <= 180) or (lat == 0 and lon == 0):
        return None, None, "WGS84"
    if datum.replace("-", "").replace(" ", "") not in ("WGS84", ""):
        return None, None, datum  # a datum we cannot place: not offered
    return lon, lat, "WGS84"


def _degrees(value, ref) -> float:
    d, m, s = (float(part) for part in value)
    degrees = d + m / 60 + s / 3600
    ref = ref.decode() if isinstance(ref, bytes) else str(ref)
    return -degrees if ref.strip("\x00 ").upper() in ("S", "W") else degrees


def _taken_at(exif) -> dt.datetime | None:
    try:
        details = exif.get_ifd(_EXIF_IFD)
    except (KeyError, ValueError, OSError):
        details = {}
    text = details.get(0x9003) or exif.get(0x0132)  # DateTimeOriginal, else DateTime
    if not text:
        return None
    try:
        moment = dt.datetime.strptime(str(text).strip("\x00 ")[:19], "%Y:%m:%d %H:%M:%S")
    except ValueError:
        return None
    offset = str(details.get(0x9011) or "").strip("\x00 ")  # OffsetTimeOriginal, "+08:00"
    try:
        if offset:
            sign = -1 if offset.startswith("-") else 1
            hours, minutes = offset.lstrip("+-").split(":")
            tz = dt.timezone(sign * dt.timedelta(hours=int(hours), minutes=int(minutes)))
            return moment.replace(tzinfo=tz)
    except ValueError:
        pass
    return moment.replace(tzinfo=_LOCAL)


def _register_heif() -> None:
    import pillow_heif

    pillow_heif.register_heif_opener()
