#!/usr/bin/python3
"""A fault-injecting HTTP proxy in front of s3rver, for smrun's s3 tests (a test stand-in only).

    /usr/bin/python3 fault_proxy.py --upstream http://127.0.0.1:PORT --plan PLAN.json \
        --log REQUESTS.jsonl [--upstream-ca CA.pem] [--cert CERT.pem --key KEY.pem]

Listens on 127.0.0.1 on a port the kernel picks; once it accepts, writes {"port": N} and a newline
to fd 3 and closes fd 3. Every request is appended to the --log file as one JSON line *before* any
byte of its response is sent, so a client that got an answer (or a reset) can read its record.
Runs until SIGTERM (the C++ fixture, tests/s3/support/fault_proxy.cpp, stops it).

The plan (JSON): a list of rules, or {"rules": [...]}. For each request the rules are tried in
order; the first whose conditions hold and whose budget is not used up fires, otherwise the
request is forwarded to the upstream unchanged (Host included). Fields of a rule:

  fault        "slow_down"       503 SlowDown
               "internal_error"  500 InternalError
               "expired_token"   400 ExpiredToken
               "error"           any S3 error: "status", "code", "message" (and "headers": {...})
               "reset"           forward, send the headers and "after_bytes" body bytes (default
                                 0), then reset the connection (TCP RST); with "no_response": true
                                 reset right after reading the request, before any byte
               "wrong_region"    when the request's credential scope names a region other than
                                 "region": "style" "redirect" -> 301 PermanentRedirect, "malformed"
                                 (default) -> 400 AuthorizationHeaderMalformed; both carry
                                 <Region>R</Region> and x-amz-bucket-region: R. Requests signed
                                 for R (or unsigned) pass on to the next rules.
               "delay"           wait "ms" before answering; with "after_bytes" K, send the headers
                                 and K body bytes first, then wait, then the rest
  times        how often the rule fires; default 1 (wrong_region: -1); -1 = every time
  skip         let this many matching requests pass first (default 0)
  method       only this method ("GET", "PUT", ...)
  path         only this exact path (no query), e.g. "/bucket/key"
  path_prefix  only paths starting with this
  query        only when the raw query string contains this substring ("" matches no query)
  range        true: only requests with a Range header; false: only requests without one

Log record fields: seq, time_ms, method, path, query, range, access_key, credential_scope,
region, security_token (value or null), headers (lower-case names), body_length, rule (index of
the rule that fired, or null), action ("forward", the fault, or "upstream_error" when the upstream
could not be reached: then the client gets 502 BadGateway), status (null when no status line was
sent before the record was written: "reset" with no_response, "delay" before the headers).
"""

import argparse
import fcntl
import http.client
import http.server
import json
import os
import socket
import ssl
import struct
import sys
import termios
import threading
import time
import urllib.parse

HOP_BY_HOP = {
    "connection", "keep-alive", "proxy-connection", "transfer-encoding", "te", "trailer",
    "upgrade", "expect", "proxy-authorization", "proxy-authenticate", "content-length",
}

PRESETS = {
    "slow_down": (503, "SlowDown", "Please reduce your request rate."),
    "internal_error": (500, "InternalError", "We encountered an internal error. Please try again."),
    "expired_token": (400, "ExpiredToken", "The provided token has expired."),
}

FAULTS = set(PRESETS) | {"error", "reset", "wrong_region", "delay"}
RULE_KEYS = {"fault", "times", "skip", "method", "path", "path_prefix", "query", "range", "status",
             "code", "message", "headers", "after_bytes", "no_response", "region", "style", "ms"}

START = time.monotonic()


def credential_of(headers, query):
    """(access_key, scope, region) from a SigV4 Authorization header or X-Amz-Credential."""
    credential = None
    auth = headers.get("authorization", "")
    if auth.startswith("AWS4-HMAC-SHA256"):
        for part in auth[len("AWS4-HMAC-SHA256"):].split(","):
            key, _, value = part.strip().partition("=")
            if key == "Credential":
                credential = value
    if credential is None:
        for key, value in urllib.parse.parse_qsl(query, keep_blank_values=True):
            if key.lower() == "x-amz-credential":
                credential = value
    if not credential:
        return None, None, None
    access_key, _, scope = credential.partition("/")
    fields = scope.split("/")
    return access_key, scope, (fields[1] if len(fields) > 1 else None)


