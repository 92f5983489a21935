#!/usr/bin/env python3
"""Writes the committed seed corpora under fuzz/corpus/<target>/ (python3, standard library).

The tokens are signed under the targets' SECRET and are valid at their fixed clock (NOW), as
in fuzz/src/lib.rs. Run it again after changing either; the seed files are committed.
"""

import base64
import hashlib
import hmac
import json
import os

SECRET = b"fuzzing-secret-0123456789abcdef-0123456789"
NOW = 1_700_000_000
HERE = os.path.dirname(os.path.abspath(__file__))
HASHES = {"HS256": hashlib.sha256, "HS384": hashlib.sha384, "HS512": hashlib.sha512}


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def raw(obj) -> bytes:
    return obj if isinstance(obj, bytes) else json.dumps(obj, separators=(",", ":")).encode()


def sign(header, payload, alg="HS256") -> str:
    signing_input = f"{b64(raw(header))}.{b64(raw(payload))}"
    mac = hmac.new(SECRET, signing_input.encode(), HASHES[alg]).digest()
    return f"{signing_input}.{b64(mac)}"


HEADER = {"typ": "JWT", "alg": "HS256"}
CLAIMS = {"exp": NOW + 300, "iat": NOW, "nbf": NOW, "identity": 1}
VALID = sign(HEADER, CLAIMS)


def lifecycle(kind: str) -> dict:
    claims = dict(CLAIMS, jti="j" * 22, type=kind, fam="f" * 22, iat_ms=NOW * 1000)
    if kind == "access":
        claims["fresh"] = True
    return claims


def deep(n: int) -> bytes:
    return b'{"identity":1,"d":' + b"[" * n + b"]" * n + b"}"


def write(target: str, files: dict) -> None:
    folder = os.path.join(HERE, "corpus", target)
    os.makedirs(folder, exist_ok=True)
    for name, data in files.items():
        with open(os.path.join(folder, name), "wb") as f:
            f.write(data if isinstance(data, bytes) else data.encode())


def tricky_tokens() -> dict:
    h, p, s = VALID.split(".")
    last = s[-1]
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    bumped = alphabet[alphabet.index(last) | 1]
    return {
        "valid": VALID,
        "valid_kid_extra": sign(dict(HEADER, kid="k1"), dict(CLAIMS, role="admin", n=[1, {"a": None}])),
        "expired": sign(HEADER, dict(CLAIMS, exp=NOW - 100)),
        "float_times": sign(HEADER, dict(CLAIMS, exp=1e300, iat=NOW + 0.9, nbf=-1e300)),
        "alg_none": f"{b64(raw({'alg': 'none'}))}.{p}.",
        "alg_hs512": sign({"typ": "JWT", "alg": "HS512"}, CLAIMS, "HS512"),
        "duplicate_alg": sign(b'{"alg":"none","alg":"HS256"}', CLAIMS),
        "crit": sign(dict(HEADER, crit=["exp"]), CLAIMS),
        "aud": sign(HEADER, dict(CLAIMS, aud=["a", 1])),
        "identity_string": sign(HEADER, dict(CLAIMS, identity="1")),
        "too_deep": sign(HEADER, deep(40)),
        "padded": f"{h}=.{p}.{s}",
        "standard_alphabet": VALID.replace("-", "+").replace("_", "/"),
        "four_segments": VALID + ".x",
        "trailing_bits": f"{h}.{p}.{s[:-1]}{bumped}",
        "two_segments": f"{h}.{p}",
        "dots": "..",
        "refresh": sign(HEADER, lifecycle("refresh")),
    }


