"""Runs of the periodic jobs (services/ops/scheduler.py): one row per job and scheduled day.

The app role (the scheduler runs as it) gets SELECT, INSERT, UPDATE, DELETE on the new table and USAGE
on its sequence from the owner's default privileges set in 0015_app_role_grants; nothing to grant here.
"""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('geo_disputes', '0015_app_role_grants'),
    ]

    operations = [
        migrations.CreateModel(
            name='JobRun',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('job', models.CharField(max_length=50)),
                ('day', models.DateField(help_text='the scheduled day (Asia/Shanghai) the run is for')),
                ('started_at', models.DateTimeField()),
                ('finished_at', models.DateTimeField(blank=True, null=True)),
                ('outcome', models.CharField(choices=[('running', '运行中 / running'), ('ok', '完成 / completed'), ('failed', '失败 / failed')], default='running', max_length=10)),
                ('attempts', models.PositiveIntegerField(default=1, help_text='runs started for this day (retries after failures)')),
                ('summary', models.JSONField(blank=True, default=dict, help_text='counts, or the error of a failed run')),
                ('runner', models.CharField(blank=True, help_text='host:pid of the scheduler that ran it', max_length=200)),
            ],
            options={
                'verbose_name': '定时任务运行',
                'verbose_name_plural': '定时任务运行',
                'indexes': [models.Index(fields=['job', 'outcome', '-finished_at'], name='job_run_last_done')],
                'constraints': [models.UniqueConstraint(fields=('job', 'day'), name='job_run_job_day')],
            },
        ),
    ]
