#!/usr/bin/python3
"""Independent checks of jpki-ca output against spec §4 and §5.

Run with Debian's /usr/bin/python3 (python3-cryptography).  Everything the
x509 API does not expose faithfully (string types, otherName values and
their order, the exact DER of extensions) is read with the small DER reader
below, so the checks do not depend on the C code's view of the profile.

Subcommands (see --help of each):
  ca FILE --kind sign|auth [--test]
  cert-sign FILE --ca CAFILE --name N --dob D --sex S --address A [--alias A] ...
  cert-auth FILE --ca CAFILE [--dob D] ...
  crl FILE --ca CAFILE --idp URL [--delta-base N] [--expect-serial HEX:reason ...]
  crl-number FILE          print the CRLNumber (decimal)
  crldp FILE               print the certificate's CRL distribution point URL
  serial FILE              print the certificate's serial (upper-case hex)

Prints one line per failed check ("FAIL <file>: <what>") and exits 1 on any
failure, 0 when every check passed, 2 on a usage error or unreadable input.
"""
import argparse
import datetime as dt
import sys

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import ExtensionOID

OID_SHA256_RSA = "1.2.840.113549.1.1.11"
OID_CPS = "1.3.6.1.5.5.7.2.1"
OID_OCSP = "1.3.6.1.5.5.7.48.1"

OID_NAME = "1.2.392.200149.8.5.5.1"
OID_NAME_FLAGS = "1.2.392.200149.8.5.5.2"
OID_SEX = "1.2.392.200149.8.5.5.3"
OID_DOB = "1.2.392.200149.8.5.5.4"
OID_ADDRESS = "1.2.392.200149.8.5.5.5"
OID_ADDRESS_FLAGS = "1.2.392.200149.8.5.5.6"
OID_ALIAS = "1.3.6.1.4.1.32473.1.1"

POLICY = {
    ("sign", True): "1.2.392.200149.8.5.1.0.20",
    ("sign", False): "1.2.392.200149.8.5.1.1.20",
    ("auth", True): "1.2.392.200149.8.5.1.2.30",
    ("auth", False): "1.2.392.200149.8.5.1.3.30",
}

CA_OU = {"sign": "JPKI for digital signature", "auth": "JPKI for user authentication"}
CA_OU_JA = {"sign": "公的個人認証サービス署名用", "auth": "公的個人認証サービス利用者証明用"}
AGENCY_EN = "Japan Agency for Local Authority Information Systems"
AGENCY_JA = "地方公共団体情報システム機構"
SERVICE_JA = "公的個人認証サービス"

# RFC 5280 CRLReason codes by the names jpki-ca and the spec use.
REASONS = {
    "unspecified": 0, "keyCompromise": 1, "cACompromise": 2, "caCompromise": 2,
    "affiliationChanged": 3, "superseded": 4, "cessationOfOperation": 5,
    "certificateHold": 6, "removeFromCRL": 8, "privilegeWithdrawn": 9, "aACompromise": 10,
}
FLAG_CODES = {
    x509.ReasonFlags.unspecified: 0, x509.ReasonFlags.key_compromise: 1,
    x509.ReasonFlags.ca_compromise: 2, x509.ReasonFlags.affiliation_changed: 3,
    x509.ReasonFlags.superseded: 4, x509.ReasonFlags.cessation_of_operation: 5,
    x509.ReasonFlags.certificate_hold: 6, x509.ReasonFlags.remove_from_crl: 8,
    x509.ReasonFlags.privilege_withdrawn: 9, x509.ReasonFlags.aa_compromise: 10,
}

# Era starts (spec §4): the DOB code's first digit.
ERAS = [(dt.date(2019, 5, 1), 5), (dt.date(1989, 1, 8), 4), (dt.date(1926, 12, 25), 3),
        (dt.date(1912, 7, 30), 2), (dt.date(1868, 1, 25), 1)]

JST = dt.timedelta(hours=9)


class Checker:
    def __init__(self, label, quiet=False):
        self.label = label
        self.quiet = quiet
        self.failures = 0

    def fail(self, msg):
        self.failures += 1
        if not self.quiet:
            print(f"FAIL {self.label}: {msg}")

    def check(self, cond, msg):
        if not cond:
            self.fail(msg)
        return bool(cond)

    def eq(self, got, want, what):
        return self.check(got == want, f"{what}: got {got!r}, want {want!r}")


# ---------------------------------------------------------------- DER reader

class DerError(Exception):
    pass


def tlv(buf, pos=0):
    """One TLV at pos: (tag, content start, content end).  Definite DER lengths only."""
    if pos + 2 > len(buf):
        raise DerError("truncated header")
    tag = buf[pos]
    if tag & 0x1F == 0x1F:
        raise DerError("multi-byte tags are not used here")
    n = buf[pos + 1]
    pos += 2
    if n & 0x80:
        k = n & 0x7F
        if k == 0 or k > 4 or pos + k > len(buf):
            raise DerError("bad length")
        n = int.from_bytes(buf[pos:pos + k], "big")
        pos += k
    if pos + n > len(buf):
        raise DerError("content past the end")
    return tag, pos, pos + n


