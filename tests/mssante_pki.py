"""A test certificate authority for the MSSanté tests (stands in for IGC-Santé), made fresh by each test.

``Pki(folder)`` writes: ``ca.pem`` (the trust anchor), ``ca.crl`` (its CRL: revoked serials given to
``revoke``), ``server.pem``/``server.key`` (the operator: localhost and 127.0.0.1), ``client.pem``/``client.key``
(the SPSTI's BAL applicative, CN = the mailbox address), and an unrelated ``rogue`` CA with its own client and
server certificates (what must be refused on both sides). RSA keys: the MSSanté client suites are ECDHE-RSA.
"""

from __future__ import annotations

import datetime
import ipaddress
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

BAL = "guichet@spsti-test.mssante.fr"
NOW = datetime.datetime.now(datetime.UTC)


def _key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Guichet tests")])


@dataclass
class Issued:
    cert: Path
    key: Path
    serial: int


class Authority:
    def __init__(self, folder: Path, name: str) -> None:
        self.folder, self.name = folder, name
        self.key = _key()
        subject = _name(f"{name} CA")
        self.cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
                     .public_key(self.key.public_key()).serial_number(x509.random_serial_number())
                     .not_valid_before(NOW - datetime.timedelta(hours=1))
                     .not_valid_after(NOW + datetime.timedelta(days=3))
                     .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
                     .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False),
                                    critical=True)
                     .sign(self.key, hashes.SHA256()))
        self.path = folder / f"{name}-ca.pem"
        self.path.write_bytes(self.cert.public_bytes(serialization.Encoding.PEM))

    def issue(self, stem: str, cn: str, server: bool) -> Issued:
        key, serial = _key(), x509.random_serial_number()
        builder = (x509.CertificateBuilder().subject_name(_name(cn)).issuer_name(self.cert.subject)
                   .public_key(key.public_key()).serial_number(serial)
                   .not_valid_before(NOW - datetime.timedelta(hours=1))
                   .not_valid_after(NOW + datetime.timedelta(days=2))
                   .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
                   .add_extension(x509.ExtendedKeyUsage(
                       [ExtendedKeyUsageOID.SERVER_AUTH if server else ExtendedKeyUsageOID.CLIENT_AUTH]),
                       critical=False))
        if server:
            builder = builder.add_extension(x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        cert = builder.sign(self.key, hashes.SHA256())
        cert_path, key_path = self.folder / f"{stem}.pem", self.folder / f"{stem}.key"
        cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                               serialization.NoEncryption()))
        return Issued(cert_path, key_path, serial)

    def crl(self, revoked: list[int]) -> bytes:
        builder = (x509.CertificateRevocationListBuilder().issuer_name(self.cert.subject)
                   .last_update(NOW - datetime.timedelta(minutes=5))
                   .next_update(NOW + datetime.timedelta(days=1)))
        for serial in revoked:
            builder = builder.add_revoked_certificate(
                x509.RevokedCertificateBuilder().serial_number(serial).revocation_date(NOW).build())
        return builder.sign(self.key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM)


class Pki:
    def __init__(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.folder = folder
        self.ca = Authority(folder, "igc-test")
        self.server = self.ca.issue("server", "localhost", server=True)
        self.client = self.ca.issue("client", BAL, server=False)
        self.rogue = Authority(folder, "rogue")
        self.rogue_client = self.rogue.issue("rogue-client", BAL, server=False)
        self.rogue_server = self.rogue.issue("rogue-server", "localhost", server=True)
        self.crl_path = folder / "igc-test.crl"
        self.revoke([])

    def revoke(self, serials: list[int]) -> Path:
        self.crl_path.write_bytes(self.ca.crl(serials))
        return self.crl_path
