"""The cluster's certificates and keys (:func:`make_pki`), fresh for every cluster, made with
``cryptography`` (ECDSA P-256: fast to generate).

A cluster CA signs: the apiserver's serving certificate (SANs 127.0.0.1, the first Service
address, the bridge address and ``kubernetes.default...``), the kubelet's serving certificate,
and client certificates for the admin (``system:masters``), the controller-manager, the
scheduler, the node (``system:node:<name>`` in ``system:nodes``, for the Node authorizer and
NodeRestriction) and the apiserver → kubelet client. A front-proxy CA signs the aggregation
layer's client (without ``--requestheader-client-ca-file`` the controller-manager and the
scheduler complain every few seconds). A separate key pair signs ServiceAccount tokens.
"""

from __future__ import annotations

import datetime
import ipaddress
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

__all__ = ["CLIENTS", "issue_client", "make_pki"]

#: client certificate name → (CN, O)
CLIENTS = {
    "admin": ("kubernetes-admin", "system:masters"),
    "controller-manager": ("system:kube-controller-manager", None),
    "scheduler": ("system:kube-scheduler", None),
    "apiserver-kubelet-client": ("kube-apiserver-kubelet-client", "system:masters"),
}


def _key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _name(cn: str, org: str | tuple[str, ...] | None = None) -> x509.Name:
    orgs = (org,) if isinstance(org, str) else tuple(org or ())
    return x509.Name([*(x509.NameAttribute(NameOID.ORGANIZATION_NAME, o) for o in orgs),
                      x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _write(directory: Path, stem: str, key, cert: x509.Certificate) -> None:
    key_path = directory / f"{stem}.key"
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    key_path.chmod(0o600)
    (directory / f"{stem}.crt").write_bytes(cert.public_bytes(serialization.Encoding.PEM))


class _CA:
    @classmethod
    def load(cls, directory: Path, stem: str) -> _CA:
        """The CA written to *directory* by :func:`make_pki`."""
        ca = cls.__new__(cls)
        ca.key = serialization.load_pem_private_key((directory / f"{stem}.key").read_bytes(),
                                                    password=None)
        ca.cert = x509.load_pem_x509_certificate((directory / f"{stem}.crt").read_bytes())
        ca.name = ca.cert.subject
        return ca

    def __init__(self, cn: str):
        self.key = _key()
        self.name = _name(cn)
        now = datetime.datetime.now(datetime.timezone.utc)
        self.cert = (x509.CertificateBuilder()
                     .subject_name(self.name).issuer_name(self.name)
                     .public_key(self.key.public_key())
                     .serial_number(x509.random_serial_number())
                     .not_valid_before(now - datetime.timedelta(minutes=5))
                     .not_valid_after(now + datetime.timedelta(days=30))
                     .add_extension(x509.BasicConstraints(ca=True, path_length=None),
                                    critical=True)
                     .add_extension(x509.KeyUsage(
                         digital_signature=True, key_cert_sign=True, crl_sign=True,
                         content_commitment=False, key_encipherment=False,
                         data_encipherment=False, key_agreement=False, encipher_only=False,
                         decipher_only=False), critical=True)
                     .sign(self.key, hashes.SHA256()))

    def issue(self, cn: str, org: str | tuple[str, ...] | None = None, *, server: bool = False,
              client: bool = False, dns: tuple[str, ...] = (), ips: tuple[str, ...] = ()):
        key = _key()
        now = datetime.datetime.now(datetime.timezone.utc)
        usages = ([ExtendedKeyUsageOID.SERVER_AUTH] if server else []) + (
            [ExtendedKeyUsageOID.CLIENT_AUTH] if client else [])
        builder = (x509.CertificateBuilder()
                   .subject_name(_name(cn, org)).issuer_name(self.name)
                   .public_key(key.public_key())
                   .serial_number(x509.random_serial_number())
                   .not_valid_before(now - datetime.timedelta(minutes=5))
                   .not_valid_after(now + datetime.timedelta(days=30))
                   .add_extension(x509.BasicConstraints(ca=False, path_length=None),
                                  critical=True)
                   .add_extension(x509.ExtendedKeyUsage(usages), critical=False))
        if dns or ips:
            builder = builder.add_extension(x509.SubjectAlternativeName(
                [x509.DNSName(d) for d in dns]
                + [x509.IPAddress(ipaddress.ip_address(i)) for i in ips]), critical=False)
        return key, builder.sign(self.key, hashes.SHA256())


def make_pki(directory: Path, *, address: str, node: str, service_ip: str) -> None:
    """Write every key and certificate of one cluster to *directory* (``ca.crt``,
    ``apiserver.crt``, ``admin.crt``/``.key``, ``sa.key``/``sa.pub``, ...)."""
    directory.mkdir(parents=True, exist_ok=True)
    ca = _CA("jrk-k8s-ca")
    _write(directory, "ca", ca.key, ca.cert)
    front = _CA("jrk-k8s-front-proxy-ca")
    _write(directory, "front-proxy-ca", front.key, front.cert)
    _write(directory, "front-proxy-client", *front.issue("front-proxy-client", client=True))
    _write(directory, "apiserver", *ca.issue(
        "kube-apiserver", server=True,
        dns=("kubernetes", "kubernetes.default", "kubernetes.default.svc",
             "kubernetes.default.svc.cluster.local", "localhost"),
        ips=("127.0.0.1", service_ip, address)))
    _write(directory, "kubelet", *ca.issue(node, server=True, dns=(node,), ips=(address,)))
    _write(directory, "node", *ca.issue(f"system:node:{node}", "system:nodes", client=True))
    for stem, (cn, org) in CLIENTS.items():
        _write(directory, stem, *ca.issue(cn, org, client=True))
    sa = _key()
    (directory / "sa.key").write_bytes(sa.private_bytes(serialization.Encoding.PEM,
                                                        serialization.PrivateFormat.PKCS8,
                                                        serialization.NoEncryption()))
    (directory / "sa.key").chmod(0o600)
    (directory / "sa.pub").write_bytes(sa.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))


def issue_client(directory: Path, stem: str, user: str, groups: tuple[str, ...] = ()) -> None:
    """A client certificate (``<stem>.crt``/``.key`` in *directory*) for user *user* in
    *groups*, signed by the cluster CA that :func:`make_pki` wrote there."""
    _write(directory, stem, *_CA.load(directory, "ca").issue(user, tuple(groups), client=True))