def children(buf, start, end):
    """The TLVs inside [start, end): list of (tag, cstart, cend, whole start)."""
    out = []
    pos = start
    while pos < end:
        tag, cs, ce = tlv(buf, pos)
        if ce > end:
            raise DerError("child past its parent")
        out.append((tag, cs, ce, pos))
        pos = ce
    return out


def decode_oid(b):
    if not b:
        raise DerError("empty OID")
    arcs, v = [], 0
    for byte in b:
        v = (v << 7) | (byte & 0x7F)
        if not byte & 0x80:
            arcs.append(v)
            v = 0
    if b[-1] & 0x80:
        raise DerError("OID ends inside an arc")
    first = arcs[0]
    head = [0, first] if first < 40 else [1, first - 40] if first < 80 else [2, first - 80]
    return ".".join(str(a) for a in head + arcs[1:])


def encode_oid(dotted):
    """Dotted OID -> DER content octets (to search a DER blob for it)."""
    arcs = [int(x) for x in dotted.split(".")]
    out = bytearray()
    for v in [40 * arcs[0] + arcs[1]] + arcs[2:]:
        chunk = [v & 0x7F]
        v >>= 7
        while v:
            chunk.append(0x80 | (v & 0x7F))
            v >>= 7
        out += bytes(reversed(chunk))
    return bytes(out)


STRING_TAGS = {0x0C: "UTF8String", 0x13: "PrintableString", 0x16: "IA5String",
               0x14: "T61String", 0x1E: "BMPString", 0x1C: "UniversalString"}


def parse_name(buf, start, end):
    """A Name's content: [(oid, tagname, text)] in order, one AVA per RDN required."""
    out = []
    for tag, cs, ce, _ in children(buf, start, end):
        if tag != 0x31:
            raise DerError("RDN is not a SET")
        avas = children(buf, cs, ce)
        if len(avas) != 1:
            raise DerError("multi-valued RDN")
        atag, acs, ace, _ = avas[0]
        parts = children(buf, acs, ace)
        if atag != 0x30 or len(parts) != 2 or parts[0][0] != 0x06:
            raise DerError("bad AttributeTypeAndValue")
        oid = decode_oid(buf[parts[0][1]:parts[0][2]])
        vtag = parts[1][0]
        raw = buf[parts[1][1]:parts[1][2]]
        out.append((oid, STRING_TAGS.get(vtag, f"tag 0x{vtag:02x}"),
                    raw.decode("utf-8", "replace")))
    return out


def cert_parts(der):
    """Raw pieces of a Certificate: tbs fields and the extensions {oid: (critical, value)}
    with their order."""
    _, cs, ce = tlv(der)
    top = children(der, cs, ce)
    if len(top) != 3:
        raise DerError("Certificate is not 3 elements")
    tbs = top[0]
    fields = children(der, tbs[1], tbs[2])
    i = 0
    version = 1
    if fields[0][0] == 0xA0:
        vt, vcs, vce = tlv(der, fields[0][1])
        version = int.from_bytes(der[vcs:vce], "big") + 1
        i = 1
    serial = fields[i]
    issuer = fields[i + 2]
    subject = fields[i + 4]
    exts, order = {}, []
    for f in fields[i + 6:]:
        if f[0] == 0xA3:
            _, scs, sce = tlv(der, f[1])
            for _, ecs, ece, _ in children(der, scs, sce):
                parts = children(der, ecs, ece)
                oid = decode_oid(der[parts[0][1]:parts[0][2]])
                crit = False
                if len(parts) == 3:
                    crit = der[parts[1][1]:parts[1][2]] == b"\xff"
                val = parts[-1]
                if val[0] != 0x04:
                    raise DerError(f"extension {oid}: extnValue is not an OCTET STRING")
                if oid in exts:
                    raise DerError(f"extension {oid} appears twice")
                exts[oid] = (crit, der[val[1]:val[2]])
                order.append(oid)
    return {
        "version": version,
        "serial_der": der[serial[1]:serial[2]],
        "issuer": der[issuer[3]:issuer[2]],
        "issuer_name": parse_name(der, issuer[1], issuer[2]),
        "subject": der[subject[3]:subject[2]],
        "subject_name": parse_name(der, subject[1], subject[2]),
        "exts": exts,
        "ext_order": order,
    }


def general_names(buf):
    """GeneralNames DER -> [(context tag number, content bytes, constructed)]."""
    tag, cs, ce = tlv(buf)
    if tag != 0x30:
        raise DerError("GeneralNames is not a SEQUENCE")
    return [(t & 0x1F, buf[a:b], bool(t & 0x20)) for t, a, b, _ in children(buf, cs, ce)]


def dirname(content):
    """[4] EXPLICIT Name -> parsed name."""
    tag, cs, ce = tlv(content)
    if tag != 0x30:
        raise DerError("directoryName is not a Name")
    return parse_name(content, cs, ce)