def main() -> None:
    write("verify_bytes", tricky_tokens())

    write("verify_signed", {
        "default_header": b"\x01" + raw(CLAIMS),
        "own_header": b"\x00" + raw(dict(HEADER, kid="k")) + b"\x00" + raw(CLAIMS),
        "hs384": b"\x03" + raw(CLAIMS),
        "hs512": b"\x05" + raw(dict(CLAIMS, extra={"x": [1.5, True, None]})),
        "duplicate_claim": b"\x01" + b'{"identity":1,"identity":2,"exp":1700000300,"iat":1700000000,"nbf":1700000000}',
        "duplicate_alg": b"\x00" + b'{"alg":"HS256","alg":"HS256"}' + b"\x00" + raw(CLAIMS),
        "too_deep": b"\x01" + deep(33),
        "big_numbers": b"\x01" + b'{"identity":1,"exp":18446744073709551616,"iat":-1e999,"nbf":1e-400}',
        "not_object": b"\x01[1]",
        "bad_utf8": b"\x01" + b'{"identity":1,"s":"\xff\xfe"}',
        "escapes": b"\x01" + b'{"identity":1,"exp":1700000300,"iat":1700000000,"nbf":1700000000,"s":"\\ud800\\u0000"}',
        "crit": b"\x00" + raw(dict(HEADER, crit=[])) + b"\x00" + raw(CLAIMS),
    })

    write("authorization_header", {
        "valid": f"JWT {VALID}",
        "tabs_and_case": f"jwt\t{VALID} ",
        "bearer": "Bearer abc",
        "scheme_only": "JWT",
        "spaces": "JWT a b",
        "two_headers": f"JWT {VALID}\nJWT {VALID}",
        "blank": " \t ",
        "custom_prefix": f"#Bearer\nBearer {VALID}",
        "latin1": b"JWT \xa0" + VALID.encode() + b"\x85",
        "non_ascii_scheme": b"JW\xc9 abc",
    })

    json_post = "POST /auth\ncontent-type: application/json\n"
    write("login_request", {
        "login": json_post + '\n{"username":"user1","password":"abcxyz"}',
        "wrong_password": json_post + '\n{"username":"user1","password":"nope"}',
        "duplicate_key": json_post + '\n{"username":"user1","username":"user1","password":"abcxyz"}',
        "not_object": json_post + "\n[1]",
        "text_plain": "POST /auth\ncontent-type: text/plain\n\nusername=user1",
        "declared_too_large": json_post + "content-length: 99999999999\n\n{}",
        "chunked": json_post + "x-fuzz-chunk: 3\n\n" + '{"username":"user1","password":"abcxyz"}',
        "lifecycle_login": json_post + "x-fuzz-store: 1\n\n" + '{"username":"user1","password":"abcxyz"}',
        "suffix_json": "POST /auth\ncontent-type: application/vnd.api+json; charset=utf-8\n\n"
        + '{"username":"user1","password":"abcxyz"}',
        "deep_body": json_post + "\n" + "[" * 200 + "]" * 200,
        "get_auth": "GET /auth\n\n",
        "protected": f"GET /protected\nauthorization: JWT {VALID}\n\n",
        "optional_bad": "GET /optional\nauthorization: JWT a.b.c\n\n",
        "head_protected": f"HEAD /protected\nauthorization: JWT {VALID}\n\n",
        "refresh": f"POST /refresh\nx-fuzz-store: 1\nauthorization: JWT {sign(HEADER, lifecycle('refresh'))}\n\n",
        "logout": f"POST /logout\nx-fuzz-store: 1\nauthorization: JWT {sign(HEADER, lifecycle('access'))}\n\n",
        "logout_all": f"POST /logout-all\nx-fuzz-store: 1\nauthorization: JWT {sign(HEADER, lifecycle('access'))}\n\n",
        "fresh": f"GET /fresh\nx-fuzz-store: 1\nauthorization: JWT {sign(HEADER, lifecycle('access'))}\n\n",
        "not_found": "GET /nope\n\n",
    })

    secret = "JWT_SECRET_KEY=" + SECRET.decode()
    write("config", {
        "minimal": secret,
        "everything": "\n".join([
            secret,
            "JWT_ALGORITHM=HS512",
            "JWT_AUTH_URL_RULE=/login",
            "JWT_EXPIRATION_DELTA=3600",
            "JWT_REFRESH_EXPIRATION_DELTA=86400",
            "JWT_LEEWAY=0",
            "JWT_NOT_BEFORE_DELTA=5",
            "JWT_AUTH_USERNAME_KEY=email",
            "JWT_AUTH_PASSWORD_KEY=pass",
            "JWT_AUTH_HEADER_PREFIX=Bearer",
            "JWT_DEFAULT_REALM=My App",
            "JWT_VERIFY_CLAIMS=signature, exp",
            "JWT_REQUIRED_CLAIMS=exp,iat",
        ]),
        "lifecycle_collision": secret + "\nx-fuzz-store=1\nJWT_AUTH_URL_RULE=/refresh",
        "huge_delta": secret + "\nJWT_EXPIRATION_DELTA=9007199254740991",
        "negative_delta": secret + "\nJWT_LEEWAY=-1",
        "short_secret": "JWT_SECRET_KEY=short",
        "bad_algorithm": secret + "\nJWT_ALGORITHM=none",
        "bad_rule": secret + "\nJWT_AUTH_URL_RULE=/a/{id}",
        "same_keys": secret + "\nJWT_AUTH_USERNAME_KEY=password",
    })


if __name__ == "__main__":
    main()
