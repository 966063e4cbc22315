"""Files kept with a case (issue 15): photos of cracked walls, scans of agreements and IDs, survey sketches, audio.

The bytes live on disk outside the web root, content-addressed by SHA-256 (`services.cases.attachment_store`);
the row says what they are — the type found in the content (never the name's extension), the size, what EXIF
said about place and time — and who added them. A row is never deleted: removing a file is an act that records
who removed it, when and why, and purges the bytes (an ID scan attached by mistake must really go). Migration
0018's trigger holds that: PostgreSQL refuses a DELETE, and an UPDATE may only fill the removal fields, once.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.contrib.gis.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import gettext_noop

from .cases import Case


class FileType(models.TextChoices):
    """The content types we accept, as found in the bytes."""

    JPEG = "image/jpeg", "JPEG"
    PNG = "image/png", "PNG"
    HEIC = "image/heic", "HEIC"
    PDF = "application/pdf", "PDF"
    MP3 = "audio/mpeg", "MP3"
    M4A = "audio/mp4", "M4A"


class AttachmentKind(models.TextChoices):
    """What the file is to the case: decides who besides the handlers may look at it."""

    SITE_PHOTO = "site_photo", gettext_noop("现场照片")
    SKETCH = "sketch", gettext_noop("测绘草图")
    AGREEMENT = "agreement", gettext_noop("协议/文书扫描件")
    IDENTITY = "identity", gettext_noop("身份证件")
    AUDIO = "audio", gettext_noop("录音")
    SERVICE_RECEIPT = "service_receipt", gettext_noop("签收的送达回证")
    OTHER = "other", gettext_noop("其他材料")


class Attachment(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False, verbose_name=_("编号"))
    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="attachments", verbose_name=_("事项"))
    kind = models.CharField(_("材料类别"), max_length=20, choices=AttachmentKind.choices)
    file_type = models.CharField(_("文件类型"), max_length=30, choices=FileType.choices)
    name = models.CharField(_("文件名"), max_length=200)
    caption = models.CharField(_("说明"), max_length=200, blank=True)
    size = models.PositiveBigIntegerField(_("大小(字节)"))
    sha256 = models.CharField(max_length=64, verbose_name=_("文件摘要(SHA-256)"))
    # The same picture without its EXIF (place, time, device): what roles that may not see the location get.
    stripped_sha256 = models.CharField(max_length=64, blank=True, verbose_name=_("去除元数据后的SHA-256"))
    thumbnail_sha256 = models.CharField(max_length=64, blank=True, verbose_name=_("缩略图SHA-256"))
    width = models.PositiveIntegerField(null=True, blank=True, verbose_name=_("宽(像素)"))
    height = models.PositiveIntegerField(null=True, blank=True, verbose_name=_("高(像素)"))
    # EXIF GPS: phones write WGS84 (the EXIF standard's GPSMapDatum default), stored as such.
    exif_point = models.PointField(_("照片位置(WGS84)"), srid=4326, null=True, blank=True)
    exif_taken_at = models.DateTimeField(_("拍摄时间"), null=True, blank=True)
    added_at = models.DateTimeField(_("上传时间"))
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("上传人")
    )
    removed_at = models.DateTimeField(_("删除时间"), null=True, blank=True)
    removed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("移除人"),
    )
    removal_reason = models.CharField(_("删除理由"), max_length=200, blank=True)

    class Meta:
        ordering = ["added_at", "id"]
        indexes = [models.Index(fields=["case", "added_at"], name="attachment_case_added")]
        verbose_name = verbose_name_plural = _("附件")

    def __str__(self) -> str:
        return f"{self.name} ({self.get_file_type_display()})"

    @property
    def is_image(self) -> bool:
        return self.file_type in (FileType.JPEG, FileType.PNG, FileType.HEIC)

    @property
    def removed(self) -> bool:
        return self.removed_at is not None


class UploadSession(models.Model):
    """A resumable upload (a large file on a slow line): chunks appended to a staging file until it is whole.

    The row holds the declared size and hash, the bytes received so far live in the staging directory;
    when the last chunk arrives the file is checked and becomes an Attachment, and the session goes.
    A session left alone for a day is swept (with its staging file) by the daily run.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False, verbose_name=_("编号"))
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="+", verbose_name=_("事项"))
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", verbose_name=_("用户")
    )
    kind = models.CharField(max_length=20, choices=AttachmentKind.choices, verbose_name=_("材料类别"))
    name = models.CharField(max_length=200, verbose_name=_("文件名"))
    caption = models.CharField(max_length=200, blank=True, verbose_name=_("说明"))
    size = models.PositiveBigIntegerField(verbose_name=_("大小(字节)"))
    sha256 = models.CharField(max_length=64, blank=True, verbose_name=_("文件摘要(SHA-256)"))
    received = models.PositiveBigIntegerField(default=0, verbose_name=_("已收到(字节)"))
    started_at = models.DateTimeField(verbose_name=_("开始时间"))
    touched_at = models.DateTimeField(verbose_name=_("最近上传时间"))