def othername(content):
    """otherName content -> (oid, value tag name, text).  Value must be [0] EXPLICIT."""
    parts = children(content, 0, len(content))
    if len(parts) != 2 or parts[0][0] != 0x06 or parts[1][0] != 0xA0:
        raise DerError("otherName is not { OID, [0] EXPLICIT value }")
    oid = decode_oid(content[parts[0][1]:parts[0][2]])
    inner = children(content, parts[1][1], parts[1][2])
    if len(inner) != 1:
        raise DerError(f"otherName {oid}: [0] holds {len(inner)} values")
    vtag, vcs, vce, _ = inner[0]
    return oid, STRING_TAGS.get(vtag, f"tag 0x{vtag:02x}"), content[vcs:vce].decode("utf-8", "replace")


def der_len(n):
    if n < 0x80:
        return bytes([n])
    b = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(b)]) + b


def der_enc(tag, content):
    return bytes([tag]) + der_len(len(content)) + content


def strip_extension(der, drop_oid):
    """The Certificate DER with one extension left out (the signature no longer
    matches; only for reading the other extensions with a parser that rejects it)."""
    _, cs, ce = tlv(der)
    top = children(der, cs, ce)
    tbs = top[0]
    fields = children(der, tbs[1], tbs[2])
    new_fields = b""
    for f in fields:
        whole = der[f[3]:f[2]]
        if f[0] == 0xA3:
            _, scs, sce = tlv(der, f[1])
            kept = b""
            for _, ecs, ece, ews in children(der, scs, sce):
                parts = children(der, ecs, ece)
                if decode_oid(der[parts[0][1]:parts[0][2]]) != drop_oid:
                    kept += der[ews:ece]
            whole = der_enc(0xA3, der_enc(0x30, kept))
        new_fields += whole
    rest = b"".join(der[t[3]:t[2]] for t in top[1:])
    return der_enc(0x30, der_enc(0x30, new_fields) + rest)


# ------------------------------------------------------------------- helpers

def load_cert(path):
    data = open(path, "rb").read()
    if b"-----BEGIN" in data:
        cert = x509.load_pem_x509_certificate(data)
    else:
        cert = x509.load_der_x509_certificate(data)
    return cert


def load_crl(path):
    data = open(path, "rb").read()
    if b"-----BEGIN" in data:
        return x509.load_pem_x509_crl(data)
    return x509.load_der_x509_crl(data)


def add_years(d, n):
    try:
        return d.replace(year=d.year + n)
    except ValueError:  # 29 February in a year without one
        return dt.date(d.year + n, 2, 28)


def parse_date(s):
    return dt.date.fromisoformat(s)


def jst_day(t):
    return (t + JST).date()


def end_of_day_utc(d):
    """23:59:59 JST of day d, as a naive UTC datetime (14:59:59Z)."""
    return dt.datetime(d.year, d.month, d.day, 14, 59, 59)


def l4_last_day(issued, dob, card_expiry=None, gen2004=False):
    """L4: the 5th birthday strictly after the issuance day (29 Feb -> 28 Feb in common
    years), or 3 years for the 2004 era; never after the card's expiry."""
    if gen2004:
        last = add_years(issued, 3)
    else:
        seen, year = 0, issued.year
        while True:
            bday = add_years(dob, year - dob.year)
            if bday > issued:
                seen += 1
                if seen == 5:
                    last = bday
                    break
            year += 1
    if card_expiry is not None and card_expiry < last:
        last = card_expiry
    return last


def dob_code(d):
    for start, era in ERAS:
        if d >= start:
            return f"{era}{d.year:04d}{d.month:02d}{d.day:02d}"
    return f"0{d.year:04d}{d.month:02d}{d.day:02d}"


def ext_view(c, cert):
    """cert itself when python-cryptography can parse all its extensions; otherwise
    report that as a failure (a relying party using it could not read the
    certificate) and return a copy without the subjectAltName, which the raw
    DER checks cover, so that the other extensions are still checked."""
    try:
        cert.extensions
        return cert
    except ValueError as e:
        der = cert.public_bytes(serialization_der())
        c.fail(f"python-cryptography {cryptography_version()} cannot parse the extensions: {e}")
        try:
            copy = x509.load_der_x509_certificate(strip_extension(der, "2.5.29.17"))
            copy.extensions
            return copy
        except ValueError as e2:
            c.fail(f"... not even without the subjectAltName: {e2}")
            raise


def cryptography_version():
    import cryptography
    return cryptography.__version__


def ext(cert, oid):
    try:
        return cert.extensions.get_extension_for_oid(oid)
    except x509.ExtensionNotFound:
        return None


def check_rsa2048(c, key, what):
    if not c.check(isinstance(key, rsa.RSAPublicKey), f"{what} is not RSA"):
        return
    c.eq(key.key_size, 2048, f"{what} size")
    c.eq(key.public_numbers().e, 65537, f"{what} exponent")


def check_signed_by(c, cert, ca):
    c.eq(cert.signature_algorithm_oid.dotted_string, OID_SHA256_RSA, "signature algorithm")
    try:
        ca.public_key().verify(cert.signature, cert.tbs_certificate_bytes,
                               padding.PKCS1v15(), hashes.SHA256())
    except InvalidSignature:
        c.fail("signature does not verify with the CA key")
    except Exception as e:  # noqa: BLE001 - report, don't crash
        c.fail(f"signature check failed: {e}")


