"""RFC 3161 trusted timestamps: ask a time-stamping authority (TSA) for a token, verify one.

A token is the TSA's signed statement "this digest existed at this time" (法释〔2018〕16号 art.
11 accepts a trusted timestamp as proof that electronic data was not altered). The API:

- :func:`request_timestamp` ``(url, digest) -> TimestampToken``: POSTs a ``TimeStampReq``
  (SHA-256 imprint, a fresh 64-bit nonce, the TSA's certificate requested) as
  ``application/timestamp-query`` and parses the ``TimeStampResp``; a rejection, a wrong nonce
  or a token over another digest raises :class:`~rapport.errors.TimestampFailed`.
- :func:`verify_timestamp` ``(token, digest, tsa_cert) -> TimestampInfo``: offline, checks
  that the token is CMS SignedData over a TSTInfo whose imprint is ``digest``, that the signed
  attributes carry the TSTInfo's hash, that the signature verifies with ``tsa_cert``'s key,
  that ``tsa_cert`` is the signer (issuer and serial, and the ESS certificate hash when
  present), that it is a time-stamping certificate (extended key usage ``timeStamping``) and
  that the time lies in its validity.

Trust in ``tsa_cert`` itself (its chain to a CA you trust) is the caller's decision: an
evidence package carries the certificate, the verifier pins it by fingerprint.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx
from asn1crypto import cms, tsp
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import ExtendedKeyUsageOID

from rapport.errors import TimestampFailed

__all__ = [
    "TimestampInfo",
    "TimestampToken",
    "build_request",
    "certificate_fingerprint",
    "load_certificate",
    "parse_response",
    "request_timestamp",
    "verify_timestamp",
]

QUERY_TYPE = "application/timestamp-query"
REPLY_TYPE = "application/timestamp-reply"
_HASHES: dict[str, type[hashes.HashAlgorithm]] = {
    "sha256": hashes.SHA256,
    "sha384": hashes.SHA384,
    "sha512": hashes.SHA512,
}


@dataclass(frozen=True, slots=True)
class TimestampInfo:
    """What a verified token states."""

    time: datetime  # genTime, aware UTC
    serial_number: int
    policy: str  # the TSA policy OID
    digest: bytes  # the imprint: the SHA-256 the token covers
    nonce: int | None
    tsa: str  # the signer certificate's subject (RFC 4514)


@dataclass(frozen=True, slots=True)
class TimestampToken:
    token: bytes  # DER ContentInfo (SignedData), what is stored and shipped
    info: TimestampInfo
    certificate: bytes | None  # the TSA certificate (DER) the response carried, if any


def load_certificate(data: bytes) -> x509.Certificate:
    """A certificate from PEM or DER bytes."""
    try:
        if data.lstrip().startswith(b"-----BEGIN"):
            return x509.load_pem_x509_certificate(data)
        return x509.load_der_x509_certificate(data)
    except ValueError as exc:
        raise TimestampFailed(
            "The TSA certificate cannot be read.",
            hint="Give the TSA's certificate as PEM or DER.",
        ) from exc


def certificate_fingerprint(certificate: x509.Certificate) -> str:
    return "sha256:" + certificate.fingerprint(hashes.SHA256()).hex()


def build_request(digest: bytes, nonce: int) -> bytes:
    """A DER ``TimeStampReq`` for a SHA-256 ``digest``."""
    if len(digest) != 32:
        raise TimestampFailed(
            f"A SHA-256 digest has 32 bytes, not {len(digest)}.",
            hint="Pass hashlib.sha256(data).digest().",
        )
    request = tsp.TimeStampReq(
        {
            "version": 1,
            "message_imprint": {
                "hash_algorithm": {"algorithm": "sha256"},
                "hashed_message": digest,
            },
            "nonce": nonce,
            "cert_req": True,
        }
    )
    return bytes(request.dump())


def parse_response(data: bytes, digest: bytes, nonce: int) -> TimestampToken:
    """The token of a ``TimeStampResp``, checked against the request's digest and nonce (the
    signature is checked by :func:`verify_timestamp` against a certificate)."""
    try:
        response = tsp.TimeStampResp.load(data)
        status = response["status"]["status"].native
    except (ValueError, TypeError) as exc:
        raise TimestampFailed(
            "The TSA's answer is not an RFC 3161 TimeStampResp.",
            hint="Check that the TSA URL points at an RFC 3161 service.",
        ) from exc
    if status not in ("granted", "granted_with_mods"):
        text = response["status"]["status_string"].native
        raise TimestampFailed(
            f"The TSA refused the request ({status}: {text or 'no reason given'}).",
            hint="Check the TSA's policy, the hash algorithm (SHA-256) and its account.",
        )
    token = bytes(response["time_stamp_token"].dump())
    info, certificate = _inspect(token)
    if info.digest != digest:
        raise TimestampFailed("The TSA timestamped another digest than the one sent.")
    if info.nonce != nonce:
        raise TimestampFailed(
            "The TSA's answer carries another nonce: it is not the answer to this request.",
            hint="Retry; a replayed or mixed-up answer is refused.",
        )
    return TimestampToken(token, info, certificate)


async def request_timestamp(
    url: str,
    digest: bytes,
    *,
    client: httpx.AsyncClient | None = None,
    timeout: float = 10.0,
) -> TimestampToken:
    """Ask the TSA at ``url`` for a token over the SHA-256 ``digest``."""
    nonce = secrets.randbits(63)
    body = build_request(digest, nonce)
    headers = {"Content-Type": QUERY_TYPE, "Accept": REPLY_TYPE}
    try:
        if client is None:
            async with httpx.AsyncClient(timeout=timeout) as own:
                response = await own.post(url, content=body, headers=headers)
        else:
            response = await client.post(url, content=body, headers=headers, timeout=timeout)
    except httpx.HTTPError as exc:
        raise TimestampFailed(
            f"The TSA at {url} cannot be reached ({type(exc).__name__}).",
            hint="Check the TSA URL in the settings and that the service is up; retry.",
        ) from exc
    if response.status_code != 200:
        raise TimestampFailed(
            f"The TSA at {url} answered HTTP {response.status_code}.",
            hint="Check the TSA URL and account; retry later.",
        )
    return parse_response(response.content, digest, nonce)


def _inspect(token: bytes) -> tuple[TimestampInfo, bytes | None]:
    signed, tst = _parts(token)
    imprint = tst["message_imprint"]
    if imprint["hash_algorithm"]["algorithm"].native != "sha256":
        raise TimestampFailed("The token's imprint is not SHA-256.")
    certificates = [c.chosen.dump() for c in signed["certificates"] or ()]
    info = TimestampInfo(
        time=tst["gen_time"].native.astimezone(UTC),
        serial_number=int(tst["serial_number"].native),
        policy=str(tst["policy"].native),
        digest=bytes(imprint["hashed_message"].native),
        nonce=None if tst["nonce"].native is None else int(tst["nonce"].native),
        tsa="",
    )
    return info, (bytes(certificates[0]) if certificates else None)


def _parts(token: bytes) -> tuple[cms.SignedData, tsp.TSTInfo]:
    try:
        content = cms.ContentInfo.load(token)
        if content["content_type"].native != "signed_data":
            raise ValueError("not SignedData")
        signed = content["content"]
        encap = signed["encap_content_info"]
        if encap["content_type"].native != "tst_info":
            raise ValueError("not a TSTInfo")
        tst = encap["content"].parsed
        _ = tst.native  # parse it all now: a malformed token fails here, not later
    except (ValueError, TypeError, KeyError) as exc:
        raise TimestampFailed(
            f"The timestamp token cannot be read: {exc}.",
            hint="A token is the DER ContentInfo of an RFC 3161 answer.",
        ) from exc
    return signed, tst


def verify_timestamp(
    token: bytes, digest: bytes, tsa_cert: bytes | x509.Certificate
) -> TimestampInfo:
    """Check ``token`` offline: it covers ``digest`` and was signed by ``tsa_cert``."""
    certificate = tsa_cert if isinstance(tsa_cert, x509.Certificate) else load_certificate(tsa_cert)
    signed, _tst = _parts(token)
    info, _ = _inspect(token)
    if info.digest != digest:
        raise TimestampFailed(
            "The timestamp token covers another digest: the data was changed after it was "
            "timestamped.",
        )
    signer_infos = signed["signer_infos"]
    if len(signer_infos) != 1:
        raise TimestampFailed("A timestamp token has exactly one signer.")
    signer = signer_infos[0]
    _check_signer(signer, certificate)
    tst_der = bytes(signed["encap_content_info"]["content"].contents)
    digest_name = signer["digest_algorithm"]["algorithm"].native
    if digest_name not in _HASHES:
        raise TimestampFailed(f"The token's digest algorithm {digest_name} is not supported.")
    attributes = signer["signed_attrs"]
    if not attributes:
        raise TimestampFailed("The token has no signed attributes (RFC 3161 requires them).")
    values = {a["type"].native: a["values"] for a in attributes}
    if values.get("content_type", [None])[0] is None or (
        values["content_type"][0].native != "tst_info"
    ):
        raise TimestampFailed("The token's signed content type is not TSTInfo.")
    message_digest = values.get("message_digest")
    if (
        message_digest is None
        or message_digest[0].native != hashlib.new(digest_name, tst_der).digest()
    ):
        raise TimestampFailed("The token's TSTInfo was changed after the TSA signed it.")
    _check_ess(values, certificate)
    # The signature covers the DER of the attributes as a SET OF (tag 0x31), not as the
    # implicitly tagged [0] they are stored with (RFC 5652 §5.4).
    signed_bytes = b"\x31" + bytes(attributes.dump())[1:]
    _check_signature(certificate, signer, signed_bytes, _HASHES[digest_name]())
    _check_certificate(certificate, info.time)
    return TimestampInfo(
        time=info.time,
        serial_number=info.serial_number,
        policy=info.policy,
        digest=info.digest,
        nonce=info.nonce,
        tsa=certificate.subject.rfc4514_string(),
    )


def _check_signer(signer: cms.SignerInfo, certificate: x509.Certificate) -> None:
    sid = signer["sid"]
    if sid.name == "issuer_and_serial_number":
        serial = int(sid.chosen["serial_number"].native)
        issuer = bytes(sid.chosen["issuer"].dump())
        if serial != certificate.serial_number or issuer != certificate.issuer.public_bytes():
            raise TimestampFailed(
                "The token was signed by another certificate than the TSA certificate given.",
                hint="Verify with the certificate of the TSA that issued the token.",
            )


def _check_ess(values: dict[str, cms.SetOfAny], certificate: x509.Certificate) -> None:
    der = certificate.public_bytes(Encoding.DER)
    if "signing_certificate_v2" in values:
        ids = values["signing_certificate_v2"][0]["certs"]
        algorithm = ids[0]["hash_algorithm"]["algorithm"].native
        expected = hashlib.new(algorithm, der).digest()
        if bytes(ids[0]["cert_hash"].native) != expected:
            raise TimestampFailed("The token names another signing certificate (ESSCertIDv2).")
    elif "signing_certificate" in values:
        ids = values["signing_certificate"][0]["certs"]
        if (
            bytes(ids[0]["cert_hash"].native) != hashlib.sha1(der).digest()
        ):  # ESSCertID is SHA-1 by definition (RFC 2634)
            raise TimestampFailed("The token names another signing certificate (ESSCertID).")


def _check_signature(
    certificate: x509.Certificate,
    signer: cms.SignerInfo,
    data: bytes,
    algorithm: hashes.HashAlgorithm,
) -> None:
    key = certificate.public_key()
    signature = bytes(signer["signature"].native)
    scheme = signer["signature_algorithm"].signature_algo
    try:
        if isinstance(key, rsa.RSAPublicKey) and scheme == "rsassa_pkcs1v15":
            key.verify(signature, data, padding.PKCS1v15(), algorithm)
        elif isinstance(key, rsa.RSAPublicKey) and scheme == "rsassa_pss":
            pss = padding.PSS(mgf=padding.MGF1(algorithm), salt_length=padding.PSS.AUTO)
            key.verify(signature, data, pss, algorithm)
        elif isinstance(key, ec.EllipticCurvePublicKey) and scheme == "ecdsa":
            key.verify(signature, data, ec.ECDSA(algorithm))
        else:
            raise TimestampFailed(
                f"The token's signature scheme {scheme} does not fit the TSA certificate's key."
            )
    except InvalidSignature as exc:
        raise TimestampFailed(
            "The token's signature does not verify with the TSA certificate.",
            hint="The token was altered, or it comes from another TSA.",
        ) from exc


def _check_certificate(certificate: x509.Certificate, at: datetime) -> None:
    try:
        usage = certificate.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    except x509.ExtensionNotFound:
        usage = None
    if usage is None or ExtendedKeyUsageOID.TIME_STAMPING not in usage:
        raise TimestampFailed(
            "The certificate is not a time-stamping certificate (no timeStamping key usage).",
            hint="Give the TSA's signing certificate.",
        )
    if not certificate.not_valid_before_utc <= at <= certificate.not_valid_after_utc:
        raise TimestampFailed(
            f"The token's time {at.isoformat()} lies outside the TSA certificate's validity."
        )
