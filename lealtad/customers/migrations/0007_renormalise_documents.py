from django.db import migrations

# Documents stored before the normal form of their type was settled: a Peruvian DNI with its CUI
# check digit, a Costa Rican cédula read without its hyphens… Each is written again in today's
# normal form (the one searches use), so that it is found. One that no longer validates, or
# whose normal form another customer already has, is left as it was for the operator to look at.


def renormalise(apps, schema_editor):
    from lealtad.customers.documents import InvalidDocument, normalize_document

    Customer = apps.get_model("customers", "Customer")
    rows = (
        Customer.objects.filter(anonymised_at__isnull=True)
        .order_by("pk")
        .values_list("pk", "country", "document_type", "document_number")
    )
    for pk, country, doc_type, number in rows.iterator(chunk_size=2000):
        try:
            normal = normalize_document(country, doc_type, number)
        except InvalidDocument:
            continue
        if normal == number:
            continue
        taken = Customer.objects.filter(
            country=country, document_type=doc_type, document_number=normal
        ).exists()
        if not taken:
            Customer.objects.filter(pk=pk).update(document_number=normal)


class Migration(migrations.Migration):
    dependencies = [("customers", "0006_identity_changes")]

    operations = [migrations.RunPython(renormalise, migrations.RunPython.noop, elidable=True)]
