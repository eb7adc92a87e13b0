//! Attestations: ed25519 signatures by a task's attestors (the key holder, or
//! a decryption committee) over what they decrypted.
//!
//! The program never verifies a signature itself. The transaction carries one
//! Ed25519 program instruction per attestor before the staking instruction;
//! the runtime verifies those (a transaction with a bad signature fails as a
//! whole), and the program reads them back through the instructions sysvar
//! and checks *who* signed and *what*: the exact message it rebuilds from its
//! own arguments.

use anchor_lang::prelude::*;
use anchor_lang::solana_program::ed25519_program;
use anchor_lang::solana_program::hash::hashv;
use anchor_lang::solana_program::sysvar::instructions::{
    load_current_index_checked, load_instruction_at_checked,
};

use crate::errors::StakingError;

/// Domain of a round attestation: contributors of one decrypted sum.
pub const ROUND_DOMAIN: &[u8] = b"fl-app/round-attestation/v1";
/// Domain of a final attestation: every participant's score.
pub const FINAL_DOMAIN: &[u8] = b"fl-app/final-attestation/v1";

/// Offsets of one signature inside an Ed25519 program instruction.
const OFFSETS_START: usize = 2;
const OFFSETS_LEN: usize = 14;
const PUBKEY_LEN: usize = 32;
const SIGNATURE_LEN: usize = 64;
/// Instruction index meaning "this instruction's own data".
const THIS_INSTRUCTION: u16 = u16::MAX;

/// Start of a chained digest, before any key is folded in.
pub const DIGEST_START: [u8; 32] = [0; 32];

/// Folds one contributor into a chained digest: `sha256(digest || key)`.
///
/// A list of up to `MAX_PARTICIPANTS` keys cannot be signed inside one
/// transaction; chaining lets an attestor sign the digest of the whole list
/// once while batches of credits advance it on chain, key by key.
pub fn chain_contributor(digest: &[u8; 32], key: &Pubkey) -> [u8; 32] {
    hashv(&[digest, key.as_ref()]).to_bytes()
}

/// Folds one `(participant, score)` pair into a chained digest:
/// `sha256(digest || key || score as u64 LE)`.
pub fn chain_score(digest: &[u8; 32], key: &Pubkey, score: u64) -> [u8; 32] {
    hashv(&[digest, key.as_ref(), &score.to_le_bytes()]).to_bytes()
}

/// Message an attestor signs for round `round_index`: the task, the round,
/// the digest of the manifest it checked, and the count and chained digest
/// (ascending key order) of the contributors of the sum it decrypted.
pub fn round_message(
    task: &Pubkey,
    round_index: u32,
    manifest_digest: &[u8; 32],
    count: u32,
    contributors_digest: &[u8; 32],
) -> Vec<u8> {
    [
        ROUND_DOMAIN,
        task.as_ref(),
        &round_index.to_le_bytes(),
        manifest_digest,
        &count.to_le_bytes(),
        contributors_digest,
    ]
    .concat()
}

/// Message an attestor signs to accept final scores: the task, the digest of
/// the final model, the total score, and the count and chained digest
/// (ascending key order) of every `(participant, score)` pair.
pub fn final_message(
    task: &Pubkey,
    model_digest: &[u8; 32],
    total_score: u64,
    count: u32,
    scores_digest: &[u8; 32],
) -> Vec<u8> {
    [
        FINAL_DOMAIN,
        task.as_ref(),
        model_digest,
        &total_score.to_le_bytes(),
        &count.to_le_bytes(),
        scores_digest,
    ]
    .concat()
}

fn read_u16(data: &[u8], at: usize) -> Result<u16> {
    let bytes = data
        .get(at..at + 2)
        .ok_or_else(|| error!(StakingError::AttestationMalformed))?;
    Ok(u16::from_le_bytes([bytes[0], bytes[1]]))
}

fn slice(data: &[u8], offset: u16, len: usize) -> Result<&[u8]> {
    let start = usize::from(offset);
    data.get(start..start + len)
        .ok_or_else(|| error!(StakingError::AttestationMalformed))
}

/// `(signer, message)` of every signature in the data of one Ed25519 program
/// instruction. Only self-contained instructions are accepted: a signature,
/// key or message taken from another instruction is refused, so what the
/// runtime verified is exactly what is read here.
pub fn signed_messages(data: &[u8]) -> Result<Vec<(Pubkey, &[u8])>> {
    let count = usize::from(
        *data
            .first()
            .ok_or_else(|| error!(StakingError::AttestationMalformed))?,
    );
    let mut signed = Vec::with_capacity(count);
    for i in 0..count {
        let at = OFFSETS_START + i * OFFSETS_LEN;
        let field = |n: usize| read_u16(data, at + 2 * n);
        let (signature_ix, key_at, key_ix) = (field(1)?, field(2)?, field(3)?);
        let (message_at, message_len, message_ix) = (field(4)?, field(5)?, field(6)?);
        require!(
            signature_ix == THIS_INSTRUCTION
                && key_ix == THIS_INSTRUCTION
                && message_ix == THIS_INSTRUCTION,
            StakingError::AttestationMalformed
        );
        slice(data, field(0)?, SIGNATURE_LEN)?;
        let key = Pubkey::try_from(slice(data, key_at, PUBKEY_LEN)?)
            .map_err(|_| error!(StakingError::AttestationMalformed))?;
        signed.push((key, slice(data, message_at, usize::from(message_len))?));
    }
    Ok(signed)
}