class Rule:
    def __init__(self, index, spec):
        unknown = set(spec) - RULE_KEYS
        if unknown:
            raise ValueError(f"rule {index}: unknown keys {sorted(unknown)}")
        self.index = index
        self.spec = spec
        self.fault = spec.get("fault")
        if self.fault not in FAULTS:
            raise ValueError(f"rule {index}: fault must be one of {sorted(FAULTS)}, "
                             f"not {self.fault!r}")
        if self.fault == "wrong_region" and not spec.get("region"):
            raise ValueError(f"rule {index}: wrong_region needs \"region\"")
        self.times = spec.get("times", -1 if self.fault == "wrong_region" else 1)
        self.skip = spec.get("skip", 0)
        self.matched = 0
        self.fired = 0

    def matches(self, req):
        s = self.spec
        if "method" in s and req["method"] != s["method"].upper():
            return False
        if "path" in s and req["path"] != s["path"]:
            return False
        if "path_prefix" in s and not req["path"].startswith(s["path_prefix"]):
            return False
        if "query" in s and (s["query"] not in req["query"] if s["query"] else req["query"]):
            return False
        if "range" in s and (req["range"] is not None) != bool(s["range"]):
            return False
        if self.fault == "wrong_region" and (req["region"] is None or
                                             req["region"] == s["region"]):
            return False
        return True

    def offer(self, req):
        """True when this rule fires for the request (called under the plan's lock)."""
        if not self.matches(req):
            return False
        self.matched += 1
        if self.matched <= self.skip:
            return False
        if self.times >= 0 and self.fired >= self.times:
            return False
        self.fired += 1
        return True


class Plan:
    def __init__(self, spec, log_path):
        rules = spec.get("rules", []) if isinstance(spec, dict) else spec
        self.rules = [Rule(i, r) for i, r in enumerate(rules)]
        self.lock = threading.Lock()
        self.seq = 0
        self.log = open(log_path, "a", encoding="utf-8")

    def decide(self, req):
        with self.lock:
            self.seq += 1
            req["seq"] = self.seq
            for rule in self.rules:
                if rule.offer(req):
                    return rule
            return None

    def record(self, req, rule, action, status):
        entry = dict(req)
        entry.update(rule=None if rule is None else rule.index, action=action, status=status)
        with self.lock:
            self.log.write(json.dumps(entry, sort_keys=True) + "\n")
            self.log.flush()


def error_body(code, message, extra=""):
    request_id = f"FAULTPROXY{os.getpid():06d}"
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code>'
            f"<Message>{message}</Message>{extra}<RequestId>{request_id}</RequestId>"
            f"<HostId>fault-proxy</HostId></Error>").encode()


