"""UK phone numbers: checked and stored in one form (E.164), shown in the national one.

Read leniently: a number stored before numbers were checked (free text, a loose
pattern) is shown as it was typed and never receives a text; nothing breaks on it.
A text goes only to a mobile number: a landline stays on the coordinator's call list.
"""

from __future__ import annotations

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberFormat, PhoneNumberType

REGION = "GB"
# The NHS service manual's pattern: say what to type, with an example (Ofcom's drama range).
HOW_TO_FIX = "Enter a UK phone number, like 07700 900 982 (a mobile, for texts) or 020 7946 0000"


def _parsed(raw: str | None) -> phonenumbers.PhoneNumber | None:
    if not raw or not raw.strip():
        return None
    try:
        number = phonenumbers.parse(raw.strip(), REGION)
    except NumberParseException:
        return None
    if _drama(number):
        return number
    if not phonenumbers.is_valid_number(number) or phonenumbers.region_code_for_number(number) not in UK_REGIONS:
        return None
    return number


def _drama(number: phonenumbers.PhoneNumber) -> bool:
    """Ofcom's mobile numbers for drama (07700 900000 to 900999): allocated to nobody, so the
    examples on the pages and the tests' numbers reach no one. libphonenumber calls them invalid."""
    return number.country_code == 44 and 7700900000 <= (number.national_number or 0) <= 7700900999


# The Crown dependencies share the UK's numbering plan (+44) and NHS services.
UK_REGIONS = {"GB", "GG", "JE", "IM"}


def normalise(raw: str) -> str:
    """E.164 (+447700900982) for a valid UK number; ValueError saying how to fix it otherwise."""
    number = _parsed(raw)
    if number is None:
        raise ValueError(HOW_TO_FIX)
    return phonenumbers.format_number(number, PhoneNumberFormat.E164)


def national(stored: str | None) -> str:
    """As a person in the UK writes it (07700 900982); a number that does not parse, as stored."""
    number = _parsed(stored)
    if number is None:
        return stored or ""
    if _drama(number):  # libphonenumber does not group a number it thinks invalid
        return f"07700 {(number.national_number or 0) % 1000000:06d}"
    return phonenumbers.format_number(number, PhoneNumberFormat.NATIONAL)


def mobile(stored: str | None) -> str | None:
    """The number in E.164 if it can take a text (a UK mobile), else None."""
    number = _parsed(stored)
    if number is None or not (_drama(number) or phonenumbers.number_type(number) == PhoneNumberType.MOBILE):
        return None
    return phonenumbers.format_number(number, PhoneNumberFormat.E164)
