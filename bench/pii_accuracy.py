"""Column-level accuracy of the PII classifier on a labeled corpus built with Faker in several locales.

Every column is labeled with the entity it holds, or with none for decoys (order ids, UUIDs, SKUs,
hashes, version strings, 16-digit numbers failing Luhn, booleans in email_opt_in, bare ids, dates,
product names, amounts, ...). Half of the positive columns carry a telling name (email, phone, ...),
the other half a neutral one (field_17), where only content can decide; entities that need a name by
design (DATE_OF_BIRTH, PERSON_NAME, ADDRESS) always get a telling name, since a neutral name must not
fire for them. Reports precision, recall and F1 per entity and overall, and every decoy that fired.
Also times the classifier on the driver. Usage: python bench/pii_accuracy.py [--rows 200] [--seed 3]
"""
from __future__ import annotations

import argparse
import hashlib
import random
import time
import uuid
from collections import Counter

from faker import Faker

from lakeformation import entities as E
from lakeformation.classifier import classify_column

LOCALES = ["en_US", "en_GB", "de_DE", "fr_FR", "es_ES", "it_IT", "nl_NL", "pt_BR"]
HINTED_NAMES = {E.EMAIL: ["email", "contact_email", "customer.email"], E.PHONE_NUMBER: ["phone", "mobile_phone",
                "contact.tel"], E.USA_SSN: ["ssn"], E.CREDIT_CARD: ["card_number", "cc_number"],
                E.BANK_ACCOUNT: ["iban", "bank_account"], E.IP_ADDRESS: ["client_ip", "ip_address"],
                E.DATE_OF_BIRTH: ["date_of_birth", "dob", "customer.birthday"],
                E.PERSON_NAME: ["full_name", "customer.name", "last_name", "first_name"],
                E.ADDRESS: ["street_address", "address.street", "address_line1"]}


def _luhn_failing(rng: random.Random) -> str:
    from stdnum import luhn

    while True:
        value = str(rng.randint(10**15, 10**16 - 1))
        if not luhn.is_valid(value):
            return value


def positives(fake: Faker, locale: str, rows: int) -> dict[str, list[str]]:
    gen = {E.EMAIL: fake.email, E.PHONE_NUMBER: fake.phone_number, E.CREDIT_CARD: fake.credit_card_number,
           E.BANK_ACCOUNT: fake.iban, E.DATE_OF_BIRTH: lambda: fake.date_of_birth().isoformat(),
           E.PERSON_NAME: fake.name, E.ADDRESS: fake.street_address}
    if locale == "en_US":
        gen[E.USA_SSN] = fake.ssn
    gen[E.IP_ADDRESS] = fake.ipv4 if locale != "de_DE" else fake.ipv6
    return {entity: [str(g()) for _ in range(rows)] for entity, g in gen.items()}


