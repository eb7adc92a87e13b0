"""The demo: one whole task, from creation to the last claim, on embedded defaults.

An organisation creates and funds a task on the embedded chain with a decryption
committee, pins the task's Flower App Bundle to a private Kubo daemon, and runs the
Flower Simulation Engine with encrypted, stake-gated FedAvg. Participants verify the
bundle by the CID on chain (which carries its SHA-256), stake, and train with the
ClientApp loaded from that verified bundle; one is a free-rider and one flips its
labels. When the join window closes, the committee is drawn from the stakers on chain;
its members make the task's key among themselves (threshold CKKS: no single party, the
organisation least of all, can decrypt an update) and decrypt each round's sum and
contribution scalars. After each round the manifest and model are pinned and recorded on
chain with the members' attestations; at the end the members recompute the scores from
what they signed, the organisation posts them with the members' signatures, and
everyone claims.
"""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from solders.keypair import Keypair
from solders.pubkey import Pubkey

from fl_app.chain import EmbeddedTransport, StakingClient
from fl_app.chain.attestations import final_attestation
from fl_app.chain.stake_lookup import chain_stake_lookup
from fl_app.client.behaviour import Behaviour
from fl_app.client.bundle_app import load_bundle_client
from fl_app.ipfs import MAX_BUNDLE_BYTES, IpfsClient, KuboDaemon, bundle_sha256, fetch_verified
from fl_app.ipfs.template import TEMPLATE_DIR
from fl_app.keys import KeyFiles
from fl_app.roles import Organisation, Participant, TaskPlan
from fl_app.roles.own_inputs import audit_own_inputs
from fl_app.roles.round_scores import RecordedRound, fetch_rounds, weights_from_rounds
from fl_app.run_report import RoundReport, RunReport
from fl_app.server.committee import TaskCommittee
from fl_app.settings import RunSettings
from fl_app.simulation import Federation, run_federated
from strategy.stake_gate import StakeGate

__all__ = ["DemoOptions", "DemoResult", "ParticipantOutcome", "run_demo"]

LAMPORTS_PER_SOL = 1_000_000_000


@dataclass(frozen=True, kw_only=True)
class DemoOptions:
    """The demo's scenario; amounts in lamports."""

    participants: int = 6
    rounds: int = 5
    dataset: str = "breast_cancer"
    seed: int = 42
    reward_pool: int = 10 * LAMPORTS_PER_SOL
    min_stake: int = LAMPORTS_PER_SOL
    free_rider: int | None = 4
    label_flipper: int | None = 5
    # (size, threshold) of the decryption committee drawn from the stakers; None has
    # participant 0 hold the whole key (a consortium that trusts it).
    committee: tuple[int, int] | None = (5, 3)
    # After the claims the organisation closes the round records and the task and
    # gets their rent back; False keeps them on chain for inspection.
    close_task: bool = True

    def __post_init__(self) -> None:
        if self.committee is not None:
            size, threshold = self.committee
            if not 2 <= threshold <= size <= self.participants or 2 * threshold <= size:
                raise ValueError(
                    f"committee {size}/{threshold} of {self.participants} participants: the "
                    "threshold must be a strict majority of at least 2, the size at most the "
                    "participants"
                )

    def behaviours(self) -> dict[int, Behaviour]:
        roles = {self.free_rider: Behaviour.FREE_RIDER, self.label_flipper: Behaviour.LABEL_FLIPPER}
        return {p: b for p, b in roles.items() if p is not None}


@dataclass(frozen=True)
class ParticipantOutcome:
    """What one participant put in and got back."""

    address: str
    behaviour: Behaviour
    score: int
    reward: int
    stake_returned: int
    received: int


@dataclass
class DemoResult:
    """Everything the demo did, for printing and for tests."""

    task: Pubkey
    report: RunReport
    bundle_sha256: str = ""
    manifest_cids: list[str] = field(default_factory=list)
    # Rounds in which each participant checked its input's score share was its own.
    audited_rounds: dict[str, int] = field(default_factory=dict)
    outcomes: list[ParticipantOutcome] = field(default_factory=list)
    vault_after: int = 0
    rent_returned: int = 0
    lamports_in: int = 0
    lamports_out: int = 0


def run_demo(
    options: DemoOptions,
    *,
    daemon: KuboDaemon | None = None,
    transport: EmbeddedTransport | None = None,
    on_round: Callable[[RoundReport], None] | None = None,
    on_step: Callable[[str], None] | None = None,
) -> DemoResult:
    """Run the whole task.

    Parameters
    ----------
    options
        The scenario.
    daemon, transport
        A running Kubo daemon and an embedded chain to use; by default the demo starts
        its own daemon in a temporary repository (stopped at the end) and a fresh chain.
    on_round, on_step
        Progress callbacks: after each round, and after each step of the task.
    """
    say = on_step or (lambda _: None)
    chain = transport if transport is not None else EmbeddedTransport()
    client = StakingClient(chain, program_id=chain.program_id)
    with tempfile.TemporaryDirectory(prefix="fl-app-demo-") as scratch:
        root = Path(scratch)
        with contextlib.ExitStack() as stack:
            if daemon is None:
                daemon = stack.enter_context(KuboDaemon(repo_dir=root / "ipfs"))
            ipfs = stack.enter_context(daemon.client())
            say(f"IPFS: private Kubo daemon at {daemon.api_url}")
            say(f"Solana: embedded chain, staking program {chain.program_id}")
            return _run(options, root, client, chain, ipfs, say, on_round)


