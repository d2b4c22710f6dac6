"""One normal form per document type, for storing and for searching: a document registered as
typed on the card is found however the cashier, the admin or a POS writes it (C1, C5)."""

import importlib

import pytest
from django.apps import apps as django_apps

from lealtad.core import testing
from lealtad.customers import actions, documents
from lealtad.customers.models import Customer

# (country, type, how it is registered, other ways people write it, the stored normal form)
EVERY_TYPE = [
    ("CO", "CC", "80.123.456", ["80123456", "80 123 456"], "80123456"),
    ("CO", "CE", "e-12345", ["E12345", "e 12345"], "E12345"),
    ("CO", "NIT", "900.373.11-3", ["900373113", "900373113"], "900373113"),
    ("CO", "TI", "1.012.345.678", ["1012345678"], "1012345678"),
    ("BR", "CPF", "390.533.447-05", ["39053344705", "390 533 447 05"], "39053344705"),
    ("BR", "CNPJ", "11.222.333/0001-81", ["11222333000181"], "11222333000181"),
    ("PA", "CIP", "8-302-2414", ["83022414", "8 302 2414", "8-0302-02414"], "8-302-2414"),
    ("PA", "CIP", "PE-12-345", ["pe12345", "PE 12 345"], "PE-12-345"),
    ("PA", "CIP", "E-8-12345", ["E812345", "e-8-12345"], "E-8-12345"),
    ("PA", "CIP", "3AV-12-345", ["3AV12345"], "3AV-12-345"),
    ("PA", "CIP", "10-12-345", ["1012345"], "10-12-345"),
    ("PA", "RUC", "155596713-2-2015", ["15559671322015"], "15559671322015"),
    ("GT", "DPI", "1234 56789 0101", ["1234567890101", "1234-56789-0101"], "1234567890101"),
    ("GT", "NIT", "576937-K", ["576937k", "0000576937-K"], "576937K"),
    ("SV", "DUI", "00016297-5", ["000162975"], "000162975"),
    ("SV", "NIT", "0614-050707-104-8", ["06140507071048"], "06140507071048"),
    ("MX", "CURP", "BOXW310820HNERXN09", ["boxw310820hnerxn09"], "BOXW310820HNERXN09"),
    ("MX", "RFC", "GODE561231GR8", ["gode-561231-gr8"], "GODE561231GR8"),
    ("CR", "CED", "1-0613-0584", ["1-613-584", "106130584", "0106130584"], "0106130584"),
    ("EC", "CI", "171430710-3", ["1714307103"], "1714307103"),
    ("EC", "RUC", "1792060346-001", ["1792060346001"], "1792060346001"),
    ("PE", "DNI", "10117410-2", ["10117410", "101174102"], "10117410"),
    ("PE", "RUC", "20512333797", ["20 512 333 797"], "20512333797"),
    ("CL", "RUT", "12.345.678-5", ["123456785", "12345678-5"], "123456785"),
    ("AR", "DNI", "20.123.456", ["20123456", "20-123-456"], "20123456"),
    ("AR", "CUIT", "20-26756539-3", ["20267565393"], "20267565393"),
    ("CO", "PP", "ab123456", ["AB123456", "AB 123456"], "AB123456"),
    ("BR", "PP", "FT654321", ["ft-654321"], "FT654321"),
]


def test_the_table_covers_every_document_type_the_code_knows():
    known = {
        (country, t.code)
        for country in documents.SUPPORTED_COUNTRIES
        for t in documents.document_types_for(country)
        if t.code != "PP"
    }
    tested = {(country, kind) for country, kind, *_rest in EVERY_TYPE}
    assert known <= tested
    assert any(kind == "PP" for _c, kind in tested)


@pytest.mark.parametrize(("country", "kind", "typed", "spellings", "stored"), EVERY_TYPE)
def test_every_spelling_has_one_normal_form(country, kind, typed, spellings, stored):
    assert documents.normalize_document(country, kind, typed) == stored
    for spelling in spellings:
        if country == "PA" and kind == "CIP" and "-" not in spelling and " " not in spelling:
            continue  # a cédula without hyphens is ambiguous: only a search reads it (below)
        assert documents.normalize_document(country, kind, spelling) == stored, spelling


@pytest.mark.django_db
@pytest.mark.parametrize(("country", "kind", "typed", "spellings", "stored"), EVERY_TYPE)
def test_every_spelling_finds_the_registered_customer(country, kind, typed, spellings, stored):
    shop = testing.make_merchant("Tienda", country=country)
    registered = actions.register_customer(
        merchant=shop.merchant,
        branch=shop.branch,
        staff=None,
        document_type=kind,
        document_number=typed,
        country=country,
        profile={"email": "uno@example.com"},
    ).customer
    assert registered.document_number == stored
    for spelling in [typed, stored, *spellings]:
        found = actions.find_customers(spelling, country=country)
        assert registered in found, spelling
        member = actions.find_member(shop.merchant, spelling)
        assert member is not None and member.customer_id == registered.pk, spelling


@pytest.mark.django_db
def test_a_cedula_without_hyphens_finds_every_cedula_it_can_be():
    shop = testing.make_merchant("Farmacia", country="PA")
    made = [
        actions.register_customer(
            merchant=shop.merchant,
            branch=shop.branch,
            staff=None,
            document_type="CIP",
            document_number=number,
            country="PA",
            profile={"email": f"c{i}@example.com"},
        ).customer
        for i, number in enumerate(["8-302-2414", "8-30-22414", "8-302-2415"])
    ]
    found = actions.find_customers("83022414", country="PA")
    assert sorted(c.pk for c in found) == sorted(c.pk for c in made[:2])


@pytest.mark.parametrize("text", ["Ana", "a", "María López", "MARIA", "ab", "", "x" * 40])
def test_a_name_or_a_letter_is_no_document(text):
    assert documents.document_candidates(text) == set()


@pytest.mark.django_db
def test_the_data_migration_renormalises_stored_documents():
    shop = testing.make_merchant("Tienda", country="PE")
    kept = testing.make_customer(shop).customer  # CC 8 digits: already in its normal form
    peru = actions.register_customer(
        merchant=shop.merchant,
        branch=shop.branch,
        staff=None,
        document_type="DNI",
        document_number="10117410",
        country="PE",
        profile={"email": "peru@example.com"},
    ).customer
    # Stored before this normal form: the DNI with its CUI check digit, a cédula in lower case.
    Customer.objects.filter(pk=peru.pk).update(document_number="101174102")
    panama = Customer.objects.create(
        country="PA", document_type="CIP", document_number="pe-012-0345", email="pa@example.com"
    )
    broken = Customer.objects.create(
        country="CO", document_type="CC", document_number="NOT-A-DOC", email="x@example.com"
    )
    migration = importlib.import_module("lealtad.customers.migrations.0007_renormalise_documents")
    migration.renormalise(django_apps, None)
    numbers = dict(Customer.objects.values_list("pk", "document_number"))
    assert numbers[peru.pk] == "10117410"
    assert numbers[panama.pk] == "PE-12-345"
    assert numbers[kept.pk] == kept.document_number
    assert numbers[broken.pk] == "NOT-A-DOC"  # left as it was: no normal form to give it
    assert actions.find_customers("10117410-2", country="PE") == [Customer.objects.get(pk=peru.pk)]
