"""National identity documents (C1), mobiles and emails: validation and normal forms.

python-stdnum validates check digits where a document defines them; where it has no module we
check the format only. The normal form returned by `normalize_document` is what is stored and
what makes an identity unique, so "123.456.789-09" and "12345678909" are the same person; a
search goes through the same function (`document_candidates`), so whatever spelling registers
a document also finds it.
"""

import contextlib
import re
from dataclasses import dataclass

import phonenumbers
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils.translation import gettext_lazy as _
from stdnum import exceptions as stdnum_errors
from stdnum.ar import cuit, dni
from stdnum.br import cnpj, cpf
from stdnum.cl import rut
from stdnum.co import nit as co_nit
from stdnum.cr import cpf as cr_cpf
from stdnum.ec import ci as ec_ci
from stdnum.ec import ruc as ec_ruc
from stdnum.gt import nit as gt_nit
from stdnum.mx import curp, rfc
from stdnum.pe import cui as pe_cui
from stdnum.pe import ruc as pe_ruc
from stdnum.sv import nit as sv_nit


@dataclass(frozen=True)
class DocumentType:
    code: str
    label: str
    company: bool
    has_check_digit: bool


class InvalidDocument(ValueError):
    code = "invalid_document"


class UnsupportedDocumentType(InvalidDocument):
    code = "unsupported_document_type"


class InvalidMobile(ValueError):
    code = "invalid_mobile"


class InvalidEmail(ValueError):
    code = "invalid_email"


def _pattern(regex: str):
    """A format-only rule for documents without a check digit."""
    compiled = re.compile(regex)

    def validate(value: str) -> str:
        if not compiled.fullmatch(value):
            raise InvalidDocument(_("The document number does not have the right format."))
        return value

    return validate


def _stdnum(module, keeps_hyphens=False):
    # `keeps_hyphens`: the document needs them to read its parts (Costa Rica's 1-613-584 is
    # 0106130584, not 0001613584); that module's own compact() drops them.
    def validate(value: str) -> str:
        digits = _compact(value)
        if len(digits) > 1 and len(set(digits)) == 1:
            # 111.111.111-11 passes the CPF arithmetic but is no one's document.
            raise InvalidDocument(_("The document number is not valid."))
        try:
            return module.validate(value)
        except stdnum_errors.InvalidChecksum:
            raise InvalidDocument(_("The check digit is wrong: check the number.")) from None
        except stdnum_errors.InvalidLength:
            raise InvalidDocument(_("The document number has the wrong length.")) from None
        except stdnum_errors.InvalidFormat:
            raise InvalidDocument(
                _("The document number does not have the right format.")
            ) from None
        except stdnum_errors.ValidationError:
            raise InvalidDocument(_("The document number is not valid.")) from None

    validate.keeps_hyphens = keeps_hyphens
    return validate


def _compact(value: str) -> str:
    return re.sub(r"[\s.\-/]", "", value).upper()


def _hyphenated(value: str) -> str:
    """Every run of separators (space, dot, slash, hyphen) as one hyphen."""
    return re.sub(r"[\s./\-]+", "-", value.strip()).strip("-").upper()


# Free-format numbers still need a digit: "MARIA" is a name typed in the search, not a passport.
_WITH_DIGIT = r"(?=[A-Z]*[0-9])"
PASSPORT = (
    DocumentType("PP", _("Passport"), False, False),
    _pattern(_WITH_DIGIT + r"[A-Z0-9]{5,20}"),
)


_PE_CUI = _stdnum(pe_cui)


def _pe_dni(value: str) -> str:
    # The DNI is 8 digits; the CUI adds a check digit some people write and others do not.
    # Checked when written, never stored: one person, one normal form.
    return _PE_CUI(value)[:8]


