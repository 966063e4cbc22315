"""What a file really is: the type found in its bytes, checked by opening it, never taken from its name.

A name or a browser's Content-Type says nothing (`id.jpg` may be an HTML page, a `.pdf` a ZIP); the signature
alone says little (a JPEG header followed by anything passes a magic-number check). So each accepted type is
recognised by its signature *and* parsed by a decoder of that format: Pillow (with pillow-heif) for pictures,
pypdf for PDF, mutagen for audio. An M4A must hold a sound track and no video track (an MP4 film is not an audio
note). What fails gets a sentence saying what was expected.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

from geo_disputes.models.attachments import FileType

IMAGE_MAX_BYTES = 25 * 1024 * 1024
MAX_PIXELS = 80_000_000  # a 12-megapixel phone photo is 12 M; more is a decompression bomb, not a photo
_HEIF_BRANDS = {b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1"}
_HEIF_IMAGE_BRANDS = {b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx"}
_M4A_BRANDS = {b"M4A ", b"M4B ", b"M4P ", b"mp42", b"mp41", b"isom", b"iso2", b"dash", b"3gp4", b"3gp5"}
ALLOWED = "JPEG, PNG, HEIC, PDF, MP3, M4A"


class FileTypeError(ValueError):
    """The content is not an allowed type, or is damaged, or too large."""


@dataclass(frozen=True)
class Detected:
    file_type: FileType
    width: int | None = None
    height: int | None = None


def detect(path: Path) -> Detected:
    """The file's type, checked by decoding it; FileTypeError when it is not one we keep."""
    size = path.stat().st_size
    if size == 0:
        raise FileTypeError("文件为空 / the file is empty")
    if size > settings.ATTACHMENT_MAX_BYTES:
        raise FileTypeError(
            f"文件过大:{size} 字节,上限 {settings.ATTACHMENT_MAX_BYTES // (1024 * 1024)} MB / "
            f"the file is {size} bytes, over the {settings.ATTACHMENT_MAX_BYTES // (1024 * 1024)} MB limit"
        )
    with path.open("rb") as handle:
        head = handle.read(64)
    if head.startswith(b"\xff\xd8\xff"):
        return _image(path, FileType.JPEG, "JPEG", size)
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return _image(path, FileType.PNG, "PNG", size)
    if head[4:8] == b"ftyp":
        brands = _ftyp_brands(path)
        if brands & _HEIF_IMAGE_BRANDS or (brands & _HEIF_BRANDS and not brands & {b"avif", b"avis"}):
            return _image(path, FileType.HEIC, "HEIF", size)
        if brands & _M4A_BRANDS:
            return _m4a(path)
    if head.startswith(b"%PDF-"):
        return _pdf(path)
    if head.startswith(b"ID3") or (head[0] == 0xFF and head[1] & 0xE0 == 0xE0):
        return _mp3(path)
    raise FileTypeError(f"文件内容不是允许的类型({ALLOWED}) / the content is not one of {ALLOWED}")


def _image(path: Path, file_type: FileType, pil_format: str, size: int) -> Detected:
    from PIL import Image

    _register_heif()
    if size > IMAGE_MAX_BYTES:
        raise FileTypeError(f"图片超过 {IMAGE_MAX_BYTES // (1024 * 1024)} MB / the picture is over the limit")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as image:
                width, height = image.size
                if image.format != pil_format:
                    raise FileTypeError(f"图片格式不符 / the picture is {image.format}, not {pil_format}")
                if width * height > MAX_PIXELS:
                    raise FileTypeError(f"图片像素过多({width}×{height}) / the picture has too many pixels")
                image.load()  # decodes the pixels: a truncated or corrupt picture fails here
    except FileTypeError:
        raise
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombWarning, Image.DecompressionBombError) as exc:
        raise FileTypeError(f"图片已损坏或无法读取 / the {pil_format} picture cannot be decoded: {exc}") from exc
    return Detected(file_type, width, height)


def _pdf(path: Path) -> Detected:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(str(path), strict=False)
        if len(reader.pages) < 1:
            raise FileTypeError("PDF 没有页面 / the PDF has no page")
    except FileTypeError:
        raise
    except (PdfReadError, OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise FileTypeError(f"PDF 已损坏或无法读取 / the PDF cannot be read: {exc}") from exc
    return Detected(FileType.PDF)


def _mp3(path: Path) -> Detected:
    from mutagen import MutagenError
    from mutagen.mp3 import MP3

    try:
        audio = MP3(str(path))
    except (MutagenError, OSError, ValueError) as exc:
        raise FileTypeError(f"MP3 已损坏或无法读取 / the MP3 cannot be read: {exc}") from exc
    if not audio.info or audio.info.length <= 0:
        raise FileTypeError("MP3 没有音频 / the MP3 holds no sound")
    return Detected(FileType.MP3)


def _m4a(path: Path) -> Detected:
    from mutagen import MutagenError
    from mutagen.mp4 import MP4

    try:
        audio = MP4(str(path))
    except (MutagenError, OSError, ValueError) as exc:
        raise FileTypeError(f"M4A 已损坏或无法读取 / the M4A cannot be read: {exc}") from exc
    handlers = _track_handlers(path)
    if b"vide" in handlers:
        raise FileTypeError("这是视频文件,不是录音 / this MP4 holds video, not an audio note")
    if b"soun" not in handlers or not audio.info or audio.info.length <= 0:
        raise FileTypeError("M4A 没有音轨 / the M4A holds no sound track")
    return Detected(FileType.M4A)


def _ftyp_brands(path: Path) -> set[bytes]:
    with path.open("rb") as handle:
        box = handle.read(8)
        length = int.from_bytes(box[:4], "big")
        if length < 16 or length > 4096:
            return set()
        body = handle.read(length - 8)
    brands = {body[0:4]} | {body[i : i + 4] for i in range(8, len(body) - 3, 4)}
    return {brand for brand in brands if len(brand) == 4}


def _track_handlers(path: Path) -> set[bytes]:
    """The handler types (`soun`, `vide`, …) of an MP4's tracks, from moov/trak/mdia/hdlr."""
    from mutagen.mp4 import Atoms

    with path.open("rb") as handle:
        atoms = Atoms(handle)
        found = set()
        for trak in atoms.path(b"moov")[-1].findall(b"trak"):
            for mdia in trak.findall(b"mdia"):
                for hdlr in mdia.findall(b"hdlr"):
                    ok, data = hdlr.read(handle)
                    if ok and len(data) >= 12:
                        found.add(data[8:12])
    return found


def _register_heif() -> None:
    import pillow_heif

    pillow_heif.register_heif_opener()
