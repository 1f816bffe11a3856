"""App.require_user_jwt: existing apps keep Smooch v1's behaviour (off),
apps created from now on get it on (the model's default)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("messaging", "0005_timers"),
    ]

    operations = [
        # Existing rows are filled with False: an app whose code cannot sign
        # JWTs yet keeps working after the upgrade.
        migrations.AddField(
            model_name="app",
            name="require_user_jwt",
            field=models.BooleanField(default=False),
        ),
        migrations.AlterField(
            model_name="app",
            name="require_user_jwt",
            field=models.BooleanField(default=True),
        ),
    ]
