"""Decide per column whether it holds PII, from a sample of its values and its name. No engine, no I/O:
the pipeline samples values with Spark and hands over plain strings.

The rule, per entity: the share of the sampled *distinct* non-null values that validate
(lakeformation.entities) must reach the threshold (``threshold`` with a name hint, ``threshold_no_hint``
without). Entities whose values cannot be told from look-alikes by content alone need more:
- USA_SSN, PHONE_NUMBER without a name hint: the values must be formatted (123-45-6789, +49 30 ..., (212) ...);
  bare digit runs are order ids as often as not;
- IP_ADDRESS without a name hint: dotted quads whose parts are all below 32 look like versions (1.2.3.4);
- DATE_OF_BIRTH, PERSON_NAME, ADDRESS: only with a name hint (any date, capitalised word or house number
  would do otherwise).
Negative name hints (version, sku, hash, uuid, isbn, opt_in, flag, ...) leave only the self-evident entities
(EMAIL, BANK_ACCOUNT): a checksum or a phone-like shape is not enough in such a column.
Confidence is the validated share, plus 0.1 with a name hint, at most 1.
"""
from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Literal

import phonenumbers
from stdnum import isbn

from lakeformation import entities as E

_TOKENS = re.compile(r"[a-z0-9]+")
NAME_HINTS: dict[str, set[str]] = {
    E.EMAIL: {"email", "mail", "emailaddress"},
    E.PHONE_NUMBER: {"phone", "mobile", "tel", "telephone", "fax", "msisdn", "cell", "phonenumber"},
    E.USA_SSN: {"ssn", "socialsecurity", "socialsecuritynumber"},
    E.CREDIT_CARD: {"card", "creditcard", "cc", "pan", "cardnumber"},
    E.BANK_ACCOUNT: {"iban", "bankaccount", "accountnumber", "bank"},
    E.IP_ADDRESS: {"ip", "ipaddress", "ipv4", "ipv6", "remoteaddr", "clientip", "sourceip"},
    E.DATE_OF_BIRTH: {"dob", "birth", "birthday", "birthdate", "dateofbirth", "born"},
    E.PERSON_NAME: {"firstname", "lastname", "fullname", "surname", "givenname", "familyname", "middlename",
                    "forename", "contactname", "customername"},
    E.ADDRESS: {"address", "street", "addr", "addressline", "address1", "address2", "streetaddress",
                "addressline1", "addressline2"},
}
PERSON_CONTEXT = {"customer", "user", "person", "employee", "contact", "patient", "owner", "member", "client",
                  "recipient", "sender", "buyer", "seller", "holder", "guest", "author", "applicant"}
NEGATIVE_HINTS = {"version", "ver", "release", "build", "model", "sku", "hash", "sha", "md5", "uuid", "guid",
                  "optin", "opt", "optout", "consent", "flag", "verified", "domain", "count", "status", "type",
                  "code", "product", "file", "host", "hostname", "url", "template", "imei", "isbn", "ean", "gtin"}
NEEDS_HINT = {E.DATE_OF_BIRTH, E.PERSON_NAME, E.ADDRESS}
SELF_EVIDENT = {E.EMAIL, E.BANK_ACCOUNT}


@dataclass(frozen=True)
class Detection:
    column: str  # column-rooted path: email, customer.full_name, contacts[].phone
    entity: str
    confidence: float
    evidence: str  # what decided it, for the report and `lakeward classify`


def _hint_words(path: str) -> tuple[set[str], set[str]]:
    """The words of a column path, singly and joined per path part (so full_name gives "fullname")."""
    parts = [p for p in re.split(r"[.\[\]{}]+", path.lower()) if p]
    words = {w for p in parts for w in _TOKENS.findall(p)}
    joined = {"".join(_TOKENS.findall(p)) for p in parts}
    return words, joined


def name_hints(path: str) -> tuple[set[str], bool]:
    """The entities the column's name suggests, and whether a negative hint vetoes name-based entities."""
    words, joined = _hint_words(path)
    leaf_words = set(_TOKENS.findall(re.split(r"[.\[\]{}]+", path.lower().strip(".[]{}"))[-1]))
    hinted = {entity for entity, hints in NAME_HINTS.items() if hints & (words | joined)}
    person_words = {"name", "first", "last", "full", "given", "family", "middle"} | PERSON_CONTEXT
    if "name" in leaf_words and leaf_words <= person_words and (
            words & PERSON_CONTEXT or {"first", "last", "full", "given", "family"} & leaf_words):
        hinted.add(E.PERSON_NAME)  # customer.name, customer_name, full_name; not customer_segment_name
    return hinted, bool(leaf_words & NEGATIVE_HINTS)


