# SPDX-License-Identifier: MIT
"""Minimal HTTP/1.1 server side, RFC 6455 WebSocket framing (server and a small
synchronous client), for the Genesys Cloud simulator.  Standard library only.

Nothing here knows about Genesys: see simapi.py for the routes.
"""
import asyncio
import base64
import email.utils
import hashlib
import json
import os
import socket
import ssl
import struct
import urllib.parse

WS_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

REASONS = {
    101: "Switching Protocols", 200: "OK", 201: "Created", 202: "Accepted",
    204: "No Content", 400: "Bad Request", 401: "Unauthorized",
    403: "Forbidden", 404: "Not Found", 405: "Method Not Allowed",
    408: "Request Timeout", 409: "Conflict", 411: "Length Required",
    413: "Payload Too Large", 415: "Unsupported Media Type",
    426: "Upgrade Required", 429: "Too Many Requests",
    431: "Request Header Fields Too Large", 500: "Internal Server Error",
    501: "Not Implemented", 502: "Bad Gateway", 503: "Service Unavailable",
    504: "Gateway Timeout",
}

MAX_HEADER = 64 * 1024
MAX_BODY = 16 * 1024 * 1024


class HttpError(Exception):
    def __init__(self, status, msg=""):
        super().__init__(msg)
        self.status = status


class Request:
    __slots__ = ("method", "target", "path", "query", "version", "headers",
                 "body", "peer", "keep_alive")

    def __init__(self):
        self.headers = {}
        self.body = b""

    def header(self, name, default=None):
        return self.headers.get(name.lower(), default)

    def q1(self, name, default=None):
        v = self.query.get(name)
        return v[0] if v else default

    def qall(self, name):
        """All values of a repeated query parameter; also splits commas."""
        out = []
        for v in self.query.get(name, []) + self.query.get(name + "[]", []):
            out.extend(x for x in v.split(",") if x)
        return out

    def json(self):
        if not self.body:
            return None
        return json.loads(self.body.decode("utf-8"))


class Response:
    __slots__ = ("status", "headers", "body", "action", "arg")

    def __init__(self, status=200, body=b"", headers=None, action=None, arg=None):
        self.status = status
        self.headers = headers if headers is not None else []
        if isinstance(body, (dict, list)):
            body = json.dumps(body, separators=(",", ":")).encode()
            self.headers.append(("Content-Type", "application/json"))
        elif isinstance(body, str):
            body = body.encode()
        self.body = body
        # action: None, "abort" (close socket without answer),
        # "stall" (wait arg seconds then abort)
        self.action = action
        self.arg = arg

    def encode(self, head_only=False, keep_alive=True):
        lines = ["HTTP/1.1 %d %s" % (self.status, REASONS.get(self.status, "Status"))]
        for k, v in self.headers:
            lines.append("%s: %s" % (k, v))
        # the server's clock in whole seconds (RFC 9110 6.6.1), as Genesys'
        # answers carry it: a client may place its own clock by it
        lines.append("Date: " + email.utils.formatdate(usegmt=True))
        lines.append("Content-Length: %d" % len(self.body))
        if not keep_alive:
            lines.append("Connection: close")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        return head if head_only else head + self.body


def parse_head(data):
    req = Request()
    text = data.decode("latin-1")
    lines = text.split("\r\n")
    parts = lines[0].split(" ")
    if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
        raise HttpError(400, "bad request line")
    req.method, req.target, req.version = parts
    for line in lines[1:]:
        if not line:
            continue
        k, sep, v = line.partition(":")
        if not sep:
            raise HttpError(400, "bad header")
        k = k.strip().lower()
        v = v.strip()
        if k in req.headers:
            req.headers[k] += ", " + v
        else:
            req.headers[k] = v
    u = urllib.parse.urlsplit(req.target)
    req.path = urllib.parse.unquote(u.path)
    req.query = urllib.parse.parse_qs(u.query, keep_blank_values=True)
    conn = req.headers.get("connection", "").lower()
    if req.version == "HTTP/1.0":
        req.keep_alive = "keep-alive" in conn
    else:
        req.keep_alive = "close" not in conn
    return req


