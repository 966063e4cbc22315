"""Bounded text and dates (issue 12) and a routing-rule editor who stays named (issue 12 item 7).

Validators only (no SQL): free text users write has a length limit (models.bounds: REASON_MAX,
TEXT_MAX), dates users give lie within 1901-2200. RoutingRuleChange.actor becomes PROTECT, as
CaseEvent's: deleting a user who once edited a rule used to SET_NULL an append-only row (the trigger of
0003 refuses it: a 500); now the deletion is refused and the record keeps naming the editor
(deactivate a departed user instead). Every operation is an AlterField and reverses as one.
"""

import django.core.validators
import django.db.models.deletion
import geo_disputes.models.bounds
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("geo_disputes", "0010_accused_persons_recusal"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AlterField(
            model_name="case",
            name="accepted_at",
            field=models.DateTimeField(
                blank=True,
                null=True,
                validators=[geo_disputes.models.bounds.validate_plausible_date],
                verbose_name="受理时间",
            ),
        ),
        migrations.AlterField(
            model_name="case",
            name="agenda_date",
            field=models.DateField(
                blank=True,
                null=True,
                validators=[geo_disputes.models.bounds.validate_plausible_date],
                verbose_name="联席会议日期",
            ),
        ),
        migrations.AlterField(
            model_name="case",
            name="agenda_deadline",
            field=models.DateField(
                blank=True,
                null=True,
                validators=[geo_disputes.models.bounds.validate_plausible_date],
                verbose_name="议定期限",
            ),
        ),
        migrations.AlterField(
            model_name="case",
            name="agenda_plan",
            field=models.TextField(
                blank=True, validators=[django.core.validators.MaxLengthValidator(2000)], verbose_name="议事方案"
            ),
        ),
        migrations.AlterField(
            model_name="case",
            name="agreement_at",
            field=models.DateField(
                blank=True,
                null=True,
                validators=[geo_disputes.models.bounds.validate_plausible_date],
                verbose_name="调解协议生效日期",
            ),
        ),
        migrations.AlterField(
            model_name="case",
            name="confirmation_applied_at",
            field=models.DateField(
                blank=True,
                null=True,
                validators=[geo_disputes.models.bounds.validate_plausible_date],
                verbose_name="申请司法确认日期",
            ),
        ),
        migrations.AlterField(
            model_name="case",
            name="confirmation_ruled_at",
            field=models.DateField(
                blank=True,
                null=True,
                validators=[geo_disputes.models.bounds.validate_plausible_date],
                verbose_name="司法确认裁定日期",
            ),
        ),
        migrations.AlterField(
            model_name="case",
            name="description",
            field=models.TextField(
                validators=[django.core.validators.MaxLengthValidator(5000)], verbose_name="事项描述"
            ),
        ),
        migrations.AlterField(
            model_name="case",
            name="extension_reason",
            field=models.TextField(
                blank=True, validators=[django.core.validators.MaxLengthValidator(2000)], verbose_name="延期理由"
            ),
        ),
        migrations.AlterField(
            model_name="case",
            name="extension_told_at",
            field=models.DateField(
                blank=True,
                null=True,
                validators=[geo_disputes.models.bounds.validate_plausible_date],
                verbose_name="延期告知信访人日期",
            ),
        ),
        migrations.AlterField(
            model_name="case",
            name="filed_at",
            field=models.DateField(
                blank=True,
                null=True,
                validators=[geo_disputes.models.bounds.validate_plausible_date],
                verbose_name="立案/受理日期",
            ),
        ),
        migrations.AlterField(
            model_name="case",
            name="legal_outcome_at",
            field=models.DateField(
                blank=True,
                null=True,
                validators=[geo_disputes.models.bounds.validate_plausible_date],
                verbose_name="结案日期",
            ),
        ),
        migrations.AlterField(
            model_name="case",
            name="not_accepted_reason",
            field=models.TextField(
                blank=True, validators=[django.core.validators.MaxLengthValidator(2000)], verbose_name="不予受理理由"
            ),
        ),
        migrations.AlterField(
            model_name="case",
            name="outcome",
            field=models.TextField(
                blank=True, validators=[django.core.validators.MaxLengthValidator(5000)], verbose_name="化解结果"
            ),
        ),
        migrations.AlterField(
            model_name="case",
            name="pre_mediation_at",
            field=models.DateField(
                blank=True,
                null=True,
                validators=[geo_disputes.models.bounds.validate_plausible_date],
                verbose_name="诉前调解开始日期",
            ),
        ),
        migrations.AlterField(
            model_name="case",
            name="received_at",
            field=models.DateTimeField(
                db_index=True, validators=[geo_disputes.models.bounds.validate_plausible_date], verbose_name="登记时间"
            ),
        ),
        migrations.AlterField(
            model_name="case",
            name="replied_at",
            field=models.DateTimeField(
                blank=True,
                null=True,
                validators=[geo_disputes.models.bounds.validate_plausible_date],
                verbose_name="答复时间",
            ),
        ),
        migrations.AlterField(
            model_name="case",
            name="review_decided_at",
            field=models.DateTimeField(
                blank=True,
                null=True,
                validators=[geo_disputes.models.bounds.validate_plausible_date],
                verbose_name="复查/复核决定时间",
            ),
        ),
        migrations.AlterField(
            model_name="case",
            name="review_requested_at",
            field=models.DateTimeField(
                blank=True,
                null=True,
                validators=[geo_disputes.models.bounds.validate_plausible_date],
                verbose_name="申请复查时间",
            ),
        ),
        migrations.AlterField(
            model_name="case",
            name="served_at",
            field=models.DateTimeField(
                blank=True,
                null=True,
                validators=[geo_disputes.models.bounds.validate_plausible_date],
                verbose_name="书面答复送达时间",
            ),
        ),
        migrations.AlterField(
            model_name="caseevent",
            name="reason",
            field=models.TextField(
                blank=True, validators=[django.core.validators.MaxLengthValidator(2000)], verbose_name="理由"
            ),
        ),
        migrations.AlterField(
            model_name="followup",
            name="at",
            field=models.DateTimeField(
                validators=[geo_disputes.models.bounds.validate_plausible_date], verbose_name="回访时间"
            ),
        ),
        migrations.AlterField(
            model_name="followup",
            name="note",
            field=models.TextField(
                blank=True, validators=[django.core.validators.MaxLengthValidator(2000)], verbose_name="备注"
            ),
        ),
        migrations.AlterField(
            model_name="groupproposal",
            name="note",
            field=models.TextField(
                blank=True, validators=[django.core.validators.MaxLengthValidator(2000)], verbose_name="说明"
            ),
        ),
        migrations.AlterField(
            model_name="routingrule",
            name="explanation",
            field=models.TextField(
                blank=True, validators=[django.core.validators.MaxLengthValidator(2000)], verbose_name="依据说明"
            ),
        ),
        migrations.AlterField(
            model_name="routingrulechange",
            name="actor",
            field=models.ForeignKey(
                blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, to=settings.AUTH_USER_MODEL
            ),
        ),
        migrations.AlterField(
            model_name="supervisionact",
            name="deadline",
            field=models.DateField(
                validators=[geo_disputes.models.bounds.validate_plausible_date], verbose_name="限期"
            ),
        ),
        migrations.AlterField(
            model_name="supervisionact",
            name="reason",
            field=models.TextField(validators=[django.core.validators.MaxLengthValidator(2000)], verbose_name="理由"),
        ),
    ]
