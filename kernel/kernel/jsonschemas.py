"""JSON Schema validation of what services hold as data (e-forms, conditions): `format` enforced, nothing ever fetched."""
import json
import re
import re._parser as regex_parser  # the stdlib's own parse of a pattern, to see how its repetitions nest

from jsonschema import Draft202012Validator, FormatChecker
from jsonschema_specifications import REGISTRY as META_SCHEMAS
from referencing import Registry
from referencing.jsonschema import DRAFT202012

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


def ref_problem(schema: dict) -> str | None:
    """Why a schema (one that passes check_schema) could not check values because of its $refs, or None: a $ref points
    outside it (nothing is ever fetched), to something that is no schema, or back to a schema applied to the same value,
    which a validator follows forever (JSON Schema 2020-12 core, 9.4.1, leaves such a schema's behaviour undefined).
    A $ref reached by going into the value (properties, items...) is sound recursion: each step consumes a level."""
    settled: set[int] = set()  # subschemas from which every $ref resolves and no loop starts

    def follow(subschema, resolver, path: list[int]) -> str | None:
        if not isinstance(subschema, dict) or id(subschema) in settled:
            return None
        if id(subschema) in path:
            return "its $refs loop back to a schema that applies to the same value"
        path.append(id(subschema))
        for keyword in ("$ref", "$dynamicRef"):
            if isinstance(ref := subschema.get(keyword), str):
                try:
                    resolved = resolver.lookup(ref)
                except Exception:  # Unresolvable, or a pointer that walks into a string (ValueError): refused either way
                    return f"{keyword} {ref[:200]} does not resolve inside the schema"
                if not isinstance(resolved.contents, (dict, bool)):  # e.g. into an enum: validating would raise
                    return f"{keyword} {ref[:200]} does not point to a schema"
                if problem := follow(resolved.contents, resolved.resolver, path):
                    return problem
        for inner in _in_place(subschema):
            if problem := follow(inner, resolver.in_subresource(DRAFT202012.create_resource(inner)), path):
                return problem
        path.pop()
        settled.add(id(subschema))
        return None

    def walk(resource, resolver) -> str | None:
        # Every subschema, each with the base URI its $refs resolve against (as jsonschema scopes them).
        resolver = resolver.in_subresource(resource)
        if problem := follow(resource.contents, resolver, []):
            return problem
        for sub in resource.subresources():
            if problem := walk(sub, resolver):
                return problem
        return None

    # The meta-schemas jsonschema ships with resolve, as they do when validating (validator() adds them to its registry).
    root = DRAFT202012.create_resource(schema)
    try:
        return walk(root, META_SCHEMAS.resolver_with_root(root))
    except RecursionError:
        return "nested too deeply"


def slow_pattern_problem(schema: dict) -> str | None:
    """Why a schema's `pattern`s or `patternProperties` keys could make checking one short value take seconds of CPU,
    or None: a pattern that repeats a group which itself varies in length, such as ^(a+)+$ (catastrophic backtracking;
    Python's re has no time limit)."""
    pending = [schema]
    while pending:  # a loop, not recursion: the schema may be nested as deep as its parser allowed
        node = pending.pop()
        if isinstance(node, list):
            pending.extend(node)
        if not isinstance(node, dict):
            continue
        pending.extend(node.values())
        patterns = [node["pattern"]] if isinstance(node.get("pattern"), str) else []
        patterns += list(node["patternProperties"]) if isinstance(node.get("patternProperties"), dict) else []
        for pattern in patterns:
            if _backtracks_exponentially(pattern):
                return (f"pattern '{pattern[:100]}' repeats a group that itself varies in length (such as (a+)+ or (a|ab)*), "
                        "which can take exponential time; write it without the nested repetition")
    return None


def _backtracks_exponentially(pattern: str) -> bool:
    try:
        return _nested_repetition(regex_parser.parse(pattern), inside_unbounded=False)
    except (re.error, RecursionError):
        return False  # not a pattern Python compiles: check_schema's own regex check reports it


def _nested_repetition(items, *, inside_unbounded: bool) -> bool:
    """Whether an unbounded repetition holds a part that can match in more than one length or way: the shape of
    catastrophic backtracking (a simple heuristic; overlapping sequences such as \\d*\\d* stay polynomial)."""
    constants = regex_parser
    for op, arg in items:
        if op in (constants.MAX_REPEAT, constants.MIN_REPEAT, constants.POSSESSIVE_REPEAT):
            low, high, body = arg
            if inside_unbounded and low != high:
                return True
            if _nested_repetition(body, inside_unbounded=inside_unbounded or high == constants.MAXREPEAT):
                return True
        elif op is constants.BRANCH:
            if inside_unbounded or any(_nested_repetition(branch, inside_unbounded=False) for branch in arg[1]):
                return True
        elif op is constants.SUBPATTERN and _nested_repetition(arg[3], inside_unbounded=inside_unbounded):
            return True
        elif op in (constants.ASSERT, constants.ASSERT_NOT) and _nested_repetition(arg[1], inside_unbounded=inside_unbounded):
            return True
    return False


def _in_place(schema: dict) -> list:
    """The subschemas applied to the same value as `schema` itself ($refs aside)."""
    found = [schema.get(keyword) for keyword in ("not", "if", "then", "else")]
    for keyword in ("allOf", "anyOf", "oneOf"):
        found += schema[keyword] if isinstance(schema.get(keyword), list) else []
    found += schema["dependentSchemas"].values() if isinstance(schema.get("dependentSchemas"), dict) else []
    return [subschema for subschema in found if isinstance(subschema, dict)]


# Stored schema (canonical JSON) -> its slow-pattern problem or None.
_stored_patterns: dict[str, str | None] = {}


def stored_slow_pattern_problem(schema: dict) -> str | None:
    """slow_pattern_problem for a schema stored before such patterns were refused, found once per schema and kept: it is
    asked before every validation against a stored schema (an event, a submission), which must never run such a pattern."""
    key = json.dumps(schema, sort_keys=True)
    if key not in _stored_patterns:
        if len(_stored_patterns) > 1000:
            _stored_patterns.clear()
        _stored_patterns[key] = slow_pattern_problem(schema)
    return _stored_patterns[key]
