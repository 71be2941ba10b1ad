"""RFC 3161 client against a real TSA (openssl ts -reply over HTTP on loopback)."""

from __future__ import annotations

import hashlib
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from asn1crypto import cms
from cryptography.hazmat.primitives.serialization import Encoding

from rapport.crypto.timestamp import (
    build_request,
    load_certificate,
    parse_response,
    request_timestamp,
    verify_timestamp,
)
from rapport.errors import TimestampFailed
from tests.crypto.tsa import LocalTsa

DIGEST = hashlib.sha256(b"labour contract v1").digest()


@pytest.fixture(scope="module")
def tsa(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalTsa]:
    with LocalTsa(tmp_path_factory.mktemp("tsa")) as local:
        yield local


async def test_a_token_from_the_tsa_verifies_against_its_certificate_and_the_digest(
    tsa: LocalTsa,
) -> None:
    # when a token is requested over a digest
    token = await request_timestamp(tsa.url, DIGEST)

    # then it states the digest, a time and the nonce, and verifies offline
    info = verify_timestamp(token.token, DIGEST, tsa.certificate_pem)
    assert info.digest == DIGEST
    assert info.policy == "1.2.3.4.1"
    assert info.nonce == token.info.nonce and info.nonce is not None
    assert "Rapport Test TSA" in info.tsa
    assert token.certificate == load_certificate(tsa.certificate_pem).public_bytes(Encoding.DER)
    # and openssl agrees it is a valid token over that digest
    token_file = tsa.directory / "token.der"
    token_file.write_bytes(token.token)
    checked = subprocess.run(
        ["openssl", "ts", "-verify", "-digest", DIGEST.hex(), "-in", str(token_file),
         "-token_in", "-CAfile", str(tsa.directory / "tsa.pem")],
        capture_output=True, text=True,
    )  # fmt: skip
    assert "Verification: OK" in checked.stdout, checked.stderr


async def test_a_token_fails_for_another_digest_an_altered_byte_or_another_tsa(
    tsa: LocalTsa, tmp_path: Path
) -> None:
    token = (await request_timestamp(tsa.url, DIGEST)).token
    # another digest
    with pytest.raises(TimestampFailed, match="another digest"):
        verify_timestamp(token, hashlib.sha256(b"labour contract v2").digest(), tsa.certificate_pem)
    # one byte of the signature changed
    altered = bytearray(token)
    signature = bytes(cms.ContentInfo.load(token)["content"]["signer_infos"][0]["signature"].native)
    at = bytes(token).index(signature) + 10
    altered[at] ^= 0x01
    with pytest.raises(TimestampFailed, match="signature does not verify"):
        verify_timestamp(bytes(altered), DIGEST, tsa.certificate_pem)
    # another TSA's certificate
    with (
        LocalTsa(tmp_path / "other", name="Other TSA") as other,
        pytest.raises(TimestampFailed, match="another certificate"),
    ):
        verify_timestamp(token, DIGEST, other.certificate_pem)
    # garbage
    with pytest.raises(TimestampFailed, match="cannot be read"):
        verify_timestamp(b"\x30\x03\x02\x01\x01", DIGEST, tsa.certificate_pem)


async def test_a_replayed_answer_and_an_unreachable_or_refusing_tsa_are_refused(
    tsa: LocalTsa,
) -> None:
    # an answer to another request (another nonce) is refused
    answer = tsa.reply(build_request(DIGEST, nonce=1111))
    with pytest.raises(TimestampFailed, match="another nonce"):
        parse_response(answer, DIGEST, nonce=2222)
    with pytest.raises(TimestampFailed, match="another digest"):
        parse_response(answer, hashlib.sha256(b"x").digest(), nonce=1111)
    assert parse_response(answer, DIGEST, nonce=1111).info.nonce == 1111
    # a TSA answering 503, and one that is not there
    tsa.refuse = True
    try:
        with pytest.raises(TimestampFailed, match="answered HTTP 503"):
            await request_timestamp(tsa.url, DIGEST)
    finally:
        tsa.refuse = False
    with pytest.raises(TimestampFailed, match="cannot be reached"):
        await request_timestamp("http://127.0.0.1:9/tsa", DIGEST, timeout=2)
    with pytest.raises(TimestampFailed, match="32 bytes"):
        build_request(b"short", nonce=1)


def test_a_certificate_without_the_time_stamping_usage_is_refused(tmp_path: Path) -> None:
    key, cert = tmp_path / "k.pem", tmp_path / "c.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj",
         "/CN=not a tsa", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    from rapport.crypto.timestamp import _check_certificate

    certificate = load_certificate(cert.read_bytes())
    with pytest.raises(TimestampFailed, match="not a time-stamping certificate"):
        _check_certificate(certificate, certificate.not_valid_before_utc)