async def read_request(reader, writer=None):
    """Read one request; returns None on clean EOF.  Answers
    'Expect: 100-continue' (libcurl sends it for larger POST bodies and
    would otherwise wait a second before sending the body)."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError as e:
        if not e.partial.strip():
            return None
        raise HttpError(400, "truncated head")
    except asyncio.LimitOverrunError:
        raise HttpError(431, "header too large")
    req = parse_head(head)
    if writer is not None and req.headers.get("expect", "").lower() == "100-continue":
        writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
    te = req.headers.get("transfer-encoding", "").lower()
    if "chunked" in te:
        body = bytearray()
        while True:
            line = await reader.readuntil(b"\r\n")
            size = int(line.split(b";")[0].strip() or b"0", 16)
            if size == 0:
                # trailers
                while (await reader.readuntil(b"\r\n")) != b"\r\n":
                    pass
                break
            if len(body) + size > MAX_BODY:
                raise HttpError(413, "body too large")
            body += await reader.readexactly(size)
            await reader.readexactly(2)
        req.body = bytes(body)
    else:
        n = int(req.headers.get("content-length", "0") or 0)
        if n > MAX_BODY:
            raise HttpError(413, "body too large")
        req.body = await reader.readexactly(n) if n else b""
    return req


# --------------------------------------------------------------------------
# WebSocket framing (RFC 6455)

OP_CONT, OP_TEXT, OP_BIN, OP_CLOSE, OP_PING, OP_PONG = 0, 1, 2, 8, 9, 10


def ws_accept_key(key):
    return base64.b64encode(hashlib.sha1(key.encode() + WS_GUID).digest()).decode()


def ws_frame(opcode, payload, fin=True, mask=False):
    b0 = (0x80 if fin else 0) | opcode
    n = len(payload)
    mbit = 0x80 if mask else 0
    if n < 126:
        head = struct.pack("!BB", b0, mbit | n)
    elif n < 65536:
        head = struct.pack("!BBH", b0, mbit | 126, n)
    else:
        head = struct.pack("!BBQ", b0, mbit | 127, n)
    if mask:
        key = os.urandom(4)
        return head + key + _mask(payload, key)
    return head + payload


def _mask(data, key):
    if not data:
        return b""
    n = len(data)
    k = (key * (n // 4 + 1))[:n]
    return (int.from_bytes(data, "big") ^ int.from_bytes(k, "big")).to_bytes(n, "big")


def close_payload(code, reason=""):
    if code is None:
        return b""
    return struct.pack("!H", code) + reason.encode()[:120]


class WsProtocolError(Exception):
    def __init__(self, code, msg):
        super().__init__(msg)
        self.code = code


async def ws_read_frame(reader, require_mask=True, max_len=1 << 20):
    h = await reader.readexactly(2)
    fin = bool(h[0] & 0x80)
    if h[0] & 0x70:
        raise WsProtocolError(1002, "RSV bits set")
    op = h[0] & 0x0F
    masked = bool(h[1] & 0x80)
    n = h[1] & 0x7F
    if n == 126:
        n = struct.unpack("!H", await reader.readexactly(2))[0]
    elif n == 127:
        n = struct.unpack("!Q", await reader.readexactly(8))[0]
    if require_mask and not masked:
        raise WsProtocolError(1002, "client frame not masked")
    if op >= 8 and (n > 125 or not fin):
        raise WsProtocolError(1002, "bad control frame")
    if n > max_len:
        raise WsProtocolError(1009, "frame too big")
    key = await reader.readexactly(4) if masked else None
    data = await reader.readexactly(n) if n else b""
    if key:
        data = _mask(data, key)
    return fin, op, data


# --------------------------------------------------------------------------
# Small synchronous clients used by the tests and the measuring script.

def make_client_ssl(cafile):
    ctx = ssl.create_default_context(cafile=cafile)
    return ctx


class HttpClient:
    """Keep-alive HTTP/1.1 client over one socket (reconnects if closed)."""

    def __init__(self, base_url, cafile=None, timeout=10):
        u = urllib.parse.urlsplit(base_url)
        self.host = u.hostname
        self.port = u.port or (443 if u.scheme == "https" else 80)
        self.tls = u.scheme == "https"
        self.cafile = cafile
        self.timeout = timeout
        self.sock = None
        self.rfile = None
        self.connects = 0
        self.token = None

    def _connect(self):
        s = socket.create_connection((self.host, self.port), timeout=self.timeout)
        if self.tls:
            ctx = make_client_ssl(self.cafile)
            s = ctx.wrap_socket(s, server_hostname=self.host)
        self.sock = s
        self.rfile = s.makefile("rb")
        self.connects += 1

    def close(self):
        if self.sock:
            try:
                self.sock.close()
            except OSError:
                pass
        self.sock = None

    def request(self, method, path, body=None, headers=None, auth=True, raw=False):
        hdrs = {"Host": "%s:%d" % (self.host, self.port), "Accept": "application/json"}
        if auth and self.token:
            hdrs["Authorization"] = "Bearer " + self.token
        if body is not None and not isinstance(body, (bytes, str)):
            body = json.dumps(body)
            hdrs["Content-Type"] = "application/json"
        if isinstance(body, str):
            body = body.encode()
        if headers:
            hdrs.update(headers)
        data = body or b""
        hdrs["Content-Length"] = str(len(data))
        msg = ("%s %s HTTP/1.1\r\n" % (method, path)
               + "".join("%s: %s\r\n" % kv for kv in hdrs.items()) + "\r\n").encode() + data
        for attempt in (0, 1):
            reused = self.sock is not None
            if self.sock is None:
                self._connect()
            try:
                self.sock.sendall(msg)
                status_line = self.rfile.readline()
                if not status_line:
                    raise ConnectionError("closed")
                break
            except (ConnectionError, OSError) as e:
                self.close()
                # retry once only when a reused keep-alive socket was found closed
                if attempt or not reused or isinstance(e, socket.timeout):
                    raise
        status = int(status_line.split()[1])
        rh = {}
        while True:
            line = self.rfile.readline()
            if line in (b"\r\n", b"\n", b""):
                break
            k, _, v = line.decode("latin-1").partition(":")
            rh[k.strip().lower()] = v.strip()
        n = int(rh.get("content-length", "0"))
        rb = self.rfile.read(n) if (n and method != "HEAD") else b""
        if rh.get("connection", "").lower() == "close":
            self.close()
        if raw:
            return status, rh, rb
        try:
            js = json.loads(rb) if rb else None
        except ValueError:
            js = None
        return status, rh, js

    def login(self, client_id="demo-client", secret="demo-secret"):
        cred = base64.b64encode(("%s:%s" % (client_id, secret)).encode()).decode()
        st, h, js = self.request("POST", "/oauth/token", body="grant_type=client_credentials",
                                 headers={"Authorization": "Basic " + cred,
                                          "Content-Type": "application/x-www-form-urlencoded"},
                                 auth=False)
        if st == 200:
            self.token = js["access_token"]
        return st, js


class WsClient:
    """Blocking WebSocket client (masked frames, fragment reassembly)."""

    def __init__(self, url, cafile=None, timeout=10):
        u = urllib.parse.urlsplit(url)
        self.host = u.hostname
        port = u.port or (443 if u.scheme == "wss" else 80)
        s = socket.create_connection((self.host, port), timeout=timeout)
        if u.scheme == "wss":
            s = make_client_ssl(cafile).wrap_socket(s, server_hostname=self.host)
        self.sock = s
        self.buf = bytearray()
        key = base64.b64encode(os.urandom(16)).decode()
        req = ("GET %s HTTP/1.1\r\nHost: %s:%d\r\nUpgrade: websocket\r\n"
               "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
               "Sec-WebSocket-Version: 13\r\n\r\n" % (u.path, self.host, port, key))
        s.sendall(req.encode())
        while b"\r\n\r\n" not in self.buf:
            b = s.recv(65536)
            if not b:
                raise ConnectionError("eof during handshake")
            self.buf += b
        i = self.buf.index(b"\r\n\r\n")
        head = bytes(self.buf[:i]).decode("latin-1").split("\r\n")
        del self.buf[:i + 4]
        self.status = int(head[0].split()[1])
        hdrs = {}
        for line in head[1:]:
            k, _, v = line.partition(":")
            hdrs[k.strip().lower()] = v.strip()
        self.headers = hdrs
        if self.status != 101:
            s.close()
            raise ConnectionError("handshake status %d" % self.status)
        if hdrs.get("sec-websocket-accept") != ws_accept_key(key):
            raise ConnectionError("bad Sec-WebSocket-Accept")
        self.close_code = None
        self.closed = False

    def settimeout(self, t):
        self.sock.settimeout(t)

    def send_text(self, text, fragments=1):
        data = text.encode() if isinstance(text, str) else text
        if fragments <= 1:
            self.sock.sendall(ws_frame(OP_TEXT, data, mask=True))
            return
        step = max(1, len(data) // fragments)
        chunks = [data[i:i + step] for i in range(0, len(data), step)]
        for i, c in enumerate(chunks):
            op = OP_TEXT if i == 0 else OP_CONT
            self.sock.sendall(ws_frame(op, c, fin=(i == len(chunks) - 1), mask=True))

    def send_frame(self, op, data):
        self.sock.sendall(ws_frame(op, data, mask=True))

    def _read_exact(self, n):
        while len(self.buf) < n:
            b = self.sock.recv(max(65536, n - len(self.buf)))
            if not b:
                raise ConnectionError("eof")
            self.buf += b
        out = bytes(self.buf[:n])
        del self.buf[:n]
        return out

    def recv_frame(self):
        h = self._read_exact(2)
        fin = bool(h[0] & 0x80)
        op = h[0] & 0x0F
        n = h[1] & 0x7F
        if n == 126:
            n = struct.unpack("!H", self._read_exact(2))[0]
        elif n == 127:
            n = struct.unpack("!Q", self._read_exact(8))[0]
        data = self._read_exact(n) if n else b""
        return fin, op, data

    def recv(self):
        """Next message: ('text', str) / ('pong', bytes) / ('close', code).
        Raises ConnectionError on abrupt close (1006)."""
        buf = b""
        while True:
            fin, op, data = self.recv_frame()
            if op == OP_PING:
                self.sock.sendall(ws_frame(OP_PONG, data, mask=True))
                continue
            if op == OP_PONG:
                return ("pong", data)
            if op == OP_CLOSE:
                code = struct.unpack("!H", data[:2])[0] if len(data) >= 2 else 1005
                self.close_code = code
                try:
                    self.sock.sendall(ws_frame(OP_CLOSE, data[:2], mask=True))
                except OSError:
                    pass
                self.closed = True
                return ("close", code)
            buf += data
            if fin:
                return ("text", buf.decode("utf-8"))

    def recv_json(self, skip_heartbeat=False):
        while True:
            kind, v = self.recv()
            if kind != "text":
                return kind, v
            m = json.loads(v)
            if skip_heartbeat and m.get("topicName") == "channel.metadata":
                continue
            return "json", m

    def close(self, code=1000):
        try:
            self.sock.sendall(ws_frame(OP_CLOSE, close_payload(code), mask=True))
        except OSError:
            pass
        try:
            self.sock.close()
        except OSError:
            pass