def check_serial(c, cert, raw):
    sd = raw["serial_der"]
    c.check(cert.serial_number > 0, "serial is not positive")
    c.check(len(sd) <= 20, f"serial has {len(sd)} octets (RFC 5280: at most 20)")
    c.check(not (len(sd) > 1 and sd[0] == 0 and sd[1] < 0x80), "serial is not minimally encoded")


def check_key_usage(c, cert, raw, want):
    e = ext(cert, ExtensionOID.KEY_USAGE)
    if not c.check(e is not None, "no KeyUsage"):
        return
    c.check(e.critical, "KeyUsage is not critical")
    ku = e.value
    have = set()
    for attr in ("digital_signature", "content_commitment", "key_encipherment",
                 "data_encipherment", "key_agreement", "key_cert_sign", "crl_sign"):
        if getattr(ku, attr):
            have.add(attr)
    if ku.key_agreement and (ku.encipher_only or ku.decipher_only):
        have.add("encipher/decipher_only")
    c.eq(sorted(have), sorted(want), "KeyUsage bits")


def check_name(c, got, want, what):
    """got: parsed [(oid, tag, text)]; want: [(oid, tag, text)] with text None = any non-empty."""
    if len(got) != len(want):
        c.fail(f"{what}: {len(got)} attributes {fmt_name(got)}, want {len(want)}")
        return
    for i, ((go, gt, gv), (wo, wt, wv)) in enumerate(zip(got, want)):
        c.eq(go, wo, f"{what} attribute {i + 1} type")
        c.eq(gt, wt, f"{what} attribute {i + 1} ({wo}) string type")
        if wv is None:
            c.check(gv != "", f"{what} attribute {i + 1} ({wo}) is empty")
        else:
            c.eq(gv, wv, f"{what} attribute {i + 1} ({wo}) value")


def fmt_name(n):
    return ", ".join(f"{o}={v}" for o, _, v in n)


C, O, OU, L, CN = "2.5.4.6", "2.5.4.10", "2.5.4.11", "2.5.4.7", "2.5.4.3"
P, U = "PrintableString", "UTF8String"


def jp_dirname_want(kind, full):
    n = [(C, P, "JP"), (O, U, SERVICE_JA)]
    if full:
        n += [(OU, U, CA_OU_JA[kind]), (OU, U, AGENCY_JA)]
    return n


def check_alt_dirname(c, raw, oid, want, what):
    e = raw["exts"].get(oid)
    if not c.check(e is not None, f"no {what}"):
        return
    try:
        gns = general_names(e[1])
    except DerError as ex:
        c.fail(f"{what}: {ex}")
        return
    if not c.check(len(gns) == 1 and gns[0][0] == 4,
                   f"{what} is not exactly one directoryName: {[(t, len(b)) for t, b, _ in gns]}"):
        return
    try:
        check_name(c, dirname(gns[0][1]), want, f"{what} directoryName")
    except DerError as ex:
        c.fail(f"{what}: {ex}")


def check_not_after_jst(c, cert, last, what):
    na = cert.not_valid_after
    c.eq(na.strftime("%H:%M:%SZ"), "14:59:59Z", f"{what}: notAfter time of day")
    c.eq(na, end_of_day_utc(last), f"{what}: notAfter")


def check_fresh(c, cert, now_slack):
    nb = cert.not_valid_before
    now = dt.datetime.utcnow()
    c.check(abs((now - nb).total_seconds()) <= now_slack,
            f"notBefore {nb}Z is not now ({now:%Y-%m-%d %H:%M:%S}Z)")
    c.check(cert.not_valid_after > nb, "notAfter is not after notBefore")


# --------------------------------------------------------------- subcommands

def cmd_ca(a):
    c = Checker(a.file)
    cert = load_cert(a.file)
    raw = cert_parts(cert.public_bytes(serialization_der()))
    kind = a.kind
    want = [(C, P, "JP"), (O, U, "JPKI-TEST" if a.test else "JPKI"), (OU, U, CA_OU[kind]),
            (OU, U, AGENCY_EN)]
    c.eq(raw["version"], 3, "version")
    check_name(c, raw["subject_name"], want, "subject")
    c.check(raw["subject"] == raw["issuer"], "subject and issuer differ (not self-issued)")
    check_serial(c, cert, raw)
    check_signed_by(c, cert, cert)
    check_rsa2048(c, cert.public_key(), "CA key")
    cert = ext_view(c, cert)
    check_key_usage(c, cert, raw, ["key_cert_sign", "crl_sign"])
    bc = ext(cert, ExtensionOID.BASIC_CONSTRAINTS)
    if c.check(bc is not None, "no BasicConstraints"):
        c.check(bc.critical, "BasicConstraints is not critical")
        c.check(bc.value.ca, "BasicConstraints CA is not TRUE")
    ski = ext(cert, ExtensionOID.SUBJECT_KEY_IDENTIFIER)
    if c.check(ski is not None, "no SubjectKeyIdentifier"):
        c.check(not ski.critical, "SubjectKeyIdentifier is critical")
        c.check(len(ski.value.digest) > 0, "SubjectKeyIdentifier is empty")
    check_alt_dirname(c, raw, "2.5.29.17", jp_dirname_want(kind, True), "subjectAltName")
    # 10 years from the JST issuance day, ending 23:59:59 JST.
    issued = jst_day(cert.not_valid_before)
    check_not_after_jst(c, cert, add_years(issued, 10), "CA (10 years)")
    if a.fresh:
        check_fresh(c, cert, a.fresh)
    return c


