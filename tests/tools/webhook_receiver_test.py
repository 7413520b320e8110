#!/usr/bin/env python3
"""Test of tools/simpul-webhook-receiver: it answers 200 to a delivery signed with the
webhook's secret within the replay window (and prints it, a second time as a repeat), 401 to
a wrong signature, a stale timestamp or a malformed header, and keeps only valid bodies."""
import hashlib
import hmac
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SECRET = "whsec_" + "ab" * 32


def sign(body, t, secret=SECRET):
    mac = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={t},v1={mac}"


def post(port, body, signature):
    req = urllib.request.Request(f"http://127.0.0.1:{port}/hook", data=body, method="POST",
                                 headers={"Content-Type": "application/json",
                                          "Simpul-Signature": signature})
    try:
        with urllib.request.urlopen(req, timeout=5) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code


def main():
    with tempfile.TemporaryDirectory() as tmp:
        secret_file = os.path.join(tmp, "secret")
        with open(secret_file, "w") as f:
            f.write(SECRET + "\n")
        out = os.path.join(tmp, "deliveries.ndjson")
        proc = subprocess.Popen([sys.executable, os.path.join(REPO, "tools", "simpul-webhook-receiver"),
                                 "--port", "0", "--secret-file", secret_file, "--out", out],
                                stdout=subprocess.PIPE, text=True)
        try:
            first = proc.stdout.readline()
            assert first.startswith("listening on http://127.0.0.1:"), first
            port = int(first.rsplit(":", 1)[1].strip("/\n"))
            body = json.dumps({"webhook_id": "wh_1", "delivery_id": "wh_1:1-0", "lang": "id",
                               "status_note": "Diterima; menunggu verifikasi.",
                               "public_event": {"action": "FileComplaint",
                                                "complaint_id": "ZV6J8-Q4RXT"}}).encode()
            now = int(time.time())
            assert post(port, body, sign(body, now)) == 200
            line = proc.stdout.readline()
            assert line.startswith("valid  wh_1:1-0  FileComplaint  ZV6J8-Q4RXT  Diterima"), line
            assert post(port, body, sign(body, now)) == 200
            assert proc.stdout.readline().startswith("repeat  wh_1:1-0"), "a repeat is marked"
            # Two signatures (a rotation): either valid one is enough.
            other = sign(body, now, "whsec_" + "cd" * 32).split(",")[1]
            assert post(port, body, f"t={now},{other},{sign(body, now).split(',')[1]}") == 200
            proc.stdout.readline()
            for bad in [sign(body, now, "whsec_" + "cd" * 32),  # another secret
                        sign(body + b" ", now),                  # another body
                        sign(body, now - 301),                   # outside the window
                        f"t={now}",                              # no signature
                        "v1=00"]:                                # no timestamp
                assert post(port, body, bad) == 401, bad
                assert proc.stdout.readline().startswith("INVALID"), bad
            with open(out) as f:
                kept = [json.loads(l) for l in f]
            assert len(kept) == 1 and kept[0]["delivery_id"] == "wh_1:1-0", kept
        finally:
            proc.terminate()
            proc.wait(timeout=10)
    print("ok")


if __name__ == "__main__":
    main()