def _share(values: list[str], check: Callable[[str], bool]) -> float:
    return sum(1 for v in values if check(v)) / len(values) if values else 0.0


# Decimal numbers (amounts, coordinates), dates in any order and separator, ZIP+4 codes: never phone numbers.
_NOT_PHONE = re.compile(r"^[+-]?\d+[.,]\d+$|^\d{4}[-/.]\d{1,2}[-/.]\d{1,2}|^\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4}$"
                        r"|^\d{5}-\d{4}$")


def _is_isbn(value: str) -> bool:
    """ISBN-13 (978/979), or ISBN-10 written with its hyphens."""
    digits = "".join(c for c in value if c.isdigit() or c in "Xx")
    if len(digits) == 13 and digits.startswith(("978", "979")):
        return isbn.is_valid(digits)
    return len(digits) == 10 and value.count("-") == 3 and isbn.is_valid(value)


def _phone_share(values: list[str], hint: bool) -> float:
    """With a name hint, numbers of a possible length count (test data and new ranges are not in the
    numbering plans). Without one, formatted numbers of a possible length and bare digit runs valid in a
    numbering plan count, provided at least half of the values are formatted (a column of bare digit
    runs is ids as often as phone numbers). Dates, IP addresses and SSN-shaped values never count."""
    phone_like = {v for v in values if not (_NOT_PHONE.match(v) or E.looks_like_ssn(v) or E.is_ip_address(v)
                                            or _is_isbn(v))}
    if hint:
        return _share(values, lambda v: v in phone_like and (E.is_possible_phone(v) or E.is_phone_number(v)))
    if _share(values, lambda v: v in phone_like and E.is_formatted(v)) < 0.5:
        # mostly bare digit runs: only the formatted phone numbers count (enough of them make a doubt)
        return _share(values, lambda v: v in phone_like and E.is_formatted(v) and E.is_possible_phone(v))
    return _share(values, lambda v: v in phone_like and (
        E.is_possible_phone(v) if E.is_formatted(v) else E.is_phone_number(v)))


def _looks_like_version(value: str) -> bool:
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        return False
    return address.version == 4 and all(int(part) < 32 for part in value.split("."))


Kind = Literal["string", "integer", "number", "date", "other"]  # the column's type (other: boolean, binary)
# What a non-string column can hold: integers can be card numbers, SSNs or phone numbers (the latter two only
# with a name hint), dates only a date of birth; fractional numbers nothing.
_KIND_ENTITIES: dict[str, set[str]] = {"integer": {E.CREDIT_CARD, E.USA_SSN, E.PHONE_NUMBER},
                                       "number": set(), "date": {E.DATE_OF_BIRTH}, "other": set()}
_KIND_NEEDS_HINT = {E.USA_SSN, E.PHONE_NUMBER}


UNCERTAIN_SHARE = 0.1  # a column where this share of values validate, but less than the threshold, is doubtful
FREE_TEXT_SHARE = 0.1  # free text where this share of values contains an entity holds it
FREE_TEXT = "FREE_TEXT"  # entity prefix: FREE_TEXT:EMAIL is a text column whose values contain email addresses
# A short label before the value: "tel: +1 ...", "call 0171 ...", "mailto:a@b.org", "Email: a@b.org". Any
# other word counts as a label only with a space after its colon, so "b8a1:abcd:..." (IPv6) is no label.
_LABEL = re.compile(r"^(?:(?:mailto|tel|callto|sms)\s*:|(?:call|phone|tel|telephone|mobile|mob|cell|fax|email|"
                    r"e-mail|mail|contact|ph)\b\.?\s*[:#=\-]?|[^\W\d_][\w .'/-]{0,24}\s*:(?=\s))\s*", re.IGNORECASE)
# Entities a checksum proves: when they validate as fully as a phone number does, they are what the column holds
# (one random digit run in ten passes Luhn; a column of them all passing is cards, not phone numbers).
_CHECKSUMMED = {E.CREDIT_CARD, E.BANK_ACCOUNT, E.USA_SSN}


def strip_label(value: str) -> str:
    """The value without a short label in front of it (the label alone stays as it is)."""
    m = _LABEL.match(value)
    return value[m.end():] if m and m.end() < len(value) else value