def check_ee_common(c, cert, ecert, raw, ca, kind, test, fresh, pubkey):
    """cert: as loaded (signature, key, dates); ecert: the same or ext_view's copy."""
    c.eq(raw["version"], 3, "version")
    ca_raw = cert_parts(ca.public_bytes(serialization_der()))
    c.check(raw["issuer"] == ca_raw["subject"],
            f"issuer {fmt_name(raw['issuer_name'])} is not the CA's subject "
            f"{fmt_name(ca_raw['subject_name'])} (byte for byte)")
    check_serial(c, cert, raw)
    check_signed_by(c, cert, ca)
    check_rsa2048(c, cert.public_key(), "subject key")
    if pubkey:
        from cryptography.hazmat.primitives import serialization
        want = serialization.load_pem_public_key(open(pubkey, "rb").read())
        c.check(want.public_numbers() == cert.public_key().public_numbers(),
                "subject key is not the requested public key")
    bc = ext(ecert, ExtensionOID.BASIC_CONSTRAINTS)
    c.check(bc is None or not bc.value.ca, "an end-entity certificate says CA:TRUE")
    # Policy: critical, exactly one, with a CPS URI.
    pol = ext(ecert, ExtensionOID.CERTIFICATE_POLICIES)
    if c.check(pol is not None, "no certificatePolicies"):
        c.check(pol.critical, "certificatePolicies is not critical")
        pols = list(pol.value)
        if c.eq(len(pols), 1, "number of policies"):
            c.eq(pols[0].policy_identifier.dotted_string, POLICY[(kind, test)], "policy OID")
            quals = pols[0].policy_qualifiers or []
            cps = [q for q in quals if isinstance(q, str)]
            c.check(len(cps) == 1 and cps[0].startswith("http"),
                    f"policy has no CPS URI qualifier: {quals!r}")
    # SKI, and AKI = the CA's SKI.
    c.check(ext(ecert, ExtensionOID.SUBJECT_KEY_IDENTIFIER) is not None, "no SubjectKeyIdentifier")
    aki = ext(ecert, ExtensionOID.AUTHORITY_KEY_IDENTIFIER)
    ca_ski = ext(ca, ExtensionOID.SUBJECT_KEY_IDENTIFIER)
    if c.check(aki is not None, "no AuthorityKeyIdentifier") and ca_ski is not None:
        c.eq(aki.value.key_identifier, ca_ski.value.digest, "AuthorityKeyIdentifier")
    # Where status is told: CRL distribution point and OCSP.
    url = crldp_url(c, ecert)
    if url is not None:
        c.check(url.startswith("http") and f"/crl/{kind}/" in url and url.endswith(".crl")
                and "-delta" not in url, f"CRL distribution point {url!r} is not a full CRL URL of the {kind} CA")
    aia = ext(ecert, ExtensionOID.AUTHORITY_INFORMATION_ACCESS)
    if c.check(aia is not None, "no authorityInfoAccess"):
        ocsp = [d.access_location.value for d in aia.value
                if d.access_method.dotted_string == OID_OCSP]
        c.check(len(ocsp) == 1 and ocsp[0].startswith("http"), f"AIA has no OCSP URL: {ocsp!r}")
    # Issuer alternative name as spec §4 gives it (for the signature certificate;
    # optional on the authentication certificate, but right if present).
    if kind == "sign" or "2.5.29.18" in raw["exts"]:
        check_alt_dirname(c, raw, "2.5.29.18", jp_dirname_want(kind, False), "issuerAltName")
    # No unexpected critical extension.
    known_critical = {"2.5.29.15", "2.5.29.32", "2.5.29.19"}
    for oid, (crit, _) in raw["exts"].items():
        if crit:
            c.check(oid in known_critical, f"unexpected critical extension {oid}")
    if fresh:
        check_fresh(c, cert, fresh)


def serialization_der():
    from cryptography.hazmat.primitives.serialization import Encoding
    return Encoding.DER


def crldp_url(c, cert):
    e = ext(cert, ExtensionOID.CRL_DISTRIBUTION_POINTS)
    if not c.check(e is not None, "no CRL distribution point"):
        return None
    urls = [n.value for dp in e.value for n in (dp.full_name or [])
            if isinstance(n, x509.UniformResourceIdentifier)]
    if not c.check(len(urls) == 1, f"CRL distribution points: want one URL, got {urls!r}"):
        return None
    return urls[0]