def _run(
    options: DemoOptions,
    root: Path,
    client: StakingClient,
    transport: EmbeddedTransport,
    ipfs: IpfsClient,
    say: Callable[[str], None],
    on_round: Callable[[RoundReport], None] | None,
) -> DemoResult:
    authority = Keypair()
    participants = [Participant(client, Keypair()) for _ in range(options.participants)]
    for keypair in (authority, *(p.keypair for p in participants)):
        transport.airdrop(keypair.pubkey(), 100 * LAMPORTS_PER_SOL)
    organisation = Organisation(client, ipfs, authority)
    plan = TaskPlan(
        task_id=1,
        reward_pool=options.reward_pool,
        min_stake=options.min_stake,
        max_participants=options.participants,
        rounds=options.rounds,
        committee=options.committee,
    )
    keys = None
    if options.committee is None:
        keys = KeyFiles.create(root / "keys", wallet=participants[0].wallet, scoring=True)
        task = organisation.create_task(
            plan,
            key_holder=participants[0].address,
            public_context=keys.public_context.read_bytes(),
            template_dir=TEMPLATE_DIR,
        )
    else:
        task = organisation.create_task(plan, template_dir=TEMPLATE_DIR)
    on_chain = client.task(task)
    say(
        f"task {task} created: pool {options.reward_pool / LAMPORTS_PER_SOL:g} SOL, "
        f"template {on_chain.template_cid}, decrypted by {on_chain.decrypted_by}"
    )
    for index, participant in enumerate(participants):
        participant.fetch_template(task, ipfs, root / f"template-{index}")
        participant.stake(task, options.min_stake)
    say(f"{len(participants)} participants verified the template by its CID and staked")
    committee = None
    if options.committee is not None:
        # The join window closes; the draw goes through every stake.
        transport.set_unix_timestamp(on_chain.join_deadline + 1)
        organisation.draw_committee(task, [p.address for p in participants])
        drawn = client.task(task)
        committee = TaskCommittee.of_task(drawn)
        say(f"drawn on chain by slot-hash sortition: {drawn.decrypted_by}")
    lamports_in = client.balance(task)
    bundle = fetch_verified(
        ipfs, on_chain.template_cid, what="client template", max_bytes=MAX_BUNDLE_BYTES
    )
    client_app = load_bundle_client(
        bundle, expected_sha256=bundle_sha256(on_chain.template_cid), directory=root / "bundle"
    )
    say(f"participants train with the ClientApp of bundle sha256 {client_app.sha256}")

    result = DemoResult(
        task=task, report=RunReport(), bundle_sha256=client_app.sha256, lamports_in=lamports_in
    )

    def record(report: RoundReport) -> None:
        if report.server_round > 0 and not report.skipped:
            recorded = client.task(task).rounds_recorded
            result.manifest_cids.append(
                organisation.record_round(task, report, round_index=recorded)
            )
        if on_round is not None:
            on_round(report)

    run_config = {
        "dataset": options.dataset,
        "seed": options.seed,
        "num-server-rounds": options.rounds,
        "task-id": str(task),
        "min-nodes": 3,
    }
    gate = StakeGate(
        task=str(task),
        min_stake=options.min_stake,
        stake_lookup=chain_stake_lookup(client, task),
        # A simulated node's first message starts its ClientApp, slow on a busy machine.
        timeout=RunSettings.from_run_config(run_config).stake_proof_timeout,
    )
    result.report = run_federated(
        run_config,
        federation=Federation(
            num_supernodes=options.participants,
            committee=committee,
            keys=keys,
            wallets={i: p.wallet for i, p in enumerate(participants)},
            gate=gate,
            behaviours=options.behaviours(),
            client=client_app,
            kept_updates=root / "updates",
        ),
        on_round=record,
    )
    # The attestors (here in the same process) each recompute the scores from what the
    # chain recorded and they signed, exactly as `fl-app task attest` does, and sign them.
    on_chain = client.task(task)
    rounds = fetch_rounds(client, ipfs, on_chain)
    if committee is not None:
        result.audited_rounds = _audit_own_inputs(rounds, participants, root / "updates")
        say(
            "each participant checked the score shares recorded for its inputs against "
            "the ciphertexts it sent: all its own"
        )
    by_address = {p.address: p for p in participants}
    attestors = [by_address[a] for a in on_chain.attestors[: on_chain.attestor_threshold]]
    final_model = rounds[-1].manifest["model_cid"]
    attestations = []
    for attestor in attestors:
        weights = weights_from_rounds(rounds, [str(p.address) for p in participants], on_chain)
        scores = {p.address: w for p, w in zip(participants, weights, strict=True)}
        attestations.append(final_attestation(attestor.keypair, task, final_model, scores))
    organisation.finalize(task, scores, final_model, attestations)
    say(f"task finalized with scores {list(scores.values())}; final model {final_model}")
    behaviours = options.behaviours()
    for index, participant in enumerate(participants):
        # The claim closes the stake account: its event says what was paid.
        claimed = participant.claim(task)
        result.outcomes.append(
            ParticipantOutcome(
                address=str(participant.address),
                behaviour=behaviours.get(index, Behaviour.HONEST),
                score=claimed.score,
                reward=claimed.reward,
                stake_returned=claimed.stake_returned,
                received=claimed.reward + claimed.stake_returned,
            )
        )
    result.vault_after = client.balance(task)
    if options.close_task:
        result.rent_returned = organisation.close(task)
        say(f"task closed: {result.rent_returned:,} lamports of rent returned to the organisation")
    result.lamports_out = sum(o.received for o in result.outcomes)
    return result


def _audit_own_inputs(
    rounds: list[RecordedRound], participants: list[Participant], kept: Path
) -> dict[str, int]:
    """What `fl-app client audit` does, for every participant: rounds checked, by wallet."""
    return {
        str(p.address): len(audit_own_inputs(rounds, str(p.address), kept / f"partition-{i}"))
        for i, p in enumerate(participants)
    }
