"""JSON Schema validation of what services hold as data (e-forms, conditions): `format` enforced, nothing ever fetched."""
import re

from jsonschema import Draft202012Validator, FormatChecker
from referencing import Registry

# `format` is enforced, not only an annotation: an applicant's email that cannot be delivered to is a notification lost.
# jsonschema checks what its installed extras allow (date, email, idn-email, ipv4, ipv6, uuid, regex, idn-hostname
# here); formats it cannot check (date-time, uri, hostname without their extras) still pass.
FORMATS = FormatChecker()
_EMAIL = re.compile(r"[^@\s]+@[^@\s.]+(\.[^@\s.]+)+")


@FORMATS.checks("email")
def _is_email(value) -> bool:
    """A deliverable shape, local@domain.tld: jsonschema's own check asks only for an "@"."""
    return not isinstance(value, str) or _EMAIL.fullmatch(value) is not None


def validator(schema: dict) -> Draft202012Validator:
    """A validator whose $refs resolve inside the schema or not at all (referencing.exceptions.Unresolvable): without a
    registry of its own, jsonschema fetches any other URL, file:// included, when data reaches the $ref."""
    return Draft202012Validator(schema, format_checker=FORMATS, registry=Registry())