def cmd_cert_sign(a):
    c = Checker(a.file)
    cert = load_cert(a.file)
    ca = load_cert(a.ca)
    raw = cert_parts(cert.public_bytes(serialization_der()))
    ecert = ext_view(c, cert)
    check_ee_common(c, cert, ecert, raw, ca, "sign", a.test, a.fresh, a.pubkey)
    # Subject: C=JP, L=<prefecture>, L=<city>, CN=<issuance id>.
    subj = raw["subject_name"]
    check_name(c, subj, [(C, P, "JP"), (L, U, a.prefecture), (L, U, a.city), (CN, U, a.cn)],
               "subject")
    if len(subj) == 4 and a.prefecture is None:
        pref, city = subj[1][2], subj[2][2]
        c.check(a.address.startswith(pref + city),
                f"subject L={pref}, L={city} is not the start of the address {a.address!r}")
    check_key_usage(c, ecert, raw, ["digital_signature", "content_commitment"])
    # subjectAltName: the otherNames, in the order of spec §4.
    issued = jst_day(cert.not_valid_before)
    dob = parse_date(a.dob)
    want = [
        (OID_NAME, a.name),
        (OID_DOB, dob_code(dob)),
        (OID_SEX, a.sex),
        (OID_ADDRESS, a.address),
        (OID_NAME_FLAGS, a.name_flags if a.name_flags is not None else "0" * len(a.name)),
        (OID_ADDRESS_FLAGS, a.address_flags if a.address_flags is not None
         else "0" * len(a.address)),
    ]
    if a.alias:
        want.append((OID_ALIAS, a.alias))
    e = raw["exts"].get("2.5.29.17")
    if c.check(e is not None, "no subjectAltName"):
        c.check(not e[0], "subjectAltName is critical (the subject is not empty)")
        try:
            gns = general_names(e[1])
            got = []
            for tag, content, constructed in gns:
                if not c.check(tag == 0 and constructed,
                               f"subjectAltName holds a GeneralName [{tag}], not an otherName"):
                    continue
                got.append(othername(content))
                big = [arc for arc in got[-1][0].split(".") if int(arc) >= 2**31]
                c.check(not big, f"otherName OID {got[-1][0]} has an arc of {len(big[0]) if big else 0} "
                                 f"digits, over 2^31: GnuTLS (libtasn1: 64-bit arcs) and "
                                 f"python-cryptography (31-bit arcs) reject the whole certificate")
            c.eq([g[0] for g in got], [w[0] for w in want], "subjectAltName otherName OIDs (order)")
            for (oid, vt, val), (woid, wval) in zip(got, want):
                if oid != woid:
                    continue
                c.eq(vt, "UTF8String", f"otherName {oid} value type")
                c.eq(val, wval, f"otherName {oid} value")
        except DerError as ex:
            c.fail(f"subjectAltName: {ex}")
    # L4 validity.
    card = parse_date(a.card_expiry) if a.card_expiry else None
    last = l4_last_day(issued, dob, card, a.gen2004)
    check_not_after_jst(c, cert, last, f"L4 (issued {issued}, dob {dob}, card {card}, "
                                       f"gen2004 {a.gen2004})")
    if a.not_after:
        c.eq(cert.not_valid_after.strftime("%Y-%m-%dT%H:%M:%SZ"), a.not_after, "notAfter (given)")
    return c


def cmd_cert_auth(a):
    c = Checker(a.file)
    cert = load_cert(a.file)
    ca = load_cert(a.ca)
    raw = cert_parts(cert.public_bytes(serialization_der()))
    ecert = ext_view(c, cert)
    check_ee_common(c, cert, ecert, raw, ca, "auth", a.test, a.fresh, a.pubkey)
    check_name(c, raw["subject_name"], [(C, P, "JP"), (CN, U, a.cn)], "subject")
    check_key_usage(c, ecert, raw, ["digital_signature"])
    c.check("2.5.29.17" not in raw["exts"], "an authentication certificate has a subjectAltName")
    der = cert.public_bytes(serialization_der())
    for oid in (OID_NAME, OID_DOB, OID_SEX, OID_ADDRESS, OID_ALIAS):
        c.check(encode_oid(oid) not in der, f"personal data OID {oid} present")
    if a.dob:
        issued = jst_day(cert.not_valid_before)
        card = parse_date(a.card_expiry) if a.card_expiry else None
        last = l4_last_day(issued, parse_date(a.dob), card, a.gen2004)
        check_not_after_jst(c, cert, last, f"L4 (issued {issued}, dob {a.dob}, card {card})")
    return c


def crl_parts(der):
    """Raw CRL pieces: issuer DER, crlExtensions {oid: (critical, value)}, entries
    [(serial int, {oid: (critical, value)})]."""
    _, cs, ce = tlv(der)
    top = children(der, cs, ce)
    tbs = top[0]
    fields = children(der, tbs[1], tbs[2])
    i = 0
    version = 1
    if fields[0][0] == 0x02:
        version = int.from_bytes(der[fields[0][1]:fields[0][2]], "big") + 1
        i = 1
    issuer = fields[i + 1]
    rest = fields[i + 3:]
    if rest and rest[0][0] in (0x17, 0x18):  # nextUpdate
        rest = rest[1:]
    entries, exts = [], {}
    for f in rest:
        if f[0] == 0x30:
            for _, ecs, ece, _ in children(der, f[1], f[2]):
                parts = children(der, ecs, ece)
                serial = int.from_bytes(der[parts[0][1]:parts[0][2]], "big", signed=True)
                eexts = {}
                if len(parts) == 3:
                    for _, xcs, xce, _ in children(der, parts[2][1], parts[2][2]):
                        xp = children(der, xcs, xce)
                        oid = decode_oid(der[xp[0][1]:xp[0][2]])
                        crit = len(xp) == 3 and der[xp[1][1]:xp[1][2]] == b"\xff"
                        eexts[oid] = (crit, der[xp[-1][1]:xp[-1][2]])
                entries.append((serial, eexts))
        elif f[0] == 0xA0:
            _, scs, sce = tlv(der, f[1])
            for _, xcs, xce, _ in children(der, scs, sce):
                xp = children(der, xcs, xce)
                oid = decode_oid(der[xp[0][1]:xp[0][2]])
                crit = len(xp) == 3 and der[xp[1][1]:xp[1][2]] == b"\xff"
                exts[oid] = (crit, der[xp[-1][1]:xp[-1][2]])
    return {"version": version, "issuer": der[issuer[3]:issuer[2]], "exts": exts,
            "entries": entries}