def _shares(path: str, distinct: list[str], kind: Kind) -> list[tuple[str, float, bool]]:
    """Per entity the column can hold: (entity, share of values that validate, whether the name hints it)."""
    hinted, vetoed = name_hints(path)
    if vetoed:  # a version, sku, hash, isbn... column: only values that prove themselves (email, IBAN) count
        hinted = set()
    found = []
    for entity in E.ENTITIES:
        hint = entity in hinted
        if entity in NEEDS_HINT and not hint or vetoed and entity not in SELF_EVIDENT:
            continue
        if kind != "string" and (entity not in _KIND_ENTITIES[kind] or entity in _KIND_NEEDS_HINT and not hint):
            continue
        if entity == E.PHONE_NUMBER:
            share = _phone_share(distinct, hint)
        else:
            share = _share(distinct, E.is_formatted_ssn if entity == E.USA_SSN and not hint else E.VALIDATORS[entity])
        if entity == E.IP_ADDRESS and not hint and all(_looks_like_version(v) for v in distinct):
            continue
        found.append((entity, share, hint))
    return found


def _distinct(values: Iterable[str | None], kind: Kind) -> list[str]:
    stripped = {v.strip() for v in values if v is not None and v.strip()}
    return sorted({strip_label(v) for v in stripped} if kind == "string" else stripped)


def assess_column(path: str, values: Iterable[str | None], threshold: float = 0.8,
                  threshold_no_hint: float = 0.9, kind: Kind = "string") -> tuple[Detection | None, Detection | None]:
    """What a column holds, validated once: the PII entity it is found to hold (or None), and when it is
    not found to hold one, the doubt (or None). ``values``: sampled non-null values as strings (a short
    label in front of a value, as in ``tel: +1 815 707 2064``, is not part of it); ``kind``: the column's
    type. Free text (comments, notes) holding emails, phone numbers or card numbers in a share of its
    values is ``FREE_TEXT:<entity>``. A doubtful column is one where a real share of values
    (``UNCERTAIN_SHARE``) validate as an entity, but fewer than the threshold: it must stay closed until
    someone decides (a miss is an exposure)."""
    distinct = _distinct(values, kind)
    if not distinct:
        return None, None
    shares = _shares(path, distinct, kind)
    candidates: list[tuple[bool, Detection]] = []
    for entity, share, hint in shares:
        if share >= (threshold if hint else threshold_no_hint):
            how = f"{share:.0%} of {len(distinct)} distinct sampled values validate"
            candidates.append((hint, Detection(path, entity, round(min(1.0, share + (0.1 if hint else 0.0)), 2),
                                               how + (", and the name suggests it" if hint else ""))))
    if candidates:
        # ties: the entity the name suggests, then one a checksum proves
        return max(candidates, key=lambda c: (c[1].confidence, c[0], c[1].entity in _CHECKSUMMED))[1], None
    if kind == "string" and (free := _free_text(path, distinct)) is not None:
        return free, None
    doubts = [(share, entity) for entity, share, hint in shares
              if UNCERTAIN_SHARE <= share < (threshold if hint else threshold_no_hint)]
    if not doubts:
        return None, None
    share, entity = max(doubts)
    return None, Detection(path, entity, round(share, 2), f"{share:.0%} of {len(distinct)} distinct sampled values "
                           f"validate as {entity}, below the threshold: review it")


def classify_column(path: str, values: Iterable[str | None], threshold: float = 0.8,
                    threshold_no_hint: float = 0.9, kind: Kind = "string") -> Detection | None:
    """The PII entity a column holds, or None (see ``assess_column``)."""
    return assess_column(path, values, threshold, threshold_no_hint, kind)[0]


def doubtful_column(path: str, values: Iterable[str | None], threshold: float = 0.8,
                    threshold_no_hint: float = 0.9, kind: Kind = "string") -> Detection | None:
    """The doubt about a column not found to hold PII, or None (see ``assess_column``)."""
    return assess_column(path, values, threshold, threshold_no_hint, kind)[1]


_EMAIL_IN_TEXT = re.compile(r"[^\s@<>(),;:\"'\[\]]{1,64}@[A-Za-z0-9.-]+\.[A-Za-z]{2,63}")
_CARD_IN_TEXT = re.compile(r"(?<![\d-])\d(?:[ -]?\d){11,18}(?![\d-])")


def entities_in_text(value: str) -> set[str]:
    """The entities a piece of free text contains: valid email addresses, card numbers that pass Luhn, and
    phone numbers written as people write them (valid in some region, with a + or separators)."""
    found = set()
    if any(E.is_email(m.group().rstrip(".")) for m in _EMAIL_IN_TEXT.finditer(value)):
        found.add(E.EMAIL)
    if any(E.is_credit_card(m.group()) for m in _CARD_IN_TEXT.finditer(value)):
        found.add(E.CREDIT_CARD)
    for region in ("US", "GB", "DE", "FR", "IN"):
        for match in phonenumbers.PhoneNumberMatcher(value, region, leniency=phonenumbers.Leniency.VALID):
            if E.is_formatted(match.raw_string) and not _NOT_PHONE.match(match.raw_string.strip()) \
                    and E.CREDIT_CARD not in found:
                found.add(E.PHONE_NUMBER)
                break
    return found


