"""Value validators for PII entities: one function per entity, str -> bool, no engine, no I/O.

Checksums come from python-stdnum (Luhn, IBAN, US SSN) and phonenumbers; a value alone cannot settle
every case (89 % of random 9-digit numbers pass the SSN checksum; docs/measured-facts.md), so the column decision (lakeformation.classifier) also weighs formatting
and the column's name. Validators here say whether a value *can* be the entity, strictly.
"""
from __future__ import annotations

import ipaddress
import re
from datetime import date

import phonenumbers
from stdnum import iban, luhn
from stdnum.us import ssn

EMAIL = "EMAIL"
PHONE_NUMBER = "PHONE_NUMBER"
USA_SSN = "USA_SSN"
CREDIT_CARD = "CREDIT_CARD"
BANK_ACCOUNT = "BANK_ACCOUNT"
IP_ADDRESS = "IP_ADDRESS"
DATE_OF_BIRTH = "DATE_OF_BIRTH"
PERSON_NAME = "PERSON_NAME"
ADDRESS = "ADDRESS"
ENTITIES = (EMAIL, PHONE_NUMBER, USA_SSN, CREDIT_CARD, BANK_ACCOUNT, IP_ADDRESS, DATE_OF_BIRTH, PERSON_NAME,
            ADDRESS)
# Free text (comments, notes) holding an entity in a share of its values: FREE_TEXT:EMAIL, ...
FREE_TEXT_ENTITIES = tuple(f"FREE_TEXT:{e}" for e in (EMAIL, PHONE_NUMBER, CREDIT_CARD))
ALL_ENTITIES = ENTITIES + FREE_TEXT_ENTITIES


def tag_value(entity: str) -> str:
    """The entity as an LF-tag value: free_text_email for FREE_TEXT:EMAIL."""
    return entity.lower().replace(":", "_")

# The local part may be internationalised (RFC 6531); the domain is matched in its ASCII (IDNA) form.
_EMAIL = re.compile(r"^[^\s@\"(),:;<>\[\]\\]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
                    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.[A-Za-z]{2,63}$")
_PHONE_CHARS = re.compile(r"^\+?[0-9 ().\-/]{7,24}$")
_PHONE_EXTENSION = re.compile(r"\s*(?:x|ext\.?|#)\s*\d{1,6}$", re.IGNORECASE)
_PHONE_FORMATTED = re.compile(r"^\+|[ ().\-/]")
_SSN_FORMATTED = re.compile(r"^\d{3}-\d{2}-\d{4}$")
_CARD_CHARS = re.compile(r"^[0-9][0-9 -]{10,22}[0-9]$")  # 12 (Maestro) to 19 digits, with separators
_IBAN_CHARS = re.compile(r"^[A-Z]{2}\d{2}[A-Z0-9 ]{10,36}$")
_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})(?:[T ].*)?$|^(\d{2})[/.](\d{2})[/.](\d{4})$")
_NAME_TOKEN = re.compile(r"^[^\W\d_][^\W\d_'’.\-]*(?:['’.\-][^\W\d_]+)*\.?$", re.UNICODE)
_STREET_WORD = re.compile(
    r"(?i)\b(st|street|str|straße|strasse|ave|avenue|rd|road|blvd|boulevard|ln|lane|dr|drive|way|ct|court|pl|"
    r"place|sq|square|rue|via|calle|avenida|weg|gasse|platz|allee|hwy|highway|pkwy|parkway|terrace|close)\b\.?")
_PHONE_REGIONS = ("US", "GB", "DE", "FR", "IN", "BR", "ES", "IT", "NL", "PT", "BE", "CH", "AT", "PL", "SE", "AU",
                  "JP", "MX", "ZA")


def is_email(value: str) -> bool:
    return bool(_EMAIL.match(value)) and ".." not in value


