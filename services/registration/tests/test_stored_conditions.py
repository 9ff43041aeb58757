"""A condition stored before the designer refused unresolvable $refs: never fetched, never a 500 at submission."""
import http.server
import threading

import pytest

from kernel.errors import ApiError
from registration import rules


def test_a_condition_whose_ref_does_not_resolve_is_a_clear_400():
    with pytest.raises(ApiError) as refused:
        rules.holds({"properties": {"a": {"$ref": "#/nope"}}}, {"a": 1})

    assert (refused.value.status, refused.value.code) == (400, "invalid_service_design")


def test_a_remote_ref_in_a_condition_is_never_fetched():
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
        with pytest.raises(ApiError):
            rules.holds({"$ref": f"http://127.0.0.1:{server.server_port}/schema.json"}, 5)
    finally:
        server.shutdown()

    assert requests == []


def test_conditions_that_resolve_inside_themselves_still_decide():
    condition = {"$defs": {"big": {"minimum": 10}}, "properties": {"capital": {"$ref": "#/$defs/big"}}}

    assert rules.holds(condition, {"capital": 20}) and not rules.holds(condition, {"capital": 5})