def _free_text(path: str, distinct: list[str]) -> Detection | None:
    """Free text: most values have several words. PII inside it counts when a share of the values hold it."""
    if sum(1 for v in distinct if len(v.split()) >= 3) < len(distinct) / 2:
        return None
    counts: dict[str, int] = {}
    for value in distinct:
        for entity in entities_in_text(value):
            counts[entity] = counts.get(entity, 0) + 1
    if not counts:
        return None
    entity, hits = max(counts.items(), key=lambda item: item[1])
    share = hits / len(distinct)
    if share < FREE_TEXT_SHARE:
        return None
    return Detection(path, f"{FREE_TEXT}:{entity}", round(share, 2),
                     f"{hits} of {len(distinct)} distinct sampled values are free text containing {entity}")


@dataclass
class Findings:
    """What sampling a table's columns found."""

    found: list[Detection] = field(default_factory=list)  # PII
    seen: set[str] = field(default_factory=set)  # columns that had values (the others stay unclassified)
    doubts: list[Detection] = field(default_factory=list)  # doubtful columns: closed until reviewed


PII_PARAMETER = "pii"
PII_CONFIDENCE_PARAMETER = "pii_confidence"
PII_FIELDS_PARAMETER = "lakeward.pii_fields"  # nested path -> entity, when the PII is inside a struct/array
CLASSIFIED_PARAMETER = "lakeward.classified"  # "true" once a column's values were classified
OVERRIDE_PARAMETER = "lakeward.pii_override"  # the reason of a governance override
DOUBT_PARAMETER = "lakeward.pii_doubt"  # a doubtful column: the entity and the evidence, until an override


def _under(path: str, column: str) -> bool:
    return path == column or path.startswith((f"{column}.", f"{column}[", f"{column}{{"))


def column_parameters(column: str, detections: list[Detection], current: dict[str, str],
                      override: tuple[str, str] | None = None, seen: bool = True,
                      doubt: Detection | None = None) -> dict[str, str]:
    """A column's Glue Parameters once classified: ``lakeward.classified``, and for PII found in it (itself
    or nested fields) ``pii`` (the entity, or several joined by commas), ``pii_confidence`` (the highest)
    and, for nested fields, ``lakeward.pii_fields``. What was recorded before is kept: a column never
    silently stops being PII. ``override`` (entity or "none", reason) from the governance spec wins. A
    column with no sampled value (``seen`` false) is left as it is: not classified, it keeps the tags it
    inherits. A ``doubt`` (some values validate, too few to be sure) is recorded until an override settles
    it: such a column keeps the database's tags."""
    if override is None and not seen:
        return current
    parameters = {**current, CLASSIFIED_PARAMETER: "true"}
    if override is not None:
        entity, reason = override
        for key in (PII_PARAMETER, PII_CONFIDENCE_PARAMETER, PII_FIELDS_PARAMETER, DOUBT_PARAMETER):
            parameters.pop(key, None)
        parameters[OVERRIDE_PARAMETER] = reason
        if entity != "none":
            parameters.update({PII_PARAMETER: entity, PII_CONFIDENCE_PARAMETER: "1.00"})
        return parameters
    mine = [d for d in detections if _under(d.column, column)]
    if not mine:
        if doubt is not None and PII_PARAMETER not in parameters:
            parameters[DOUBT_PARAMETER] = f"{doubt.entity}: {doubt.evidence}"
        return parameters
    parameters.pop(DOUBT_PARAMETER, None)
    fields = json.loads(current.get(PII_FIELDS_PARAMETER, "{}"))
    fields.update({d.column: d.entity for d in mine if d.column != column})
    entities = set(filter(None, current.get(PII_PARAMETER, "").split(","))) | {d.entity for d in mine}
    confidence = max([d.confidence for d in mine] + [float(current.get(PII_CONFIDENCE_PARAMETER, 0) or 0)])
    parameters.update({PII_PARAMETER: ",".join(sorted(entities)), PII_CONFIDENCE_PARAMETER: f"{confidence:.2f}"})
    if fields:
        parameters[PII_FIELDS_PARAMETER] = json.dumps(fields, sort_keys=True)
    return parameters