/// Fails unless at least `threshold` distinct `attestors` signed `message` in
/// Ed25519 program instructions of this transaction placed before the
/// current instruction.
pub fn require_attested(
    instructions: &AccountInfo,
    attestors: &[Pubkey],
    threshold: u8,
    message: &[u8],
) -> Result<()> {
    let current = load_current_index_checked(instructions)?;
    let mut signed_by: Vec<Pubkey> = Vec::new();
    for index in 0..current {
        let ix = load_instruction_at_checked(usize::from(index), instructions)?;
        if ix.program_id != ed25519_program::ID {
            continue;
        }
        for (key, signed) in signed_messages(&ix.data)? {
            if signed == message && attestors.contains(&key) && !signed_by.contains(&key) {
                signed_by.push(key);
            }
        }
    }
    require_gte!(
        signed_by.len(),
        usize::from(threshold),
        StakingError::AttestationMissing
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn instruction_data(key: &Pubkey, message: &[u8], foreign: bool) -> Vec<u8> {
        let header = (OFFSETS_START + OFFSETS_LEN) as u16;
        let (key_at, signature_at) = (header, header + PUBKEY_LEN as u16);
        let message_at = signature_at + SIGNATURE_LEN as u16;
        let index = if foreign { 0 } else { THIS_INSTRUCTION };
        let mut data = vec![1, 0];
        for value in [
            signature_at,
            THIS_INSTRUCTION,
            key_at,
            THIS_INSTRUCTION,
            message_at,
            message.len() as u16,
            index,
        ] {
            data.extend_from_slice(&value.to_le_bytes());
        }
        data.extend_from_slice(key.as_ref());
        data.extend_from_slice(&[7; SIGNATURE_LEN]);
        data.extend_from_slice(message);
        data
    }

    #[test]
    fn reads_signer_and_message_of_a_self_contained_instruction() {
        let key = Pubkey::new_unique();
        let data = instruction_data(&key, b"round 3", false);
        let signed = signed_messages(&data).expect("parses");
        assert_eq!(signed, vec![(key, &b"round 3"[..])]);
    }

    #[test]
    fn error_message_taken_from_another_instruction() {
        let data = instruction_data(&Pubkey::new_unique(), b"round 3", true);
        assert_eq!(
            signed_messages(&data).unwrap_err(),
            error!(StakingError::AttestationMalformed)
        );
    }

    #[test]
    fn error_offsets_out_of_bounds() {
        let mut data = instruction_data(&Pubkey::new_unique(), b"round 3", false);
        data.truncate(data.len() - 1);
        assert_eq!(
            signed_messages(&data).unwrap_err(),
            error!(StakingError::AttestationMalformed)
        );
    }

    #[test]
    fn messages_bind_task_round_manifest_count_and_digest() {
        let task = Pubkey::new_unique();
        let digest = chain_contributor(&DIGEST_START, &Pubkey::new_unique());
        let base = round_message(&task, 1, &[1; 32], 1, &digest);
        assert_ne!(
            base,
            round_message(&Pubkey::new_unique(), 1, &[1; 32], 1, &digest)
        );
        assert_ne!(base, round_message(&task, 2, &[1; 32], 1, &digest));
        assert_ne!(base, round_message(&task, 1, &[2; 32], 1, &digest));
        assert_ne!(base, round_message(&task, 1, &[1; 32], 2, &digest));
        assert_ne!(base, round_message(&task, 1, &[1; 32], 1, &DIGEST_START));
        let scores = final_message(&task, &[1; 32], 7, 1, &digest);
        assert_ne!(scores, final_message(&task, &[1; 32], 8, 1, &digest));
        assert!(scores.starts_with(FINAL_DOMAIN) && base.starts_with(ROUND_DOMAIN));
    }

    #[test]
    fn chained_digest_depends_on_order_and_scores() {
        let (a, b) = (Pubkey::new_unique(), Pubkey::new_unique());
        let ab = chain_contributor(&chain_contributor(&DIGEST_START, &a), &b);
        let ba = chain_contributor(&chain_contributor(&DIGEST_START, &b), &a);
        assert_ne!(ab, ba);
        assert_ne!(
            chain_score(&DIGEST_START, &a, 3),
            chain_score(&DIGEST_START, &a, 4)
        );
    }
}
