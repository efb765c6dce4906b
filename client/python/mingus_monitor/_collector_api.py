"""GET requests to the collector's HTTP API (docs/dashboard-api.md). These are reports the
caller asked for, so they wait for the answer, but never longer than `timeout`, and never
raise: a failure is a dict {"status": "error", "error": "..."}."""

import json
import urllib.error
import urllib.parse
import urllib.request

DEFAULT_TIMEOUT = 5.0


def error(message, **extra):
    return {"status": "error", "error": message, **extra}


def get_json(base_url, path, params=None, timeout=DEFAULT_TIMEOUT):
    url = base_url.rstrip("/") + path
    if params:
        url += "?" + urllib.parse.urlencode(params)
    try:
        request = urllib.request.Request(url, headers={"Accept": "application/json"})
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            body = response.read()
    except urllib.error.HTTPError as e:
        try:
            detail = json.loads(e.read().decode("utf-8", "replace")).get("error")
        except Exception:  # noqa: BLE001
            detail = None
        if e.code == 404:
            return error(f"the collector at {base_url} has no {path} (HTTP 404)",
                         http_status=404, url=url)
        return error(detail or f"HTTP {e.code} from {url}", http_status=e.code, url=url)
    except Exception as e:  # noqa: BLE001 - URLError, timeouts, refused connections, bad URLs
        reason = getattr(e, "reason", None) or e
        return error(f"collector unreachable at {base_url}: {reason}", url=url)
    try:
        document = json.loads(body)
    except ValueError:
        return error(f"not JSON from {url}", url=url)
    if not isinstance(document, dict):
        return error(f"unexpected answer from {url}", url=url)
    return document
