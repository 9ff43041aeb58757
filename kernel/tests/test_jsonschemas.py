"""kernel.jsonschemas: formats enforced, and a $ref never fetched (real HTTP server listening for it)."""
import http.server
import threading

import pytest
from referencing.exceptions import Unresolvable

from kernel.jsonschemas import validator


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