def decoys(fake: Faker, rng: random.Random, rows: int) -> dict[str, list[str]]:
    return {
        "order_id": [f"ORD-{rng.randint(100000, 999999)}" for _ in range(rows)],
        "customer_id": [str(rng.randint(10**9, 10**10 - 1)) for _ in range(rows)],
        "request_id": [str(uuid.UUID(int=rng.getrandbits(128))) for _ in range(rows)],
        "sku": [fake.bothify("SKU-####-??").upper() for _ in range(rows)],
        "checksum": [hashlib.sha256(str(i).encode()).hexdigest() for i in range(rows)],
        "md5": [hashlib.md5(str(i).encode()).hexdigest() for i in range(rows)],
        "app_version": [f"{rng.randint(0, 9)}.{rng.randint(0, 20)}.{rng.randint(0, 30)}" for _ in range(rows)],
        "firmware": [".".join(str(rng.randint(0, 20)) for _ in range(4)) for _ in range(rows)],
        "tracking_number": [_luhn_failing(rng) for _ in range(rows)],
        "email_opt_in": [rng.choice(["true", "false"]) for _ in range(rows)],
        "created_at": [fake.date_between("-3y").isoformat() for _ in range(rows)],
        "product_name": [fake.catch_phrase() for _ in range(rows)],
        "amount": [f"{rng.uniform(1, 999):.2f}" for _ in range(rows)],
        "quantity": [str(rng.randint(1, 50)) for _ in range(rows)],
        "country": [fake.country_code() for _ in range(rows)],
        "status": [rng.choice(["NEW", "PAID", "SHIPPED"]) for _ in range(rows)],
        "city": [fake.city() for _ in range(rows)],
        "company": [fake.company() for _ in range(rows)],
        "isbn": [fake.isbn13() for _ in range(rows)],
        "field_9": [str(rng.randint(100000000, 999999999)) for _ in range(rows)],
        "event_date": [fake.date_between("-30y").isoformat() for _ in range(rows)],
        "color": [fake.color_name() for _ in range(rows)],
        "email_domain": [fake.domain_name() for _ in range(rows)],
        "phone_verified": [rng.choice(["true", "false"]) for _ in range(rows)],
        "price_eur": [str(rng.randint(1, 10**6)) for _ in range(rows)],
    }


def corpus(rows: int, seed: int) -> list[tuple[str, str | None, list[str]]]:
    rng = random.Random(seed)
    columns = []
    for i, locale in enumerate(LOCALES):
        fake = Faker(locale)
        fake.seed_instance(seed + i)
        for entity, values in positives(fake, locale, rows).items():
            hinted = HINTED_NAMES[entity]
            columns.append((rng.choice(hinted), entity, values))
            if entity not in (E.DATE_OF_BIRTH, E.PERSON_NAME, E.ADDRESS):
                columns.append((f"field_{rng.randint(10, 99)}", entity, values))
        for name, values in decoys(fake, rng, rows).items():
            columns.append((name, None, values))
    return columns


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=200)
    parser.add_argument("--seed", type=int, default=3)
    args = parser.parse_args()
    columns = corpus(args.rows, args.seed)
    tp, fp, fn = Counter(), Counter(), Counter()
    fired, missed = [], []
    started = time.perf_counter()
    for name, label, values in columns:
        found = classify_column(name, values)
        got = found.entity if found else None
        if got == label:
            if label:
                tp[label] += 1
            continue
        if got:
            fp[got] += 1
            fired.append((name, label, got, values[:3]))
        if label:
            fn[label] += 1
            missed.append((name, label, got, values[:3]))
    elapsed = time.perf_counter() - started
    values = sum(len(v) for _, _, v in columns)
    print(f"{len(columns)} columns ({sum(1 for c in columns if c[1])} PII, {sum(1 for c in columns if not c[1])} "
          f"decoys), {args.rows} values each, locales {', '.join(LOCALES)}; classified in {elapsed:.2f} s "
          f"({values / elapsed / 1e3:.0f} k values/s on the driver)")
    print(f"{'entity':14s} {'precision':>9s} {'recall':>7s} {'F1':>6s}   tp fp fn")
    for entity in (*E.ENTITIES, "overall"):
        t = sum(tp.values()) if entity == "overall" else tp[entity]
        p_ = sum(fp.values()) if entity == "overall" else fp[entity]
        n_ = sum(fn.values()) if entity == "overall" else fn[entity]
        precision = t / (t + p_) if t + p_ else 1.0
        recall = t / (t + n_) if t + n_ else 1.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        print(f"{entity:14s} {precision:9.3f} {recall:7.3f} {f1:6.3f}   {t} {p_} {n_}")
    decoy_fired = [f for f in fired if f[1] is None]
    print(f"decoys fired: {len(decoy_fired)}")
    for name, label, got, sample in fired + missed:
        print(f"  {name} labeled {label} got {got}: {sample}")


if __name__ == "__main__":
    main()
