#!/usr/bin/python3
"""OCSP client checks for jpkid's system tests, with Python's cryptography as
an independent peer (Debian python3-cryptography; run with /usr/bin/python3).

  ocsp_check.py query URL ISSUER (--cert PEM | --serial HEX) [--hash sha1|sha256]
                [--nonce] [--get] [--headers FILE]
      One request; prints "good", "revoked REASON TIME", "unknown", or
      "status NAME" for an unsuccessful response.  Every successful response
      is checked: signed by ISSUER's key (responderID byKey), the CertID as
      asked, the nonce echoed, thisUpdate <= now < nextUpdate, and the
      extended revoke extension on a "non-issued" answer.  Exit 1 on a finding.

  ocsp_check.py watch URL ISSUER --good PEM... --target PEM --marks FILE
                --seconds S
      Query the certificates in turn for S seconds and judge every answer
      against what the test did: --target is good until the revocation the
      test records (FILE.start: wall-clock seconds before `jpki-ca revoke`,
      FILE.done: after it returned) and revoked (keyCompromise) from one
      second after it on, never before it started; the --good ones are good
      throughout.  Refused connections (a restart) are
      counted, not judged.  Prints "checked N wrong W unreachable U".
"""
import argparse
import base64
import datetime
import hashlib
import os
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.x509 import ocsp
from cryptography.x509.oid import ObjectIdentifier

EXT_REVOKE = ObjectIdentifier("1.3.6.1.5.5.7.48.1.9")
NONCE = ObjectIdentifier("1.3.6.1.5.5.7.48.1.2")


class Finding(Exception):
    pass


def load_cert(path):
    with open(path, "rb") as f:
        return x509.load_pem_x509_certificate(f.read())


def utc(dt):
    """A datetime from cryptography, naive UTC in older versions."""
    return dt if dt.tzinfo else dt.replace(tzinfo=datetime.timezone.utc)


def key_hash(issuer):
    spki = issuer.public_key().public_bytes(serialization.Encoding.DER,
                                            serialization.PublicFormat.SubjectPublicKeyInfo)
    return hashlib.sha1(bitstring_contents(spki)).digest()


def bitstring_contents(spki):
    """The subjectPublicKey contents of a DER SubjectPublicKeyInfo."""
    def tlv(b, i):
        tag, n = b[i], b[i + 1]
        i += 2
        if n & 0x80:
            k = n & 0x7f
            n = int.from_bytes(b[i:i + k], "big")
            i += k
        return tag, i, n
    _, i, n = tlv(spki, 0)          # SubjectPublicKeyInfo
    _, j, m = tlv(spki, i)          # AlgorithmIdentifier
    tag, k, l = tlv(spki, j + m)    # BIT STRING
    assert tag == 0x03
    return spki[k + 1:k + l]


def stand_in(issuer, serial):
    """A throwaway certificate with this serial: the CertID takes only the
    serial from it (cryptography 38 has no add_certificate_by_hash)."""
    from cryptography.hazmat.primitives.asymmetric import ec
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.timezone.utc)
    return (x509.CertificateBuilder().subject_name(issuer.subject).issuer_name(issuer.subject)
            .public_key(key.public_key()).serial_number(serial)
            .not_valid_before(now).not_valid_after(now + datetime.timedelta(days=1))
            .sign(key, hashes.SHA256()))


def build_request(issuer, cert=None, serial=None, hash_name="sha1", nonce=None):
    algo = hashes.SHA1() if hash_name == "sha1" else hashes.SHA256()
    b = ocsp.OCSPRequestBuilder()
    if cert is None:
        cert = stand_in(issuer, serial)
    b = b.add_certificate(cert, issuer, algo)
    if nonce is not None:
        b = b.add_extension(x509.OCSPNonce(nonce), critical=False)
    return b.build()


def fetch(url, der, get=False, timeout=5):
    if get:
        req = urllib.request.Request(url.rstrip("/") + "/" +
                                     urllib.parse.quote(base64.b64encode(der).decode(), safe=""))
    else:
        req = urllib.request.Request(url, data=der,
                                     headers={"Content-Type": "application/ocsp-request"})
    with urllib.request.urlopen(req, timeout=timeout) as r:
        if r.status != 200:
            raise Finding("HTTP %d" % r.status)
        if r.headers.get("Content-Type") != "application/ocsp-response":
            raise Finding("Content-Type %r" % r.headers.get("Content-Type"))
        return r.read(), r.headers


