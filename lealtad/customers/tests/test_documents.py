"""National documents (C1), mobiles and e-mails: check digits, normal forms, clear refusals."""

import pytest
from hypothesis import given
from hypothesis import strategies as st
from stdnum.br import cnpj, cpf

from lealtad.customers import documents as d


@pytest.mark.parametrize(
    ("country", "kind", "raw", "stored"),
    [
        ("BR", "CPF", "390.533.447-05", "39053344705"),
        ("BR", "cpf", " 39053344705 ", "39053344705"),
        ("BR", "CNPJ", "11.222.333/0001-81", "11222333000181"),
        ("CO", "NIT", "900.373.11-3", "900373113"),
        ("CO", "CC", "80.123.456", "80123456"),
        ("CO", "CE", "e-12345", "E12345"),
        ("PA", "CIP", "8-0123-04567", "8-123-4567"),
        ("PA", "CIP", "pe-12-345", "PE-12-345"),
        ("PA", "CIP", "E-8-12345", "E-8-12345"),
        ("MX", "PP", "g1234567", "G1234567"),
        ("AR", "PP", "AAB123456", "AAB123456"),
    ],
)
def test_valid_documents_normalise(country, kind, raw, stored):
    assert d.normalize_document(country, kind, raw) == stored


@pytest.mark.parametrize(
    ("country", "kind", "raw"),
    [
        ("BR", "CPF", "390.533.447-06"),  # wrong check digit
        ("BR", "CPF", "111.111.111-11"),  # repeated digits are not a CPF
        ("BR", "CNPJ", "11.222.333/0001-82"),
        ("CO", "NIT", "900.373.11-4"),
        ("CO", "CC", "12"),  # too short
        ("CO", "CC", "12ab567"),  # letters
        ("PA", "CIP", "8/123/4567"),
        ("SV", "DUI", "04567890-2"),
        ("GT", "DPI", "1234567800123"),
        ("CO", "PP", "x"),
        ("CO", "CC", ""),
    ],
)
def test_invalid_documents_are_refused_with_a_message(country, kind, raw):
    with pytest.raises(d.InvalidDocument) as exc:
        d.normalize_document(country, kind, raw)
    assert exc.value.code == "invalid_document" and str(exc.value)


def test_check_digit_errors_say_so_in_the_users_language():
    from django.utils import translation

    for language, words in (
        ("en", "check digit"),
        ("es", "dígito de verificación"),
        ("pt-br", "dígito verificador"),
    ):
        with translation.override(language), pytest.raises(d.InvalidDocument) as exc:
            d.normalize_document("BR", "CPF", "39053344706")
        with translation.override(language):
            assert words in str(exc.value)


def test_type_of_another_country_is_unsupported():
    with pytest.raises(d.UnsupportedDocumentType) as exc:
        d.normalize_document("CO", "CPF", "39053344705")
    assert exc.value.code == "unsupported_document_type"


def test_document_types_by_country():
    assert [t.code for t in d.document_types_for("CO")] == ["CC", "CE", "NIT", "TI", "PP"]
    assert [t.code for t in d.document_types_for("br")] == ["CPF", "CNPJ", "PP"]
    assert [t.code for t in d.document_types_for("ZZ")] == ["PP"]
    assert {t.code for t in d.document_types_for("BR") if t.company} == {"CNPJ"}
    assert {"PA", "GT", "SV", "CO", "BR"} <= set(d.SUPPORTED_COUNTRIES)


def test_salvadoran_dui_and_guatemalan_cui_check_digits():
    base = "04567890"
    check = (10 - sum(int(x) * w for x, w in zip(base, range(9, 1, -1), strict=True)) % 10) % 10
    assert d.normalize_document("SV", "DUI", f"{base}-{check}") == f"{base}{check}"
    digits = "12345678"
    cui_check = sum(int(x) * w for x, w in zip(digits, range(2, 10), strict=True)) % 11 % 10
    assert (
        d.normalize_document("GT", "DPI", f"{digits}{cui_check}0101") == f"{digits}{cui_check}0101"
    )


def test_format_and_mask():
    assert d.format_document("BR", "CPF", "39053344705") == "390.533.447-05"
    assert d.format_document("CO", "CC", "80123456") == "80123456"
    assert d.mask_document("39053344705") == "********705"


@given(st.integers(min_value=1, max_value=999_999_998))
def test_any_cpf_with_computed_check_digits_round_trips(n):
    base = f"{n:09d}"
    number = base + cpf._calc_check_digits(base)
    if len(set(number)) == 1:
        return  # 111.111.111-11 and friends are not CPFs
    assert d.normalize_document("BR", "CPF", cpf.format(number)) == number
    wrong = number[:-1] + str((int(number[-1]) + 1) % 10)
    with pytest.raises(d.InvalidDocument):
        d.normalize_document("BR", "CPF", wrong)


def test_cnpj_property_sample():
    base = "112223330001"
    number = base + cnpj.calc_check_digits(base)
    assert d.normalize_document("BR", "CNPJ", cnpj.format(number)) == number


@pytest.mark.parametrize(
    ("raw", "country", "e164"),
    [
        ("300 123 4567", "CO", "+573001234567"),
        ("+57 300 123 4567", "BR", "+573001234567"),
        ("(31) 99876-5432", "BR", "+5531998765432"),
        ("6123-4567", "PA", "+50761234567"),
    ],
)
def test_mobiles_normalise_to_e164(raw, country, e164):
    assert d.normalize_mobile(raw, country) == e164


@pytest.mark.parametrize(
    ("raw", "country"),
    [
        ("601 555 0100", "CO"),  # a Bogotá landline
        ("12", "CO"),
        ("not a phone", "CO"),
        ("", "CO"),
        ("+99 123", "CO"),
        ("9" * 40, "CO"),
    ],
)
def test_bad_mobiles_are_refused(raw, country):
    with pytest.raises(d.InvalidMobile):
        d.normalize_mobile(raw, country)


def test_emails_are_lowercased_and_validated():
    assert d.normalize_email("  Ana.Gomez@Example.COM ") == "ana.gomez@example.com"
    for bad in ("", "ana", "ana@", "@example.com", "a b@example.com"):
        with pytest.raises(d.InvalidEmail):
            d.normalize_email(bad)
