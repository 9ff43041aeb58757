"""A reference point for bench_gateway.py, not a product: the least a Python forwarder can do here, on asyncio protocols
with httptools both ways (the shape of the gateway's own forwarding client, gateway/upstream.py), one socket write per
direction, one pooled keep-alive connection per concurrent call, no checks, no log. `python protocol_forwarder.py PORT
UPSTREAM_URL`. It assumes well-formed, unpipelined requests from the benchmark's own load generator."""
import asyncio
import sys

import httptools

_running: set[asyncio.Task] = set()
# The hop-by-hop headers, and the ones the forwarder writes itself.
DROPPED = {b"connection", b"keep-alive", b"transfer-encoding", b"content-length", b"server", b"date", b"host"}


class _UpstreamConnection(asyncio.Protocol):
    def __init__(self, idle: list):
        self.parser, self.transport, self.answer, self.idle, self.closed = httptools.HttpResponseParser(self), None, None, idle, False

    def connection_made(self, transport):
        self.transport = transport

    def connection_lost(self, exc):
        self.closed = True
        if self in self.idle:  # the upstream closed an idle keep-alive connection (uvicorn does after 5 s)
            self.idle.remove(self)
        if self.answer is not None and not self.answer.done():
            self.answer.set_exception(ConnectionError("the upstream closed the connection"))

    def data_received(self, data):
        self.parser.feed_data(data)

    def on_message_begin(self):
        self.headers, self.body = [], []

    def on_header(self, name, value):
        self.headers.append((name, value))

    def on_body(self, body):
        self.body.append(body)

    def on_message_complete(self):
        self.answer.set_result((self.parser.get_status_code(), self.headers, b"".join(self.body)))

    async def exchange(self, request: bytes):
        self.answer = asyncio.get_running_loop().create_future()
        self.transport.write(request)
        return await self.answer


class _CallerConnection(asyncio.Protocol):
    def __init__(self, host: str, port: int, idle: list):
        self.host, self.port, self.idle = host, port, idle
        self.authority = f"{host}:{port}".encode()
        self.parser = httptools.HttpRequestParser(self)

    def connection_made(self, transport):
        self.transport = transport

    def data_received(self, data):
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError:
            self.transport.close()

    def on_message_begin(self):
        self.url, self.headers, self.body = b"", [], []

    def on_url(self, url):
        self.url += url

    def on_header(self, name, value):
        self.headers.append((name, value))

    def on_body(self, body):
        self.body.append(body)

    def on_message_complete(self):
        task = asyncio.get_running_loop().create_task(self.forward(self.parser.get_method(), self.url, self.headers, b"".join(self.body)))
        _running.add(task)  # a task nobody refers to may be collected mid-flight
        task.add_done_callback(_running.discard)

    async def forward(self, method, url, headers, body):
        head = [method, b" ", url, b" HTTP/1.1\r\nhost: ", self.authority, b"\r\n"]
        for name, value in headers:
            if name.lower() not in DROPPED:
                head += [name, b": ", value, b"\r\n"]
        if body:
            head += [b"content-length: ", str(len(body)).encode(), b"\r\n"]
        head.append(b"\r\n")
        request = b"".join(head) + body
        for _ in range(2):  # once more on a new connection if a kept one was closed under us
            if self.idle:
                upstream = self.idle.pop()
            else:
                _, upstream = await asyncio.get_running_loop().create_connection(lambda: _UpstreamConnection(self.idle), self.host, self.port)
            try:
                status, response_headers, response_body = await upstream.exchange(request)
                break
            except ConnectionError:
                continue
        else:
            self.transport.close()
            return
        if not upstream.closed:
            self.idle.append(upstream)
        out = [b"HTTP/1.1 ", str(status).encode(), b" OK\r\n"]  # the benchmark's upstream answers 200
        for name, value in response_headers:
            if name.lower() not in DROPPED:
                out += [name, b": ", value, b"\r\n"]
        out += [b"content-length: ", str(len(response_body)).encode(), b"\r\n\r\n", response_body]
        self.transport.write(b"".join(out))


def main(port: int, upstream_url: str) -> None:
    import uvloop

    host, upstream_port = upstream_url.split("//", 1)[1].split(":")
    idle: list[_UpstreamConnection] = []

    async def serve():
        server = await asyncio.get_running_loop().create_server(lambda: _CallerConnection(host, int(upstream_port), idle),
                                                                "127.0.0.1", port)
        await server.serve_forever()

    uvloop.run(serve())


if __name__ == "__main__":
    main(int(sys.argv[1]), sys.argv[2])
