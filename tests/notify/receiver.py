"""An HTTP receiver for the webhook and SMS tests: it records every request
and checks every webhook signature with the Standard Webhooks reference
package (`standardwebhooks` on PyPI), not with medimeet's own code.

Usage: python3 receiver.py PORT

- `POST /_config` with `{"path": "/hook", "statuses": [500, 410],
  "secrets": ["whsec_..."]}`: the next answers on that path (200 once the
  list runs out) and the secrets to verify its requests with.
- `GET /_log`: every request so far, as JSON: path, headers (lower-case),
  body, the answer given, and for each configured secret whether the
  request verified with it.
- Any other `POST`: recorded and answered as configured.
"""

import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from standardwebhooks.webhooks import Webhook, WebhookVerificationError

LOCK = threading.Lock()
LOG = []
CONFIG = {}


def verified(secret, body, headers):
    try:
        Webhook(secret).verify(body, headers)
        return True
    except WebhookVerificationError:
        return False


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def answer(self, status, body=b""):
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        if self.path == "/_log":
            with LOCK:
                body = json.dumps(LOG).encode()
            self.answer(200, body)
        else:
            self.answer(404)

    def do_POST(self):
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length)
        if self.path == "/_config":
            c = json.loads(body)
            with LOCK:
                CONFIG[c["path"]] = {
                    "statuses": list(c.get("statuses", [])),
                    "secrets": list(c.get("secrets", [])),
                }
            self.answer(204)
            return
        headers = {k.lower(): v for k, v in self.headers.items()}
        with LOCK:
            conf = CONFIG.setdefault(self.path, {"statuses": [], "secrets": []})
            status = conf["statuses"].pop(0) if conf["statuses"] else 200
            secrets = list(conf["secrets"])
        record = {
            "path": self.path,
            "headers": headers,
            "body": body.decode("utf-8", "replace"),
            "status": status,
            "verified": [verified(s, body, headers) for s in secrets],
        }
        with LOCK:
            LOG.append(record)
        self.answer(status, b'{"ok": true}' if status < 300 else b'{"error": "configured"}')


ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
