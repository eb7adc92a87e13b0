//! Ed25519 precompile instructions with any key, signature and message, so
//! tests can present forged attestations as well as real ones.

use solana_sdk::ed25519_program;
use solana_sdk::instruction::Instruction;
use solana_sdk::pubkey::Pubkey;

/// An Ed25519 program instruction claiming `key` signed `message` with
/// `signature` (which the runtime then verifies): header (one signature), the
/// offsets of signature, key and message within this instruction
/// (`u16::MAX`), then key, signature and message.
pub fn ed25519_instruction(key: &Pubkey, signature: &[u8], message: &[u8]) -> Instruction {
    const HEADER: u16 = 16;
    const THIS: u16 = u16::MAX;
    let key_at = HEADER;
    let signature_at = key_at + 32;
    let message_at = signature_at + 64;
    let message_len = u16::try_from(message.len()).expect("message fits");
    let mut data = vec![1, 0];
    for field in [
        signature_at,
        THIS,
        key_at,
        THIS,
        message_at,
        message_len,
        THIS,
    ] {
        data.extend_from_slice(&field.to_le_bytes());
    }
    data.extend_from_slice(key.as_ref());
    data.extend_from_slice(signature);
    data.extend_from_slice(message);
    Instruction {
        program_id: ed25519_program::ID,
        accounts: vec![],
        data,
    }
}