# country → [(type, validator)]; validators take the compact value (or, `keeps_hyphens`, the
# value with its separators as hyphens) and return the stored form.
_RULES = {
    "CO": [
        (DocumentType("CC", _("Cédula de ciudadanía"), False, False), _pattern(r"[0-9]{3,10}")),
        (
            DocumentType("CE", _("Cédula de extranjería"), False, False),
            _pattern(_WITH_DIGIT + r"[A-Z0-9]{3,12}"),
        ),
        (DocumentType("NIT", _("NIT"), True, True), _stdnum(co_nit)),
        (DocumentType("TI", _("Tarjeta de identidad"), False, False), _pattern(r"[0-9]{6,11}")),
    ],
    "BR": [
        (DocumentType("CPF", _("CPF"), False, True), _stdnum(cpf)),
        (DocumentType("CNPJ", _("CNPJ"), True, True), _stdnum(cnpj)),
    ],
    # Panama's cédula: province-book-entry, e.g. 8-123-4567, PE-12-345, E-8-12345, N-19-1234.
    "PA": [
        (DocumentType("CIP", _("Cédula de identidad personal"), False, False), None),
        (DocumentType("RUC", _("RUC"), True, False), _pattern(_WITH_DIGIT + r"[0-9A-Z]{5,20}")),
    ],
    "GT": [
        (DocumentType("DPI", _("DPI (CUI)"), False, True), None),
        (DocumentType("NIT", _("NIT"), True, True), _stdnum(gt_nit)),
    ],
    "SV": [
        (DocumentType("DUI", _("DUI"), False, True), None),
        (DocumentType("NIT", _("NIT"), True, True), _stdnum(sv_nit)),
    ],
    "MX": [
        (DocumentType("CURP", _("CURP"), False, True), _stdnum(curp)),
        (DocumentType("RFC", _("RFC"), True, True), _stdnum(rfc)),
    ],
    "CR": [
        (DocumentType("CED", _("Cédula física"), False, False), _stdnum(cr_cpf, keeps_hyphens=True))
    ],
    "EC": [
        (DocumentType("CI", _("Cédula de identidad"), False, True), _stdnum(ec_ci)),
        (DocumentType("RUC", _("RUC"), True, True), _stdnum(ec_ruc)),
    ],
    "PE": [
        (DocumentType("DNI", _("DNI (CUI)"), False, True), _pe_dni),
        (DocumentType("RUC", _("RUC"), True, True), _stdnum(pe_ruc)),
    ],
    "CL": [(DocumentType("RUT", _("RUT"), False, True), _stdnum(rut))],
    "AR": [
        (DocumentType("DNI", _("DNI"), False, False), _stdnum(dni)),
        (DocumentType("CUIT", _("CUIT"), True, True), _stdnum(cuit)),
    ],
}
SUPPORTED_COUNTRIES = tuple(sorted(_RULES))

_PANAMA_CEDULA = re.compile(r"(?:[1-9]|1[0-3]|PE|E|N|[1-9]AV|[1-9]PI)-[0-9]{1,4}-[0-9]{1,6}")


def _panama_cedula(raw: str) -> str:
    # Spaces or dots between the parts are read as the card's hyphens.
    value = re.sub(r"\s*[-\s.]\s*", "-", raw.strip()).upper()
    if not _PANAMA_CEDULA.fullmatch(value):
        raise InvalidDocument(_("Write the cédula as on the card, e.g. 8-123-4567."))
    # Leading zeros in the book and entry do not make another person.
    parts = value.split("-")
    return "-".join([parts[0], str(int(parts[1])), str(int(parts[2]))])


def _dui(value: str) -> str:
    # El Salvador DUI: 8 digits and a check digit (weights 9..2, mod 10).
    if not re.fullmatch(r"[0-9]{9}", value):
        raise InvalidDocument(_("The DUI has 9 digits, e.g. 04567890-1."))
    check = 10 - sum(int(d) * w for d, w in zip(value[:8], range(9, 1, -1), strict=True)) % 10
    if check % 10 != int(value[8]):
        raise InvalidDocument(_("The check digit is wrong: check the number."))
    return value


def _cui(value: str) -> str:
    # Guatemala CUI: 8 digits, a check digit (weights 2..9, mod 11), department and municipality.
    if not re.fullmatch(r"[0-9]{13}", value):
        raise InvalidDocument(_("The CUI has 13 digits."))
    total = sum(int(d) * w for d, w in zip(value[:8], range(2, 10), strict=True))
    if total % 11 % 10 != int(value[8]) or not (1 <= int(value[9:11]) <= 22):
        raise InvalidDocument(_("The check digit is wrong: check the number."))
    return value


