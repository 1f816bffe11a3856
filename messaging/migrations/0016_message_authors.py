from django.db import migrations, models
from django.db.models import F


def app_as_author(apps, schema_editor):
    """Business messages stored before authors were recorded keep the
    authorId they showed: their app's id (services/authors.for_app)."""
    Message = apps.get_model("messaging", "Message")
    Message.objects.filter(role="appMaker", author="").update(author=F("app_id"))


class Migration(migrations.Migration):

    dependencies = [
        ('messaging', '0015_menus'),
    ]

    operations = [
        migrations.AddField(
            model_name='message',
            name='author',
            field=models.CharField(blank=True, default='', max_length=24),
        ),
        migrations.AddField(
            model_name='message',
            name='author_name',
            field=models.CharField(blank=True, default='', max_length=255),
        ),
        migrations.RunPython(app_as_author, migrations.RunPython.noop),
    ]
