"""Test certificates: a CA, a server certificate, a client pair and a stray key, written as PEM files.

Shared by the TLS loopback tests (Hubble, Tetragon, the fault cases) so each makes its PKI one way.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path


def make_pki(tmp: Path, server_dns: str, *, expired: bool = False) -> dict[str, Path]:
    """Files `ca`, `server.crt`/`server.key` (for `server_dns`, expired a day ago when asked),
    `client.crt`/`client.key` and `other.key` (a key that matches no certificate)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = dt.datetime.now(dt.UTC)

    def name(common: str) -> x509.Name:
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])

    def signed(subject: str, key, issuer, issuer_key, serial: int, *, ca: bool = False, dns: str | None = None,
               old: bool = False):
        start, end = (now - dt.timedelta(days=30), now - dt.timedelta(days=1)) if old else \
            (now - dt.timedelta(days=1), now + dt.timedelta(days=1))
        builder = (x509.CertificateBuilder().subject_name(name(subject)).issuer_name(issuer)
                   .public_key(key.public_key()).serial_number(serial)
                   .not_valid_before(start).not_valid_after(end)
                   .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
        if dns:
            builder = builder.add_extension(x509.SubjectAlternativeName([x509.DNSName(dns)]), critical=False)
        return builder.sign(issuer_key, hashes.SHA256())

    keys = [ec.generate_private_key(ec.SECP256R1()) for _ in range(4)]
    ca = signed("test-ca", keys[0], name("test-ca"), keys[0], 1, ca=True)
    server = signed(server_dns, keys[1], ca.subject, keys[0], 2, dns=server_dns, old=expired)
    client = signed("ebtop", keys[2], ca.subject, keys[0], 3)
    pem = serialization.Encoding.PEM
    files = {"ca": ca.public_bytes(pem), "server.crt": server.public_bytes(pem), "client.crt": client.public_bytes(pem)}
    for label, key in (("server.key", keys[1]), ("client.key", keys[2]), ("other.key", keys[3])):
        files[label] = key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    paths = {}
    for label, data in files.items():
        paths[label] = tmp / label
        paths[label].write_bytes(data)
    return paths
