"""kernel.jsonschemas: formats enforced, a $ref never fetched (real HTTP server listening for it), slow patterns named."""
import http.server
import threading

import pytest
from referencing.exceptions import Unresolvable

from kernel.jsonschemas import ref_problem, slow_pattern_problem, validator


@pytest.mark.parametrize("value, valid", [("owner@example.la", True), ("not-an-email", False), ("a@b", False), ("a@b.la", True)])
def test_emails_must_be_deliverable_in_shape(value, valid):
    assert validator({"type": "string", "format": "email"}).is_valid(value) is valid


def test_a_remote_ref_is_never_fetched():
    requests = []

    class Recorder(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            requests.append(self.path)
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(b'{"type": "integer"}')

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Recorder)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        with pytest.raises(Unresolvable):
            validator({"$ref": f"http://127.0.0.1:{server.server_port}/schema.json"}).is_valid(5)
        with pytest.raises(Unresolvable):
            validator({"$ref": "file:///etc/hostname"}).is_valid(5)
    finally:
        server.shutdown()

    assert requests == []


def test_refs_inside_the_schema_resolve():
    schema = {"$defs": {"big": {"minimum": 10}}, "properties": {"capital": {"$ref": "#/$defs/big"}}}

    assert validator(schema).is_valid({"capital": 20}) and not validator(schema).is_valid({"capital": 5})


@pytest.mark.parametrize("schema", [
    {"$ref": "#"},
    {"$ref": "#/$defs/a", "$defs": {"a": {"$ref": "#/$defs/b"}, "b": {"$ref": "#/$defs/a"}}},
    {"$defs": {"a": {"allOf": [{"$ref": "#/$defs/b"}]}, "b": {"anyOf": [{"$ref": "#/$defs/a"}]}}, "not": {"$ref": "#/$defs/a"}},
    {"type": "object", "properties": {"a": {"$ref": "#/properties/a"}}},  # loops on the value of a, not on the object
])
def test_refs_looping_onto_the_same_value_are_named_which_validation_would_follow_forever(schema):
    assert ref_problem(schema) == "its $refs loop back to a schema that applies to the same value"
    with pytest.raises(RecursionError):
        validator(schema).is_valid({"a": 1})


@pytest.mark.parametrize("schema", [
    {"type": "object", "properties": {"name": {"type": "string"}, "children": {"type": "array", "items": {"$ref": "#"}}}},
    {"$ref": "#/$defs/node", "$defs": {"node": {"type": "object", "additionalProperties": {"$ref": "#/$defs/node"}}}},
    {"$defs": {"big": {"minimum": 10}}, "allOf": [{"$ref": "#/$defs/big"}], "properties": {"a": {"$ref": "#/$defs/big"}}},
    {"$ref": "https://json-schema.org/draft/2020-12/schema"},  # shipped with jsonschema: resolves, nothing fetched
    {"$id": "https://example.org/root", "$defs": {"x": {"$id": "https://example.org/x/", "$ref": "y"},
                                                   "y": {"$id": "https://example.org/x/y", "type": "string"}}},
])
def test_refs_that_resolve_without_looping_are_accepted_recursion_into_the_value_included(schema):
    assert ref_problem(schema) is None
    validator(schema).is_valid({"children": [{"children": []}]})  # terminates


@pytest.mark.parametrize("schema, problem", [
    ({"$ref": "#/$defs/missing"}, "$ref #/$defs/missing does not resolve inside the schema"),
    ({"properties": {"a": {"$ref": "other.json"}}}, "$ref other.json does not resolve inside the schema"),
    ({"$ref": "https://example.org/remote.json"}, "$ref https://example.org/remote.json does not resolve inside the schema"),
    ({"$dynamicRef": "#nowhere"}, "$dynamicRef #nowhere does not resolve inside the schema"),
    ({"const": "text", "$ref": "#/const/x"}, "$ref #/const/x does not resolve inside the schema"),  # referencing: ValueError
    ({"enum": [{"x": 1}], "$ref": "#/enum/0/x"}, "$ref #/enum/0/x does not point to a schema"),  # validating: TypeError
])
def test_refs_that_lead_nowhere_usable_are_named(schema, problem):
    assert ref_problem(schema) == problem


def test_a_schema_nested_deeper_than_the_check_can_follow_is_refused_not_raised():
    schema: dict = {"type": "object"}
    for _ in range(5000):
        schema = {"not": schema}

    assert ref_problem(schema) == "nested too deeply"


@pytest.mark.parametrize("schema, pattern", [
    ({"type": "string", "pattern": "^(a+)+$"}, "^(a+)+$"),
    ({"properties": {"x": {"items": [{"pattern": "(a|aa)*b"}]}}}, "(a|aa)*b"),  # found however deep, lists included
    ({"$defs": {"d": {"patternProperties": {"^(\\w+\\s?)*$": {}}}}}, "^(\\w+\\s?)*$"),  # a patternProperties key
    ({"not": {"pattern": "(?=(x*)*y)"}}, "(?=(x*)*y)"),  # inside a lookahead too
])
def test_patterns_with_nested_variable_repetition_are_named(schema, pattern):
    assert slow_pattern_problem(schema) == (f"pattern '{pattern}' repeats a group that itself varies in length (such as (a+)+ "
                                            "or (a|ab)*), which can take exponential time; write it without the nested repetition")


@pytest.mark.parametrize("schema", [
    {"type": "string", "pattern": "^([A-Z]{2}-)+[0-9]+$"},  # the repeated group has one length
    {"pattern": "^\\d*\\d*$", "patternProperties": {"^[a-z]+_(id|code)$": {"pattern": "^(ab){1,3}$"}}},
    {"pattern": "("},  # not a pattern at all: check_schema reports it, not this check
    {"enum": ["x"], "properties": {"pattern": {"type": "string"}}},  # a property named pattern is no pattern
])
def test_patterns_without_nested_variable_repetition_pass(schema):
    assert slow_pattern_problem(schema) is None


def test_the_slow_pattern_check_is_a_loop_not_recursion():
    schema: dict = {"pattern": "^(a+)+$"}
    for _ in range(5000):
        schema = {"not": schema}

    assert slow_pattern_problem(schema).startswith("pattern '^(a+)+$'")