_SPECIAL = {("PA", "CIP"): _panama_cedula, ("SV", "DUI"): _dui, ("GT", "DPI"): _cui}


def document_types_for(country: str) -> list[DocumentType]:
    rules = _RULES.get((country or "").upper(), [])
    return [doc_type for doc_type, _v in rules] + [PASSPORT[0]]


def normalize_document(country: str, doc_type: str, number: str) -> str:
    country, doc_type = (country or "").strip().upper(), (doc_type or "").strip().upper()
    raw = (number or "").strip()
    if not raw:
        raise InvalidDocument(_("Enter the document number."))
    if len(raw) > 32:
        raise InvalidDocument(_("The document number is too long."))
    if (country, doc_type) in _SPECIAL:
        special = _SPECIAL[(country, doc_type)]
        return special(raw if doc_type == "CIP" else _compact(raw))
    if doc_type == "PP":
        return PASSPORT[1](_compact(raw))
    for known, validator in _RULES.get(country, []):
        if known.code == doc_type:
            if getattr(validator, "keeps_hyphens", False):
                return validator(_hyphenated(raw))
            return validator(_compact(raw))
    raise UnsupportedDocumentType(
        _("%(type)s is not a document type of %(country)s.")
        % {"type": doc_type, "country": country or "?"}
    )


_PANAMA_PROVINCES = (
    "PE",
    "E",
    "N",
    *(str(n) for n in range(1, 14)),
    *(f"{n}{kind}" for n in range(1, 10) for kind in ("AV", "PI")),
)


def _panama_readings(text: str) -> set[str]:
    """A cédula typed without its hyphens (83022414) reads several ways (8-302-2414,
    8-30-22414, …): each one that is a cédula is a candidate."""
    value, readings = _compact(text), set()
    for province in _PANAMA_PROVINCES:
        rest = value[len(province) :]
        if not value.startswith(province) or not (rest.isascii() and rest.isdigit()):
            continue
        for cut in range(1, min(len(rest), 5)):
            with contextlib.suppress(InvalidDocument):
                readings.add(_panama_cedula(f"{province}-{rest[:cut]}-{rest[cut:]}"))
    return readings


def document_candidates(text: str, countries=None) -> set[tuple[str, str]]:
    """Every (type, normal form) a search text can be, in `countries` (all we know by default):
    the same normal form as registration, so a document is found however it was written."""
    raw = (text or "").strip()
    if not raw or len(raw) > 32:
        return set()
    found = set()
    for country in countries or SUPPORTED_COUNTRIES:
        for doc_type in document_types_for(country):
            with contextlib.suppress(InvalidDocument):
                found.add((doc_type.code, normalize_document(country, doc_type.code, raw)))
        if country == "PA" and raw.isalnum():
            found.update(("CIP", reading) for reading in _panama_readings(raw))
    return found


def format_document(country: str, doc_type: str, compact: str) -> str:
    modules = {("BR", "CPF"): cpf, ("BR", "CNPJ"): cnpj, ("CO", "NIT"): co_nit, ("CL", "RUT"): rut}
    module = modules.get(((country or "").upper(), (doc_type or "").upper()))
    return module.format(compact) if module else compact


def mask_document(compact: str) -> str:
    return "*" * max(len(compact) - 3, 0) + compact[-3:]


_MOBILE_TYPES = {
    phonenumbers.PhoneNumberType.MOBILE,
    phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
}


def normalize_mobile(raw: str, country: str) -> str:
    text = (raw or "").strip()
    if not text or len(text) > 30:
        raise InvalidMobile(_("Enter a mobile number."))
    try:
        number = phonenumbers.parse(text, (country or "").upper() or None)
    except phonenumbers.NumberParseException:
        raise InvalidMobile(_("This is not a phone number.")) from None
    if not phonenumbers.is_valid_number(number):
        raise InvalidMobile(_("This phone number does not exist."))
    if phonenumbers.number_type(number) not in _MOBILE_TYPES:
        raise InvalidMobile(_("Enter a mobile number, not a landline."))
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normalize_email(raw: str) -> str:
    value = (raw or "").strip().lower()
    try:
        validate_email(value)
    except ValidationError:
        raise InvalidEmail(_("Enter a valid email address.")) from None
    return value
