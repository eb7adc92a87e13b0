"""Message payload keys and fixed values of the encrypted aggregation protocol.

Keys use Flower's kebab-case spelling (as in ``num-examples``) and share one prefix.
"""

from __future__ import annotations

from typing import Final

# Flower's own keys: the round number its strategies put in every ConfigRecord, and
# the metric FedAvg weights replies by.
SERVER_ROUND: Final = "server-round"
NUM_EXAMPLES: Final = "num-examples"

# Train message (server -> participant), inside the strategy's ConfigRecord.
CONFIG_TASK_ID: Final = "ckks-task-id"
CONFIG_CONTEXT: Final = "ckks-context"
CONFIG_CONTEXT_SHA256: Final = "ckks-context-sha256"
CONFIG_WEIGHT_SCALE: Final = "ckks-weight-scale"
CONFIG_WEIGHT_KEY: Final = "ckks-weight-key"
CONFIG_MAX_ABS: Final = "ckks-max-abs"
CONFIG_REFERENCE_SHA256: Final = "ckks-reference-sha256"
# Under a committee's key: its wallets (member order) and each one's signature of the key.
CONFIG_COMMITTEE_WALLETS: Final = "ckks-committee-wallets"
CONFIG_KEY_SIGNATURES: Final = "ckks-key-signatures"

# Train reply (participant -> server).
RECORD_UPDATE: Final = "ckks-update"
RECORD_COMMITMENT: Final = "ckks-commitment"
KEY_COMMITMENT_JSON: Final = "json"
ARRAY_DTYPE: Final = "ckks"
ARRAY_STYPE: Final = "tenseal.ckks.vector"

# Key-holder queries (server -> key holder), routed as "query.<action>".
ACTION_DECRYPT: Final = "ckks_decrypt"
ACTION_IDENTIFY: Final = "ckks_identify"
RECORD_REQUEST: Final = "ckks-request"
RECORD_INPUTS: Final = "ckks-inputs"
RECORD_AGGREGATE: Final = "ckks-aggregate"
RECORD_PLAINTEXT: Final = "ckks-plaintext"
RECORD_IDENTITY: Final = "ckks-identity"
RECORD_REFERENCE: Final = "ckks-reference"
KEY_KIND: Final = "kind"
KEY_MANIFEST_JSON: Final = "manifest-json"
KEY_INPUT_NODE_IDS: Final = "input-node-ids"
KEY_NONCE: Final = "nonce"
KEY_WALLET: Final = "wallet"
KEY_SIGNATURE: Final = "signature"
KEY_VALUES: Final = "values"
KEY_MANIFEST_SHA256: Final = "manifest-sha256"
KEY_ATTESTATION: Final = "attestation"

# Decryption request kinds: the sum of a round's updates, then per update the scalars
# <w_i, g0> and ||w_i||^2 for contribution scores (one request of each per round).
KIND_WEIGHTED_SUM: Final = "weighted-sum"
KIND_INNER_PRODUCT: Final = "inner-product"

# Node-config keys read by the participant, key-holder and committee-member sides.
NODE_CONFIG_PUBLIC_CONTEXT: Final = "ckks-public-context"
NODE_CONFIG_CONTEXT_PIN: Final = "ckks-context-sha256"
NODE_CONFIG_SEALED_SECRET: Final = "ckks-sealed-secret"
NODE_CONFIG_WALLET: Final = "wallet-keypair"
NODE_CONFIG_COMMITTEE: Final = "ckks-committee-wallets"
NODE_CONFIG_MIN_INPUTS: Final = "ckks-min-inputs"
NODE_CONFIG_MEMBER_STORE: Final = "ckks-member-store"
NODE_CONFIG_ALLOWED_SIGNERS: Final = "ckks-allowed-signers"
NODE_CONFIG_OWN_UPDATES: Final = "ckks-own-updates"

# Participant state kept in the node's Context across messages of one run: the verified
# public context, by fingerprint, so that only the first train message has to carry it.
STATE_PUBLIC_CONTEXT: Final = "ckks-public-context"

# Key-holder state kept in the node's Context across messages of one run.
STATE_KEY_HOLDER: Final = "ckks-key-holder"
STATE_DECRYPTED_ROUNDS: Final = "decrypted-rounds"
STATE_SUMMED_INPUTS: Final = "summed-inputs"
STATE_SCORED_ROUNDS: Final = "scored-rounds"

# Committee queries (server -> committee member), routed as "query.<action>"; see
# ``strategy.threshold.member_app``.
ACTION_MEMBER_IDENTIFY: Final = "threshold_identify"
ACTION_KEY_SHARES: Final = "threshold_key_shares"
ACTION_KEY_FINISH: Final = "threshold_key_finish"
ACTION_CHALLENGE: Final = "threshold_challenge"
ACTION_RELEASE: Final = "threshold_release"
RECORD_COMMITTEE: Final = "threshold-committee"
RECORD_SUM: Final = "threshold-sum"
RECORD_OPENINGS: Final = "threshold-openings"
RECORD_MASKS: Final = "threshold-masks"
KEY_SEED: Final = "seed"
KEY_SIZE: Final = "size"
KEY_THRESHOLD: Final = "threshold"
KEY_MEMBER: Final = "member"
KEY_WALLETS: Final = "wallets"
KEY_PUBLIC_KEY_SHARE: Final = "public-key-share"
KEY_PUBLIC_KEY_SHARES: Final = "public-key-shares"
KEY_SEALED_SHARES: Final = "sealed-shares"
KEY_LEAVES: Final = "leaves"
KEY_DECRYPTING: Final = "decrypting"
KEY_ROUND_INDEX: Final = "round-index"
KEY_AGGREGATE_ROOT: Final = "aggregate-root"
KEY_SHARE: Final = "share"
KEY_REFERENCE_BODIES: Final = "reference-bodies"
KEY_REFERENCE_SHA256: Final = "reference-sha256"
KEY_REFERENCE_SHARES: Final = "reference-shares"
KEY_SCORES_ATTESTATION: Final = "scores-attestation"
