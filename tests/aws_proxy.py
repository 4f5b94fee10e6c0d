"""An HTTP proxy in front of the moto server that lets a test change what one AWS action answers."""
from __future__ import annotations

import http.client
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlparse

# (action, request body, status, response body) -> (status, response body) to send instead
Rewrite = Callable[[str, bytes, int, bytes], tuple[int, bytes]]


def aws_proxy(upstream: str, rewrite: Rewrite) -> ThreadingHTTPServer:
    target = urlparse(upstream)

    class Handler(BaseHTTPRequestHandler):
        def _forward(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            action = self.headers.get("X-Amz-Target", "").rpartition(".")[2]
            connection = http.client.HTTPConnection(target.hostname, target.port, timeout=60)
            connection.request(self.command, self.path, body, {k: v for k, v in self.headers.items() if k != "Host"})
            response = connection.getresponse()
            status, data = rewrite(action, body, response.status, response.read())
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
    """Every call of ``failing_action`` answers 500 InternalServiceException."""
    payload = b'{"__type": "InternalServiceException", "message": "injected by the test"}'
    return aws_proxy(upstream, lambda action, _, status, body: (500, payload) if action == failing_action
                     else (status, body))
