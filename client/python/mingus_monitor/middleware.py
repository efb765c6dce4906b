"""WSGI middleware that times every request by its route template, method and status.

    from flask import Flask
    from mingus_monitor import MingusMiddleware

    app = Flask(__name__)
    app.wsgi_app = MingusMiddleware(app.wsgi_app, flask_app=app)

Each request becomes one `api` event: endpoint = the Flask route template
(`request.url_rule.rule`, e.g. "/users/<int:user_id>"), so that the agent's
mingus_api_request_duration_seconds and mingus_api_requests_total have one series per route
rather than per URL. Requests that match no route are labelled "(unmatched)", never with
their raw path (which would let anyone create series at will). The time runs from the call
into the app until it returns its response; for a streamed response (a view returning a
generator), until the body is fully sent or closed. (Without flask_app, every body that is
not a list is timed to its end, which a WSGI server reaches by reading it or calling close().)
"""

import time

from .performance import PerformanceMonitor

UNMATCHED = "(unmatched)"
_STREAMED = "mingus_monitor.streamed"
_METHODS = frozenset(("GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE",
                      "PATCH"))


def _status_code(status):
    try:
        code = int(str(status)[:3])
    except ValueError:
        return 500
    return code if 100 <= code <= 599 else 500


class _Body:
    """The response body, passed through; the request is recorded when it has been iterated
    to its end or closed, whichever comes first."""

    __slots__ = ("_iterable", "_iterator", "_finish")

    def __init__(self, iterable, finish):
        self._iterable = iterable
        self._iterator = iter(iterable)
        self._finish = finish

    def __iter__(self):
        return self

    def __next__(self):
        try:
            return next(self._iterator)
        except StopIteration:
            self._finish(None)
            raise
        except BaseException:
            self._finish(500)
            raise

    def close(self):
        try:
            close = getattr(self._iterable, "close", None)
            if close is not None:
                close()
        finally:
            self._finish(None)


class MingusMiddleware:
    """Wraps a WSGI app (for Flask: app.wsgi_app; give flask_app too, used to match requests
    whose route Flask did not record). Options: monitor (a PerformanceMonitor; default the
    package's performance_monitor), user_id (a function of the WSGI environ returning the
    user's id or None), exclude (path prefixes not timed, e.g. ("/static/", "/healthz"))."""

    def __init__(self, wsgi_app, flask_app=None, monitor=None, user_id=None, exclude=()):
        self.wsgi_app = wsgi_app
        self.flask_app = flask_app
        self._monitor = monitor
        self._user_id = user_id
        self._exclude = tuple(exclude)
        self._clock = time.perf_counter
        if flask_app is not None:
            from flask import request  # flask_app is a Flask app: flask and werkzeug are there
            from werkzeug.wsgi import ClosingIterator

            def note_streamed(response):
                # Whether the view's body is made while it is sent (a generator): then the
                # time runs to its end. Error pages wrap a finished body in a ClosingIterator.
                wrapped = isinstance(getattr(response, "response", None), ClosingIterator)
                request.environ[_STREAMED] = bool(getattr(response, "is_streamed", False)) \
                    and not wrapped
                return response

            try:
                flask_app.after_request(note_streamed)
            except Exception:  # noqa: BLE001 - an app that has served already refuses hooks:
                pass  # then every response is timed to its return

    @property
    def monitor(self):
        if self._monitor is not None:
            return self._monitor
        from . import performance_monitor  # the package's, which configure() may replace
        return performance_monitor

    def __call__(self, environ, start_response):
        try:
            if self._exclude and environ.get("PATH_INFO", "").startswith(self._exclude):
                return self.wsgi_app(environ, start_response)
            monitor = self.monitor
            if isinstance(monitor, PerformanceMonitor):
                clock = monitor._clock.monotonic
            else:
                clock = self._clock
            started = clock()
        except Exception:  # noqa: BLE001 - never in the app's way
            return self.wsgi_app(environ, start_response)
        state = {"status": None, "done": False}

        def recording_start_response(status, headers, exc_info=None):
            state["status"] = status
            if exc_info is None:
                return start_response(status, headers)
            return start_response(status, headers, exc_info)

        def finish(forced_status):
            if state["done"]:
                return
            state["done"] = True
            try:
                status = forced_status or _status_code(state["status"])
                self._record(monitor, environ, status, (clock() - started) * 1000.0)
            except Exception:  # noqa: BLE001
                pass

        try:
            body = self.wsgi_app(environ, recording_start_response)
        except BaseException:
            finish(500)
            raise
        if isinstance(body, (list, tuple)) or (
                self.flask_app is not None and not environ.get(_STREAMED)):
            finish(None)
            return body
        return _Body(body, finish)

    def _record(self, monitor, environ, status, duration_ms):
        method = str(environ.get("REQUEST_METHOD", "GET")).upper()
        if method not in _METHODS:
            method = "OTHER"
        user_id = None
        if self._user_id is not None:
            try:
                user_id = self._user_id(environ)
            except Exception:  # noqa: BLE001
                user_id = None
        monitor.record_api_request(self.route(environ), method, status, duration_ms, user_id)

    def route(self, environ):
        """The route template Flask matched for this request, else UNMATCHED."""
        request = environ.get("werkzeug.request")  # Flask's request object for this environ
        rule = getattr(request, "url_rule", None)
        if rule is not None:
            return rule.rule
        if self.flask_app is not None:
            try:
                adapter = self.flask_app.url_map.bind_to_environ(environ)
                rule, _ = adapter.match(return_rule=True)
                return rule.rule
            except Exception:  # noqa: BLE001 - 404, 405, redirects: no route
                pass
        return UNMATCHED


def instrument_flask(app, **options):
    """Wrap a Flask app's wsgi_app in MingusMiddleware; returns the middleware."""
    middleware = MingusMiddleware(app.wsgi_app, flask_app=app, **options)
    app.wsgi_app = middleware
    return middleware