def wait_until_sent(sock, timeout=10.0):
    """Waits (bounded) until the peer acknowledged everything written, so a reset cannot discard
    body bytes that are still in our send queue."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pending = struct.unpack("i", fcntl.ioctl(sock.fileno(), termios.TIOCOUTQ, b"\0" * 4))[0]
        if pending == 0:
            return
        time.sleep(0.001)


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "smrun-fault-proxy"

    def setup(self):
        super().setup()
        self.reset_requested = False

    def log_message(self, fmt, *args):  # to stderr, which the fixture keeps in a log file
        sys.stderr.write("fault_proxy: %s %s\n" % (self.address_string(), fmt % args))

    def read_body(self):
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            body = bytearray()
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return bytes(body)
                body += self.rfile.read(size)
                self.rfile.readline()
        length = int(self.headers.get("Content-Length", "0") or "0")
        return self.rfile.read(length) if length else b""

    def handle_any(self):
        target = self.path
        if target.startswith("http://") or target.startswith("https://"):
            parts = urllib.parse.urlsplit(target)
            target = parts.path + ("?" + parts.query if parts.query else "")
        path, _, query = target.partition("?")
        headers = {k.lower(): v for k, v in self.headers.items()}
        body = self.read_body()
        access_key, scope, region = credential_of(headers, query)
        req = {
            "time_ms": int((time.monotonic() - START) * 1000),
            "method": self.command,
            "path": path,
            "query": query,
            "range": headers.get("range"),
            "access_key": access_key,
            "credential_scope": scope,
            "region": region,
            "security_token": headers.get("x-amz-security-token"),
            "headers": headers,
            "body_length": len(body),
        }
        plan = self.server.plan
        rule = plan.decide(req)
        fault = rule.fault if rule else None
        spec = rule.spec if rule else {}

        if fault in PRESETS or fault == "error":
            status, code, message = PRESETS.get(fault) or (
                spec.get("status", 500), spec.get("code", "InternalError"),
                spec.get("message", "Injected error."))
            plan.record(req, rule, fault, status)
            self.send_error_xml(status, code, message, spec.get("headers", {}))
            return
        if fault == "wrong_region":
            right = spec["region"]
            extra = f"<Region>{right}</Region>"
            hdrs = {"x-amz-bucket-region": right}
            if spec.get("style", "malformed") == "redirect":
                bucket = path.lstrip("/").split("/")[0]
                extra += (f"<Endpoint>{bucket}.s3.{right}.amazonaws.com</Endpoint>"
                          f"<Bucket>{bucket}</Bucket>")
                plan.record(req, rule, fault, 301)
                self.send_error_xml(301, "PermanentRedirect",
                                    "The bucket you are attempting to access must be addressed "
                                    "using the specified endpoint. Please send all future "
                                    "requests to this endpoint.", hdrs, extra)
            else:
                plan.record(req, rule, fault, 400)
                self.send_error_xml(400, "AuthorizationHeaderMalformed",
                                    f"The authorization header is malformed; the region "
                                    f"'{region}' is wrong; expecting '{right}'", hdrs, extra)
            return
        if fault == "reset" and spec.get("no_response"):
            plan.record(req, rule, fault, None)
            self.reset_connection()
            return
        if fault == "delay" and spec.get("after_bytes") is None:
            plan.record(req, rule, fault, None)
            time.sleep(spec.get("ms", 0) / 1000.0)
            rule, fault, spec = None, None, {}  # then forward normally, logged once above
            self.forward(req, body, None, None, {}, logged=True)
            return
        self.forward(req, body, rule, fault, spec, logged=False)

    def forward(self, req, body, rule, fault, spec, logged):
        server = self.server
        upstream = server.upstream
        if upstream.scheme == "https":
            conn = http.client.HTTPSConnection(upstream.hostname, upstream.port, timeout=60,
                                               context=server.upstream_context)
        else:
            conn = http.client.HTTPConnection(upstream.hostname, upstream.port, timeout=60)
        try:
            conn.putrequest(self.command, self.path, skip_host=True, skip_accept_encoding=True)
            for name, value in self.headers.items():
                if name.lower() not in HOP_BY_HOP:
                    conn.putheader(name, value)
            if body or "content-length" in req["headers"]:
                conn.putheader("Content-Length", str(len(body)))
            try:
                conn.endheaders(body if body else None)
                resp = conn.getresponse()
            except (OSError, http.client.HTTPException) as e:
                # The upstream is down or broke the exchange: say so, as a gateway would.
                self.log_message("upstream %s failed: %r", server.upstream.geturl(), e)
                if not logged:
                    server.plan.record(req, rule, "upstream_error", 502)
                self.send_error_xml(502, "BadGateway", f"fault proxy: upstream failed: {e!r}", {})
                return
            status = resp.status
            if not logged:
                plan_action = fault or "forward"
                server.plan.record(req, rule, plan_action, status)
            out_headers = [(k, v) for k, v in resp.getheaders() if k.lower() not in HOP_BY_HOP]
            length = resp.getheader("Content-Length")
            if self.command == "HEAD" or status in (204, 304):
                payload, total = None, int(length or 0)
            elif length is None:
                payload = resp.read()
                total = len(payload)
            else:
                payload, total = None, int(length)
            self.send_response_only(status, resp.reason)
            for k, v in out_headers:
                self.send_header(k, v)
            self.send_header("Content-Length", str(total))
            self.end_headers()
            if self.command == "HEAD" or status in (204, 304):
                if fault == "reset":
                    self.reset_connection()
                return
            cut = spec.get("after_bytes", 0) if fault in ("reset", "delay") else None
            sent = 0
            pending = payload
            while True:
                if pending is not None:
                    chunk, pending = pending[:65536], pending[65536:]
                else:
                    chunk = resp.read(65536)
                if not chunk:
                    break
                if cut is not None and sent + len(chunk) >= cut:
                    head = chunk[:cut - sent]
                    if head:
                        self.wfile.write(head)
                    sent += len(head)
                    if fault == "reset":
                        self.reset_connection()
                        return
                    time.sleep(spec.get("ms", 0) / 1000.0)
                    cut = None
                    chunk = chunk[len(head):]
                if chunk:
                    self.wfile.write(chunk)
                    sent += len(chunk)
            if fault == "reset":  # body shorter than after_bytes: reset after all of it
                self.reset_connection()
        except (BrokenPipeError, ConnectionResetError) as e:
            self.log_message("client went away: %s", e)
            self.close_connection = True
        finally:
            conn.close()

    def send_error_xml(self, status, code, message, headers, extra=""):
        body = error_body(code, message, extra)
        reasons = {301: "Moved Permanently", 400: "Bad Request", 403: "Forbidden",
                   404: "Not Found", 500: "Internal Server Error", 502: "Bad Gateway",
                   503: "Slow Down"}
        self.send_response_only(status, reasons.get(status))
        self.send_header("Content-Type", "application/xml")
        self.send_header("x-amz-request-id", f"FAULTPROXY{os.getpid():06d}")
        self.send_header("Date", self.date_time_string())
        for k, v in headers.items():
            self.send_header(k, v)
        self.send_header("Content-Length", "0" if self.command == "HEAD" else str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def reset_connection(self):
        self.wfile.flush()
        wait_until_sent(self.connection)
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.close_connection = True
        self.server.reset_sockets.add(self.connection)

    do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = do_OPTIONS = do_PATCH = handle_any


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, *args, tls_context=None, **kwargs):
        self.tls_context = tls_context
        self.reset_sockets = set()
        super().__init__(*args, **kwargs)

    def get_request(self):
        sock, addr = self.socket.accept()
        if self.tls_context is not None:
            sock = self.tls_context.wrap_socket(sock, server_side=True,
                                                do_handshake_on_connect=False)
        return sock, addr

    def finish_request(self, request, client_address):
        if self.tls_context is not None:
            try:
                request.do_handshake()
            except (ssl.SSLError, OSError) as e:
                sys.stderr.write(f"fault_proxy: TLS handshake failed: {e}\n")
                return
        super().finish_request(request, client_address)

    def shutdown_request(self, request):
        if request in self.reset_sockets:  # no FIN first: close with SO_LINGER 0 sends RST
            self.reset_sockets.discard(request)
            self.close_request(request)
            return
        super().shutdown_request(request)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--upstream", required=True)
    parser.add_argument("--upstream-ca")
    parser.add_argument("--plan", required=True, help="JSON file")
    parser.add_argument("--log", required=True, help="JSON lines, one per request")
    parser.add_argument("--cert")
    parser.add_argument("--key")
    parser.add_argument("--address", default="127.0.0.1")
    args = parser.parse_args()

    with open(args.plan, encoding="utf-8") as f:
        plan = Plan(json.load(f), args.log)
    tls_context = None
    if args.cert:
        tls_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        tls_context.load_cert_chain(args.cert, args.key)
    server = Server((args.address, 0), Handler, tls_context=tls_context)
    server.plan = plan
    server.upstream = urllib.parse.urlsplit(args.upstream)
    server.upstream_context = ssl.create_default_context(cafile=args.upstream_ca) \
        if args.upstream_ca else ssl.create_default_context()
    port = server.server_address[1]
    sys.stderr.write(f"fault_proxy: listening on {args.address}:{port}, "
                     f"forwarding to {args.upstream}, {len(plan.rules)} rule(s)\n")
    sys.stderr.flush()
    os.write(3, (json.dumps({"port": port}) + "\n").encode())
    os.close(3)
    server.serve_forever()


if __name__ == "__main__":
    main()
