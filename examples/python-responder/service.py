#!/usr/bin/env python3
"""A small auth-callout responder in Python: the NATS by Example service's flags and users.json.

It stands for the responders written in Python, and shows judging one inside the image with
runtimes (docs/book/container.md): CI runs the seed cases with it there. It needs only the
standard library and PyNaCl (ed25519 and the xkv1 box; Debian's python3-nacl, in the image),
and speaks the NATS text protocol itself, so nothing else has to be installed.

    python3 service.py -nats.url nats://127.0.0.1:4222 -nats.user auth -nats.pass auth \\
        -issuer.seed SA... [-xkey.seed SX...] -users users.json

What it checks: the request's signature by its issuer (a server N key), its audience and
expiry; then the user's password (constant time). Not what a production responder needs
(reconnects, a replay guard, concurrency): the suite's wire cases show what is missing.
"""

import base64
import hashlib
import hmac
import json
import os
import socket
import sys
import time
from urllib.parse import urlparse

from nacl.public import Box, PrivateKey, PublicKey
from nacl.signing import SigningKey, VerifyKey

# nkeys: a key is base32(prefix + 32 bytes + crc16), a seed base32(2 prefix bytes + 32 + crc16).
PREFIX = {"A": 0 << 3, "N": 13 << 3, "U": 20 << 3, "X": 23 << 3}


def crc16(data):
    crc = 0
    for byte in data:
        crc ^= byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else (crc << 1)
            crc &= 0xFFFF
    return crc


def b32decode(text):
    return base64.b32decode(text + "=" * (-len(text) % 8))


def raw_of_seed(seed):
    data = b32decode(seed.strip())
    if crc16(data[:-2]) != int.from_bytes(data[-2:], "little"):
        raise ValueError("the seed's checksum does not match")
    return data[2:34]


def raw_of_key(key):
    data = b32decode(key)
    if crc16(data[:-2]) != int.from_bytes(data[-2:], "little"):
        raise ValueError("bad key checksum")
    return data[1:33]


def encode_key(kind, raw):
    data = bytes([PREFIX[kind]]) + raw
    data += crc16(data).to_bytes(2, "little")
    return base64.b32encode(data).decode().rstrip("=")