def der_int(value_der):
    tag, cs, ce = tlv(value_der)
    if tag not in (0x02, 0x0A):
        raise DerError(f"not an INTEGER/ENUMERATED (tag 0x{tag:02x})")
    return int.from_bytes(value_der[cs:ce], "big", signed=True)


def parse_expect(spec):
    hexs, _, reason = spec.partition(":")
    serial = int(hexs.replace(":", ""), 16)
    if reason == "" or reason == "none":
        return serial, None
    if reason.isdigit():
        return serial, int(reason)
    if reason not in REASONS:
        raise argparse.ArgumentTypeError(f"unknown reason {reason!r}")
    return serial, REASONS[reason]


def cmd_crl(a):
    c = Checker(a.file)
    crl = load_crl(a.file)
    der = crl.public_bytes(serialization_der())
    ca = load_cert(a.ca)
    raw = crl_parts(der)
    ca_raw = cert_parts(ca.public_bytes(serialization_der()))
    c.eq(raw["version"], 2, "CRL version")
    c.check(raw["issuer"] == ca_raw["subject"], "CRL issuer is not the CA's subject byte for byte")
    c.eq(crl.signature_algorithm_oid.dotted_string, OID_SHA256_RSA, "signature algorithm")
    c.check(crl.is_signature_valid(ca.public_key()), "CRL signature does not verify with the CA key")
    c.check(crl.next_update is not None and crl.next_update > crl.last_update,
            "nextUpdate missing or not after thisUpdate")
    now = dt.datetime.utcnow()
    if a.fresh:
        c.check(abs((now - crl.last_update).total_seconds()) <= a.fresh,
                f"thisUpdate {crl.last_update}Z is not now")
    # CRLNumber.
    num = ext(crl, ExtensionOID.CRL_NUMBER)
    if c.check(num is not None, "no CRLNumber"):
        c.check(not num.critical, "CRLNumber is critical")
        c.check(num.value.crl_number > 0, "CRLNumber is not positive")
        if a.number_gt is not None:
            c.check(num.value.crl_number > a.number_gt,
                    f"CRLNumber {num.value.crl_number} is not above {a.number_gt}")
    # AKI = the CA's SKI.
    aki = ext(crl, ExtensionOID.AUTHORITY_KEY_IDENTIFIER)
    ca_ski = ext(ca, ExtensionOID.SUBJECT_KEY_IDENTIFIER)
    if c.check(aki is not None, "no AuthorityKeyIdentifier") and ca_ski is not None:
        c.eq(aki.value.key_identifier, ca_ski.value.digest, "AuthorityKeyIdentifier")
    # IssuingDistributionPoint: critical, the partition's URL, user certificates only.
    idp = ext(crl, ExtensionOID.ISSUING_DISTRIBUTION_POINT)
    if c.check(idp is not None, "no IssuingDistributionPoint"):
        c.check(idp.critical, "IssuingDistributionPoint is not critical")
        v = idp.value
        urls = [n.value for n in (v.full_name or []) if isinstance(n, x509.UniformResourceIdentifier)]
        c.eq(urls, [a.idp], "IssuingDistributionPoint URL")
        c.check(v.only_contains_user_certs, "IssuingDistributionPoint: onlyContainsUserCerts not set")
        c.check(not v.only_contains_ca_certs and not v.indirect_crl
                and not v.only_contains_attribute_certs and v.only_some_reasons is None,
                "IssuingDistributionPoint has unexpected fields")
    # Delta or full.
    delta = ext(crl, ExtensionOID.DELTA_CRL_INDICATOR)
    if a.delta_base is not None:
        if c.check(delta is not None, "no DeltaCRLIndicator in a delta CRL"):
            c.check(delta.critical, "DeltaCRLIndicator is not critical")
            c.eq(delta.value.crl_number, a.delta_base, "DeltaCRLIndicator (base CRLNumber)")
            if num is not None:
                c.check(num.value.crl_number > delta.value.crl_number,
                        "delta CRLNumber is not above its base")
    else:
        c.check(delta is None, "a full CRL carries a DeltaCRLIndicator")
        fr = ext(crl, ExtensionOID.FRESHEST_CRL)
        if fr is not None and a.idp:
            urls = [n.value for dp in fr.value for n in (dp.full_name or [])]
            c.eq(urls, [a.idp[:-len(".crl")] + "-delta.crl"], "FreshestCRL URL")
    # Entries: cryptography's view and the raw DER must agree with the expectation.
    got = {}
    for r in crl:
        code = None
        try:
            code = FLAG_CODES[r.extensions.get_extension_for_class(x509.CRLReason).value.reason]
        except x509.ExtensionNotFound:
            pass
        if r.serial_number in got:
            c.fail(f"serial {r.serial_number:X} listed twice")
        got[r.serial_number] = code
    raw_got = {}
    for serial, eexts in raw["entries"]:
        code = None
        if "2.5.29.21" in eexts:
            crit, val = eexts["2.5.29.21"]
            c.check(not crit, f"reasonCode of {serial:X} is critical")
            code = der_int(val)
        raw_got[serial] = code
    c.check(got == raw_got, "cryptography and the raw DER disagree on the entries")
    for serial, code in got.items():
        c.check(code != 0, f"serial {serial:X} has reason unspecified (spec §5: omit it instead)")
        if a.delta_base is None:
            c.check(code != 8, f"a full CRL lists {serial:X} with removeFromCRL")
    for serial, code in a.expect_serial:
        if c.check(serial in got, f"serial {serial:X} is not listed"):
            c.eq(got[serial], code, f"reason of {serial:X}")
    for serial in a.expect_absent:
        c.check(serial not in got, f"serial {serial:X} is listed (reason {got.get(serial)})")
    if a.expect_count is not None:
        c.eq(len(got), a.expect_count, f"number of entries ({', '.join(f'{s:X}' for s in got)})")
    return c


