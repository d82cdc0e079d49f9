"""The directory's entry of every version published before DirectoryEntry existed:
its facts read from the stored snapshot exactly as publish() now reads them
(DirectoryEntry.for_publication), and the columns it copies."""

from django.db import migrations


def fill_entries(apps, schema_editor):
    from disclosures.directory_facts import directory_facts

    Publication = apps.get_model("disclosures", "Publication")
    DirectoryEntry = apps.get_model("disclosures", "DirectoryEntry")
    done = set(DirectoryEntry.objects.values_list("publication_id", flat=True))
    entries = []
    copied = ("organization_id", "number", "title", "classification", "sheet_updated_on", "checklist_updated_on")
    for publication in Publication.objects.only("pk", "snapshot", *copied).iterator(chunk_size=200):
        if publication.pk not in done:
            entries.append(
                DirectoryEntry(
                    publication_id=publication.pk,
                    **{name: getattr(publication, name) for name in copied},
                    **directory_facts(publication.snapshot),
                )
            )
        if len(entries) >= 200:
            DirectoryEntry.objects.bulk_create(entries)
            entries = []
    DirectoryEntry.objects.bulk_create(entries)


class Migration(migrations.Migration):
    dependencies = [("disclosures", "0008_directory_directory_entry")]

    operations = [migrations.RunPython(fill_entries, migrations.RunPython.noop)]
