"""Addresses: phone numbers and e-mail addresses as notify keeps them, and as its events record
them (masked: the log is forever, a person's address is not)."""

from __future__ import annotations

import re

from email_validator import EmailNotValidError, validate_email

_SEPARATORS = re.compile(r"[\s.()\-]")
_E164 = re.compile(r"^\+[1-9]\d{7,14}$")


def normalize_phone(raw: str) -> str:
    """``0912 345 678`` -> ``+84912345678``; a number with its country code is kept as it is.
    ValueError if it is not a phone number."""
    digits = _SEPARATORS.sub("", raw.strip())
    if digits.startswith("00"):
        digits = "+" + digits[2:]
    elif digits.startswith("0"):
        digits = "+84" + digits[1:]
    elif digits.startswith("84") and len(digits) in (11, 12):
        digits = "+" + digits
    if not _E164.fullmatch(digits):
        raise ValueError(f"not a phone number: {raw!r} (e.g. 0912 345 678 or +84 912 345 678)")
    return digits


def lenient_phone(raw: str | None) -> str | None:
    """A petitioner's number as the gateway takes it (``+84…``); kept as written if it is not one."""
    if not raw:
        return None
    try:
        return normalize_phone(raw)
    except ValueError:
        return raw


def normalize_email(raw: str) -> str:
    """The address in its normal form (domain lower-cased); ValueError if it is not one. The
    domain is not looked up: addresses are checked for form only."""
    try:
        return str(validate_email(raw.strip(), check_deliverability=False).normalized)
    except EmailNotValidError as e:
        raise ValueError(str(e)) from e


def mask_email(address: str) -> str:
    """``nguyen.an@example.vn`` -> ``n***@example.vn``."""
    local, _, domain = address.partition("@")
    return f"{local[:1]}***@{domain}"


def mask_phone(phone: str) -> str:
    """``+84912345678`` -> ``+84•••••5678``: enough to tell two numbers apart, not to call."""
    return phone[:3] + "•" * max(0, len(phone) - 7) + phone[-4:]
