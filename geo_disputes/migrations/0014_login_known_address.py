"""Login throttling per address, per account at an address and per account (login_throttle).

A "pair" row may record only a success (the account logged in from that address), so the last
failure becomes optional. Reversing first deletes those success-only rows.
"""

from django.db import migrations, models


def delete_success_only_rows(apps, schema_editor):
    apps.get_model("geo_disputes", "LoginFailure").objects.filter(last_failure_at__isnull=True).delete()


class Migration(migrations.Migration):

    dependencies = [
        ('geo_disputes', '0013_api_tokens'),
    ]

    operations = [
        migrations.AddField(
            model_name='loginfailure',
            name='last_success_at',
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AlterField(
            model_name='loginfailure',
            name='last_failure_at',
            field=models.DateTimeField(blank=True, null=True),
        ),
        # Reversed before the field becomes required again.
        migrations.RunPython(migrations.RunPython.noop, delete_success_only_rows),
    ]