def _phone_candidates(value: str) -> list[phonenumbers.PhoneNumber]:
    value = _PHONE_EXTENSION.sub("", value.strip())
    if value.startswith("00"):  # the international call prefix most countries use
        value = "+" + value[2:]
    if not _PHONE_CHARS.match(value) or sum(c.isdigit() for c in value) < 7:
        return []
    parsed = []
    for region in (None,) if value.startswith("+") else _PHONE_REGIONS:
        try:
            parsed.append(phonenumbers.parse(value, region))
        except phonenumbers.NumberParseException:
            continue
    return parsed


def is_phone_number(value: str) -> bool:
    """A valid number in some region (international form, or national form of a common region), by
    libphonenumber's numbering plans."""
    return any(phonenumbers.is_valid_number(n) for n in _phone_candidates(value))


def is_possible_phone(value: str) -> bool:
    """A number of a possible length in some region: test data and numbers in unassigned ranges pass,
    and so do many digit runs; only meaningful together with formatting or a name hint."""
    return any(phonenumbers.is_possible_number(n) for n in _phone_candidates(value))


def is_formatted(value: str) -> bool:
    """Written as people write phone numbers: +CC... or with separators, not a bare digit run."""
    return bool(_PHONE_FORMATTED.search(value.strip()))


def is_usa_ssn(value: str) -> bool:
    return ssn.is_valid(value)


def looks_like_ssn(value: str) -> bool:
    return bool(_SSN_FORMATTED.match(value))


def is_formatted_ssn(value: str) -> bool:
    return looks_like_ssn(value) and ssn.is_valid(value)


def is_credit_card(value: str) -> bool:
    if not _CARD_CHARS.match(value):
        return False
    digits = value.replace(" ", "").replace("-", "")
    return 12 <= len(digits) <= 19 and luhn.is_valid(digits)


def is_bank_account(value: str) -> bool:
    return bool(_IBAN_CHARS.match(value.upper())) and iban.is_valid(value)


def is_ip_address(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
        return True
    except ValueError:
        return False


def is_date_of_birth(value: str) -> bool:
    """A calendar date a living person can be born on (1900 to today)."""
    m = _DATE.match(value)
    if not m:
        return False
    y, mo, d = (m.group(1), m.group(2), m.group(3)) if m.group(1) else (m.group(6), m.group(5), m.group(4))
    try:
        born = date(int(y), int(mo), int(d))
    except ValueError:
        try:  # 12/31/1990 (month first)
            born = date(int(y), int(d), int(mo))
        except ValueError:
            return False
    return date(1900, 1, 1) <= born <= date.today()


_NAME_PARTICLES = {"de", "van", "der", "den", "von", "da", "di", "du", "la", "le", "del", "della", "dos", "das",
                   "do", "y", "e", "ten", "ter", "zu", "bin", "ibn", "al", "el", "af", "av", "vom", "zum", "het"}


def is_person_name(value: str) -> bool:
    """One to five words of letters, each capitalised (O'Brien, Jean-Luc, Müller, J.) but for particles
    (de, van, von, da, ...); scripts without case count as capitalised."""
    words = value.split()
    capitalised = [w for w in words if w.lower() not in _NAME_PARTICLES]
    return 1 <= len(words) <= 5 and bool(capitalised) and all(_NAME_TOKEN.match(w) for w in words) \
        and all(not w[0].islower() for w in capitalised)


def is_address(value: str) -> bool:
    """A street line: a house number and a word, or a street word ("12 Main St", "Hauptstraße 5")."""
    has_digit = any(c.isdigit() for c in value)
    letters = sum(c.isalpha() for c in value)
    return letters >= 3 and (has_digit and " " in value.strip() or bool(_STREET_WORD.search(value))) \
        and len(value) <= 200


VALIDATORS = {EMAIL: is_email, PHONE_NUMBER: is_phone_number, USA_SSN: is_usa_ssn, CREDIT_CARD: is_credit_card,
              BANK_ACCOUNT: is_bank_account, IP_ADDRESS: is_ip_address, DATE_OF_BIRTH: is_date_of_birth,
              PERSON_NAME: is_person_name, ADDRESS: is_address}