def b64(data):
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def unb64(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def encode_jwt(claims, signer):
    claims = dict(claims, iat=int(time.time()))
    claims["jti"] = ""
    claims["jti"] = base64.b32encode(
        hashlib.sha256(json.dumps(claims, sort_keys=True).encode()).digest()
    ).decode().rstrip("=")
    header = b64(json.dumps({"typ": "JWT", "alg": "ed25519-nkey"}).encode())
    payload = b64(json.dumps(claims).encode())
    signature = signer.sign(f"{header}.{payload}".encode()).signature
    return f"{header}.{payload}.{b64(signature)}"


def decode_request(token):
    """The request's claims, or None when it is not signed by the server key it names."""
    try:
        header, payload, signature = token.split(".")
        claims = json.loads(unb64(payload))
        issuer = claims["iss"]
        if not issuer.startswith("N"):
            return None
        VerifyKey(raw_of_key(issuer)).verify(f"{header}.{payload}".encode(), unb64(signature))
        return claims
    except Exception:
        return None


def flags(argv):
    out = {}
    i = 0
    while i < len(argv):
        arg = argv[i].lstrip("-")
        if "=" in arg:
            key, value = arg.split("=", 1)
        else:
            key, value = arg, argv[i + 1] if i + 1 < len(argv) else ""
            i += 1
        out[key] = value
        i += 1
    return out


def seed_value(value):
    return open(value).read().strip() if value and os.path.isfile(value) else value


class Responder:
    def __init__(self, opts):
        self.issuer = SigningKey(raw_of_seed(seed_value(opts["issuer.seed"])))
        self.issuer_pub = encode_key("A", bytes(self.issuer.verify_key))
        xkey = seed_value(opts.get("xkey.seed", ""))
        self.xkey = PrivateKey(raw_of_seed(xkey)) if xkey else None
        with open(opts["users"]) as f:
            # Field names match in any letter case, as in the Go service; user names exactly.
            self.users = {
                name: {k.lower(): v for k, v in entry.items()}
                for name, entry in json.load(f).items()
            }

    def decide(self, body, server_xkey):
        """The response to one request body, or None for no reply."""
        box = None
        if server_xkey:
            if self.xkey is None or not body.startswith(b"xkv1"):
                return None
            box = Box(self.xkey, PublicKey(raw_of_key(server_xkey)))
            try:
                body = box.decrypt(body[28:], body[4:28])
            except Exception:
                return None
        elif self.xkey is not None:
            return None  # an xkey is configured: the server seals every request
        request = decode_request(body.decode(errors="replace"))
        if request is None:
            return None
        nats = request.get("nats", {})
        server = nats.get("server_id", {})
        user_nkey = nats.get("user_nkey", "")
        response = {"iss": self.issuer_pub, "sub": user_nkey, "aud": server.get("id", "")}
        error = None
        if request.get("aud") != "nats-authorization-request" or server.get("id") != request["iss"]:
            error = "bad request"
        elif server_xkey and server.get("xkey") != server_xkey:
            return None  # the header's key is not the one the server signed: answer nobody
        elif not request.get("exp") or request["exp"] < time.time():
            error = "request expired"
        else:
            opts = nats.get("connect_opts", {})
            user = self.users.get(str(opts.get("user", "")))
            given = str(opts.get("pass", "")).encode()
            if not user or not user.get("pass") or not hmac.compare_digest(
                given, str(user["pass"]).encode()
            ):
                error = "invalid credentials"
        if error:
            response["nats"] = {"error": error, "type": "authorization_response", "version": 2}
            print(f"denied: {error}", file=sys.stderr, flush=True)
        else:
            perms = {k.lower(): v for k, v in (user.get("permissions") or {}).items()}
            claims = {
                "iss": self.issuer_pub,
                "sub": user_nkey,
                "aud": user["account"],
                "name": opts["user"],
                "nats": dict(perms, subs=-1, data=-1, payload=-1, type="user", version=2),
            }
            user_jwt = encode_jwt(claims, self.issuer)
            response["nats"] = {"jwt": user_jwt, "type": "authorization_response", "version": 2}
            print(f"admitted {opts['user']} into {user['account']}", file=sys.stderr, flush=True)
        answer = encode_jwt(response, self.issuer).encode()
        if box is not None:
            nonce = os.urandom(24)
            answer = b"xkv1" + nonce + box.encrypt(answer, nonce).ciphertext
        return answer


def serve(opts):
    responder = Responder(opts)
    url = urlparse(opts.get("nats.url") or os.environ.get("NATS_URL", "nats://127.0.0.1:4222"))
    sock = socket.create_connection((url.hostname, url.port or 4222))
    stream = sock.makefile("rb")
    stream.readline()  # INFO
    connect = {
        "verbose": False, "pedantic": False, "headers": True, "no_responders": True,
        "protocol": 1, "name": "python-responder", "lang": "python", "version": "0.1.0",
        "user": opts.get("nats.user") or url.username or "",
        "pass": opts.get("nats.pass") or url.password or "",
    }
    sock.sendall(f"CONNECT {json.dumps(connect)}\r\nPING\r\n".encode())
    line = stream.readline()
    if not line.startswith(b"PONG"):
        sys.exit(f"python-responder: the server refused the connection: {line.decode().strip()}")
    sock.sendall(b"SUB $SYS.REQ.USER.AUTH q 1\r\n")
    print("python-responder: serving $SYS.REQ.USER.AUTH", file=sys.stderr, flush=True)
    while True:
        line = stream.readline()
        if not line:
            sys.exit("python-responder: the server closed the connection")
        words = line.split()
        if not words:
            continue
        if words[0] == b"PING":
            sock.sendall(b"PONG\r\n")
        elif words[0] in (b"MSG", b"HMSG"):
            headers = b""
            if words[0] == b"HMSG":
                reply = words[3] if len(words) == 6 else None
                header_len, total = int(words[-2]), int(words[-1])
                data = stream.read(total + 2)[:total]
                headers, body = data[:header_len], data[header_len:]
            else:
                reply = words[3] if len(words) == 5 else None
                body = stream.read(int(words[-1]) + 2)[:-2]
            xkey = None
            for h in headers.decode(errors="replace").split("\r\n")[1:]:
                name, _, value = h.partition(":")
                if name.strip().lower() == "nats-server-xkey":
                    xkey = value.strip()
            answer = responder.decide(body, xkey) if reply else None
            if answer is not None:
                sock.sendall(b"PUB " + reply + b" %d\r\n" % len(answer) + answer + b"\r\n")
        elif words[0] == b"-ERR":
            print(f"python-responder: {line.decode().strip()}", file=sys.stderr, flush=True)


if __name__ == "__main__":
    serve(flags(sys.argv[1:]))
