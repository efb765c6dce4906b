#!/usr/bin/python3
"""The demo's alert receiver: Alertmanager-style webhook payloads POSTed to
http://127.0.0.1:PORT/alerts are printed one line per alert and appended, whole, to LOG.

Usage: webhook-receiver.py PORT LOG
"""

import http.server
import json
import sys


def main():
    port, log = int(sys.argv[1]), sys.argv[2]

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            try:
                payload = json.loads(body)
            except ValueError:
                self.send_response(400)
                self.end_headers()
                return
            with open(log, "a", encoding="utf-8") as f:
                f.write(json.dumps(payload) + "\n")
            for alert in payload.get("alerts", []):
                labels = alert.get("labels", {})
                print(f"webhook: [{alert.get('status', '?').upper()}] {labels.get('alertname', '?')} "
                      f"({labels.get('severity', '-')}): {alert.get('annotations', {}).get('summary', '')}",
                      flush=True)
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()


if __name__ == "__main__":
    main()