def cmd_crl_number(a):
    crl = load_crl(a.file)
    print(ext(crl, ExtensionOID.CRL_NUMBER).value.crl_number)
    return Checker(a.file)


def cmd_crldp(a):
    # A value for the caller: whether the rest parses is cert-sign's business.
    url = crldp_url(Checker(a.file, quiet=True), ext_view(Checker(a.file, quiet=True),
                                                           load_cert(a.file)))
    c = Checker(a.file)
    if c.check(url is not None, "no single CRL distribution point URL"):
        print(url)
    return c


def cmd_serial(a):
    print(f"{load_cert(a.file).serial_number:X}")
    return Checker(a.file)


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)

    p = sub.add_parser("ca", help="a CA certificate")
    p.add_argument("file")
    p.add_argument("--kind", choices=["sign", "auth"], required=True)
    p.add_argument("--test", action="store_true", help="the test hierarchy (O=JPKI-TEST)")
    p.add_argument("--fresh", type=int, metavar="SECONDS",
                   help="notBefore must be within SECONDS of now")
    p.set_defaults(fn=cmd_ca)

    for name, fn in (("cert-sign", cmd_cert_sign), ("cert-auth", cmd_cert_auth)):
        p = sub.add_parser(name)
        p.add_argument("file")
        p.add_argument("--ca", required=True)
        p.add_argument("--test", action="store_true")
        p.add_argument("--cn", help="expected CN (default: any non-empty)")
        p.add_argument("--pubkey", help="PEM public key the certificate must carry")
        p.add_argument("--card-expiry")
        p.add_argument("--gen2004", action="store_true")
        p.add_argument("--fresh", type=int, metavar="SECONDS")
        p.add_argument("--not-after", help="expected notAfter, YYYY-MM-DDTHH:MM:SSZ")
        if name == "cert-sign":
            p.add_argument("--name", required=True)
            p.add_argument("--dob", required=True)
            p.add_argument("--sex", required=True, choices=["1", "2", "9"])
            p.add_argument("--address", required=True)
            p.add_argument("--alias")
            p.add_argument("--name-flags")
            p.add_argument("--address-flags")
            p.add_argument("--prefecture", help="expected first L (default: any, prefix of address)")
            p.add_argument("--city", help="expected second L")
        else:
            p.add_argument("--dob", help="check the L4 notAfter for this date of birth")
        p.set_defaults(fn=fn)

    p = sub.add_parser("crl", help="a full or delta CRL")
    p.add_argument("file")
    p.add_argument("--ca", required=True)
    p.add_argument("--idp", required=True, help="expected IssuingDistributionPoint URL")
    p.add_argument("--delta-base", type=int, help="a delta CRL on this base CRLNumber")
    p.add_argument("--expect-serial", type=parse_expect, action="append", default=[],
                   metavar="HEX:REASON", help="listed with this reason (name, code or none)")
    p.add_argument("--expect-absent", type=lambda s: int(s.replace(":", ""), 16),
                   action="append", default=[], metavar="HEX")
    p.add_argument("--expect-count", type=int)
    p.add_argument("--number-gt", type=int, help="CRLNumber must be above this")
    p.add_argument("--fresh", type=int, metavar="SECONDS")
    p.set_defaults(fn=cmd_crl)

    for name, fn in (("crl-number", cmd_crl_number), ("crldp", cmd_crldp), ("serial", cmd_serial)):
        p = sub.add_parser(name)
        p.add_argument("file")
        p.set_defaults(fn=fn)

    a = ap.parse_args(argv)
    try:
        c = a.fn(a)
    except (OSError, ValueError, DerError) as e:
        print(f"FAIL {getattr(a, 'file', '?')}: cannot read: {type(e).__name__}: {e}")
        return 2
    return 1 if c.failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
