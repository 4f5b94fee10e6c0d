"""An HTTP proxy in front of the moto server that lets a test change what one AWS action answers."""
from __future__ import annotations

import http.client
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlparse

# (action, request body, status, response body) -> (status, response body) to send instead
Rewrite = Callable[[str, bytes, int, bytes], tuple[int, bytes]]


def aws_proxy(upstream: str, rewrite: Rewrite | None = None,
              answer: Callable[[str], tuple[int, bytes] | None] | None = None) -> ThreadingHTTPServer:
    """``answer`` may reply for an action without forwarding it; ``rewrite`` changes what upstream replied."""
    target = urlparse(upstream)

    class Handler(BaseHTTPRequestHandler):
        def _forward(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            action = self.headers.get("X-Amz-Target", "").rpartition(".")[2]
            own = answer(action) if answer else None
            if own is not None:
                self.send_response(own[0])
                self.send_header("Content-Type", "application/x-amz-json-1.1")
                self.send_header("Content-Length", str(len(own[1])))
                self.end_headers()
                self.wfile.write(own[1])
                return
            connection = http.client.HTTPConnection(target.hostname, target.port, timeout=60)
            connection.request(self.command, self.path, body, {k: v for k, v in self.headers.items() if k != "Host"})
            response = connection.getresponse()
            status, data = response.status, response.read()
            if rewrite:
                status, data = rewrite(action, body, status, data)
            self.send_response(status)
            for key, value in response.getheaders():
                if key.lower() not in ("transfer-encoding", "content-length", "connection"):
                    self.send_header(key, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _forward

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def failing_proxy(upstream: str, failing_action: str) -> ThreadingHTTPServer:
    """Every call of ``failing_action`` answers 500 InternalServiceException, and never reaches upstream."""
    payload = b'{"__type": "InternalServiceException", "message": "injected by the test"}'
    return aws_proxy(upstream, answer=lambda action: (500, payload) if action == failing_action else None)
