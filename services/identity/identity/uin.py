"""Unique and virtual ID numbers: random digits plus a Verhoeff check digit, revealing nothing about the person."""
import secrets

from stdnum import verhoeff

UIN_LENGTH = 10  # as MOSIP: 9 random digits + 1 check digit
VID_LENGTH = 16


def _too_regular(digits: str) -> bool:
    """Runs such as 111, 123 or 987 make numbers easy to guess or mistype; MOSIP filters them out too."""
    for a, b, c in zip(digits, digits[1:], digits[2:]):
        x, y, z = int(a), int(b), int(c)
        if x == y == z or (y - x == 1 and z - y == 1) or (x - y == 1 and y - z == 1):
            return True
    return False


def _generate(length: int) -> str:
    while True:
        # First digit 2-9: 0 and 1 are easily confused with letters and lose a digit in spreadsheets.
        body = str(secrets.choice("23456789")) + "".join(secrets.choice("0123456789") for _ in range(length - 2))
        number = body + verhoeff.calc_check_digit(body)
        if not _too_regular(number):
            return number


def new_uin() -> str:
    return _generate(UIN_LENGTH)


def new_vid() -> str:
    return _generate(VID_LENGTH)


def is_valid(number: str) -> bool:
    """Right shape and check digit (a typo in any one digit or a swap of neighbours is caught)."""
    return (
        isinstance(number, str)
        and number.isdigit()
        and len(number) in (UIN_LENGTH, VID_LENGTH)
        and number[0] not in "01"
        and verhoeff.is_valid(number)
    )
