"""The directory's facts of every version published before DirectoryEntry existed,
read from each stored snapshot exactly as publish() now reads them."""

from django.db import migrations


def fill_entries(apps, schema_editor):
    from disclosures.directory_facts import directory_facts

    Publication = apps.get_model("disclosures", "Publication")
    DirectoryEntry = apps.get_model("disclosures", "DirectoryEntry")
    done = set(DirectoryEntry.objects.values_list("publication_id", flat=True))
    entries = []
    for publication in Publication.objects.only("pk", "snapshot").iterator(chunk_size=200):
        if publication.pk not in done:
            entries.append(
                DirectoryEntry(publication_id=publication.pk, **directory_facts(publication.snapshot))
            )
        if len(entries) >= 200:
            DirectoryEntry.objects.bulk_create(entries)
            entries = []
    DirectoryEntry.objects.bulk_create(entries)


class Migration(migrations.Migration):
    dependencies = [("disclosures", "0007_directory_directory_entry")]

    operations = [migrations.RunPython(fill_entries, migrations.RunPython.noop)]