def check(resp_der, issuer, serial, hash_name, nonce):
    """Judge one response; returns the status line."""
    resp = ocsp.load_der_ocsp_response(resp_der)
    if resp.response_status != ocsp.OCSPResponseStatus.SUCCESSFUL:
        return "status " + resp.response_status.name
    try:
        issuer.public_key().verify(resp.signature, resp.tbs_response_bytes, padding.PKCS1v15(),
                                   resp.signature_hash_algorithm)
    except Exception as e:
        raise Finding("signature does not verify with the issuer's key: %r" % e)
    if not isinstance(resp.signature_hash_algorithm, hashes.SHA256):
        raise Finding("signature hash %s" % resp.signature_hash_algorithm.name)
    if resp.responder_key_hash != key_hash(issuer) or resp.responder_name is not None:
        raise Finding("responderID is not byKey of the issuer")
    if resp.certificates:
        raise Finding("the response carries certificates")
    if resp.serial_number != serial:
        raise Finding("serial %x, asked %x" % (resp.serial_number, serial))
    if resp.hash_algorithm.name != hash_name:
        raise Finding("CertID hash %s, asked %s" % (resp.hash_algorithm.name, hash_name))
    spki = issuer.public_key().public_bytes(serialization.Encoding.DER,
                                            serialization.PublicFormat.SubjectPublicKeyInfo)
    if resp.issuer_key_hash != hashlib.new(hash_name, bitstring_contents(spki)).digest() or \
            resp.issuer_name_hash != hashlib.new(hash_name, issuer.subject.public_bytes()).digest():
        raise Finding("CertID issuer hashes differ from the request's")
    now = datetime.datetime.now(datetime.timezone.utc)
    this_u, next_u = utc(resp.this_update), utc(resp.next_update)
    if this_u > now + datetime.timedelta(seconds=5) or not next_u > now:
        raise Finding("thisUpdate %s / nextUpdate %s around now %s" % (this_u, next_u, now))
    exts = {e.oid: e for e in resp.extensions}
    if nonce is not None:
        got = exts.get(NONCE)
        if got is None or got.value.nonce != nonce:
            raise Finding("nonce not echoed")
    elif NONCE in exts:
        raise Finding("a nonce nobody sent")
    st = resp.certificate_status
    if st == ocsp.OCSPCertStatus.GOOD:
        return "good"
    if st == ocsp.OCSPCertStatus.UNKNOWN:
        return "unknown"
    reason = resp.revocation_reason.name if resp.revocation_reason else "none"
    rt = utc(resp.revocation_time)
    if rt.year == 1970:
        if EXT_REVOKE not in exts or exts[EXT_REVOKE].critical:
            raise Finding("non-issued answer without the extended revoke extension")
    return "revoked %s %s" % (reason, rt.strftime("%Y-%m-%dT%H:%M:%SZ"))


def cmd_query(a):
    issuer = load_cert(a.issuer)
    cert = load_cert(a.cert) if a.cert else None
    serial = cert.serial_number if cert else int(a.serial, 16)
    nonce = os.urandom(16) if a.nonce else None
    req = build_request(issuer, cert=cert, serial=serial, hash_name=a.hash, nonce=nonce)
    der, headers = fetch(a.url, req.public_bytes(serialization.Encoding.DER), get=a.get)
    if a.headers:
        with open(a.headers, "w") as f:
            for k, v in headers.items():
                f.write("%s: %s\n" % (k, v))
    print(check(der, issuer, serial, a.hash, nonce))


def read_mark(path):
    try:
        with open(path) as f:
            return float(f.read().strip())
    except (OSError, ValueError):
        return None


def cmd_watch(a):
    issuer = load_cert(a.issuer)
    target = load_cert(a.target)
    certs = [(load_cert(p), False) for p in a.good] + [(target, True)]
    reqs = [(c, t, build_request(issuer, cert=c).public_bytes(serialization.Encoding.DER))
            for c, t in certs]
    checked = wrong = unreachable = 0
    end = time.time() + a.seconds
    i = 0
    while time.time() < end:
        c, is_target, der = reqs[i % len(reqs)]
        i += 1
        t0 = time.time()
        try:
            body, _ = fetch(a.url, der, timeout=2)
            line = check(body, issuer, c.serial_number, "sha1", None)
        except (urllib.error.URLError, ConnectionError, TimeoutError, OSError) as e:
            if isinstance(e, urllib.error.HTTPError):
                print("WRONG: HTTP %d" % e.code)
                wrong += 1
            else:
                unreachable += 1
                time.sleep(0.01)
            continue
        except Finding as e:
            print("WRONG: %s" % e)
            wrong += 1
            continue
        t1 = time.time()
        checked += 1
        start, done = read_mark(a.marks + ".start"), read_mark(a.marks + ".done")
        if not is_target:
            ok = line == "good"
        elif line == "good":
            ok = done is None or t0 < done + 1.0   # stale for at most a second
        else:
            ok = line.startswith("revoked key_compromise") and start is not None and t1 > start
        if not ok:
            print("WRONG: %s for %x at %.3f (revoked %s..%s)" % (line, c.serial_number, t0,
                                                                 start, done))
            wrong += 1
    print("checked %d wrong %d unreachable %d" % (checked, wrong, unreachable))
    return 1 if wrong else 0


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    q = sub.add_parser("query")
    q.add_argument("url")
    q.add_argument("issuer")
    q.add_argument("--cert")
    q.add_argument("--serial")
    q.add_argument("--hash", default="sha1", choices=["sha1", "sha256"])
    q.add_argument("--nonce", action="store_true")
    q.add_argument("--get", action="store_true")
    q.add_argument("--headers")
    w = sub.add_parser("watch")
    w.add_argument("url")
    w.add_argument("issuer")
    w.add_argument("--good", nargs="+", default=[])
    w.add_argument("--target", required=True)
    w.add_argument("--marks", required=True)
    w.add_argument("--seconds", type=float, default=10)
    a = p.parse_args()
    try:
        if a.cmd == "query":
            return cmd_query(a) or 0
        return cmd_watch(a)
    except Finding as e:
        print("FINDING: %s" % e)
        return 1


if __name__ == "__main__":
    sys.exit(main())
