"""Ed25519 program instructions carrying attestations (solders has no builder).

Layout of the instruction data, all integers little-endian: one byte with the number
of signatures, one padding byte, then per signature seven u16 offsets (signature
offset, its instruction index, public key offset, its index, message offset, message
size, its index) and, here, the key, the signature and the message in the same data.
An index of ``0xFFFF`` means "this instruction"; the staking program accepts only
such self-contained instructions.
"""

from __future__ import annotations

import struct

from nacl.exceptions import BadSignatureError
from nacl.signing import VerifyKey
from solders.instruction import Instruction
from solders.pubkey import Pubkey

from fl_app.chain.errors import AttestationMismatchError
from strategy.attestation import KEY_LEN, SIGNATURE_LEN, Attestation

__all__ = ["ED25519_PROGRAM_ID", "ed25519_instruction"]

ED25519_PROGRAM_ID = Pubkey.from_string("Ed25519SigVerify111111111111111111111111111")
_HEADER_LEN = 16
_THIS_INSTRUCTION = 0xFFFF


def ed25519_instruction(attestation: Attestation, message: bytes) -> Instruction:
    """An Ed25519 program instruction the runtime verifies: ``attestation`` over ``message``.

    Raises
    ------
    AttestationMismatchError
        ``attestation`` does not sign ``message``: the runtime would reject the
        transaction (after a fee-free preflight), so it is refused here, unsent.
    """
    try:
        VerifyKey(attestation.signer).verify(message, attestation.signature)
    except BadSignatureError:
        raise AttestationMismatchError(str(Pubkey(attestation.signer))) from None
    key_at = _HEADER_LEN
    signature_at = key_at + KEY_LEN
    message_at = signature_at + SIGNATURE_LEN
    if message_at + len(message) > 0xFFFF:
        raise ValueError("attestation message too long for an Ed25519 instruction")
    header = struct.pack(
        "<BB7H",
        1,
        0,
        signature_at,
        _THIS_INSTRUCTION,
        key_at,
        _THIS_INSTRUCTION,
        message_at,
        len(message),
        _THIS_INSTRUCTION,
    )
    data = header + attestation.signer + attestation.signature + message
    return Instruction(ED25519_PROGRAM_ID, data, [])
