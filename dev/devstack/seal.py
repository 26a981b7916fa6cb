"""A self-signed seal for a developer's Porta and each test run: the key and certificate the documents
service seals signed PDFs with (docs/signatures.md). Never for production: deploy/README.md says how to
bring a certificate others can trust.

Made once per var dir (`PORTA_VAR_DIR/seal/`), kept across restarts so the PDFs sealed yesterday still
verify today; the key is readable by its owner only. A PORTA_SEAL_KEY_FILE / PORTA_SEAL_CERT_FILE already
set is left alone.
"""
from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

SEAL_DIR = "seal"
KEY_FILE, CERT_FILE = "seal.key", "seal.crt"
VALID_FOR = timedelta(days=3650)


def self_signed(common_name: str = "Porta development seal") -> tuple[bytes, bytes]:
    """A new RSA-3072 key and its self-signed certificate, both PEM (the key unencrypted)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=3072)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Porta (self-signed, not for production)")])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5)).not_valid_after(now + VALID_FOR)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=True, key_encipherment=False,
                                     data_encipherment=False, key_agreement=False, key_cert_sign=False,
                                     crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    return key_pem, certificate.public_bytes(serialization.Encoding.PEM)


def _write_once(path: Path, data: bytes) -> bool:
    """Write `path` unless it exists (made in a temporary file, linked into place: two processes starting
    together keep one). True when this call wrote it."""
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")  # mode 0600
    try:
        with os.fdopen(descriptor, "wb") as file:
            file.write(data)
        try:
            os.link(temporary, path)
        except FileExistsError:
            return False
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
    return True


def seal_files(var_dir: Path) -> tuple[Path, Path]:
    """The key and certificate under `var_dir/seal/`, made the first time."""
    folder = var_dir / SEAL_DIR
    key_path, cert_path = folder / KEY_FILE, folder / CERT_FILE
    if key_path.exists() and cert_path.exists():
        return key_path, cert_path
    folder.mkdir(parents=True, exist_ok=True)
    key_pem, cert_pem = self_signed()
    # The certificate goes first and the key decides: a key written by another process wins with its own pair.
    if _write_once(key_path, key_pem):
        cert_path.unlink(missing_ok=True)
        _write_once(cert_path, cert_pem)
    return key_path, cert_path


def with_seal(env: Mapping[str, str]) -> dict[str, str]:
    """`env` with PORTA_SEAL_KEY_FILE and PORTA_SEAL_CERT_FILE naming a self-signed seal in its var dir,
    unless both are set already."""
    env = dict(env)
    if not (env.get("PORTA_SEAL_KEY_FILE") and env.get("PORTA_SEAL_CERT_FILE")):
        key_path, cert_path = seal_files(Path(env["PORTA_VAR_DIR"]))
        env["PORTA_SEAL_KEY_FILE"], env["PORTA_SEAL_CERT_FILE"] = str(key_path), str(cert_path)
    return env
