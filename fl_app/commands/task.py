"""``fl-app task create | draw | status | rounds | finalize | expire | close``: the
organisation's task."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from fl_app.commands.command_parser import add_command, open_ipfs, signer
from fl_app.commands.output import Output
from fl_app.errors import FlAppError
from fl_app.ipfs.template import TEMPLATE_DIR

if TYPE_CHECKING:
    from solders.pubkey import Pubkey

    from fl_app.commands.cluster import ChainSession

__all__ = ["register"]

# Task ids tried when --task-id is not given; an organisation rarely has more.
_MAX_AUTO_TASK_ID = 1_000
_FEE_LAMPORTS = 5_000


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``task`` and its subcommands."""
    from fl_app.commands import task_audit, task_close, task_dashboard

    task = commands.add_parser("task", help="create, inspect and settle a staked task")
    group = task.add_subparsers(dest="task_command", required=True, metavar="COMMAND")
    create = add_command(
        group,
        "create",
        _create,
        help="pin the task's bundle and CKKS scheme, then create and fund a task",
        description="Build the client template into the task's Flower App Bundle, pin it "
        "and the task's encryption scheme to IPFS, create the task on chain with both CIDs "
        "(the bundle's CID carries its SHA-256), and move the reward pool into it. By "
        "default a committee of stakers, drawn after the join deadline, makes the key and "
        "decrypts (--committee); with --key-holder and --context one participant holds "
        "the whole key instead. A template holding a keypair, sealed secret or secret "
        "context is refused. Prints the task address.",
        keypair=True,
        ipfs=True,
    )
    create.add_argument("--pool", required=True, metavar="SOL", help="reward pool in SOL")
    create.add_argument("--min-stake", required=True, metavar="SOL", help="minimum stake")
    create.add_argument(
        "--rounds", required=True, type=int, metavar="N", help="federated rounds planned"
    )
    create.add_argument("--max-participants", required=True, type=int, metavar="N")
    create.add_argument(
        "--committee",
        metavar="N/T",
        help="decryption committee: N stakers drawn after the join deadline, T of whom "
        "decrypt each round, a strict majority (default 5/3, or all of fewer "
        "--max-participants)",
    )
    create.add_argument(
        "--key-holder",
        metavar="ADDRESS",
        help="instead of a committee: the one wallet that holds the key (from fl-app keys "
        "create), for a consortium that trusts it",
    )
    create.add_argument(
        "--context", type=Path, help="with --key-holder: public_context.bin from fl-app keys create"
    )
    create.add_argument("--task-id", type=int, metavar="N", help="default: your first unused id")
    create.add_argument("--join-window", default="1h", help="staking stays open this long")
    create.add_argument("--settle-window", default="7d", help="time to finalize the task")
    create.add_argument("--grace", default="1d", help="after that, anyone can expire it")
    create.add_argument(
        "--max-slash-bps",
        type=int,
        default=2_000,
        metavar="BPS",
        help="most of a stake a slash may take",
    )
    create.add_argument(
        "--template",
        type=Path,
        default=TEMPLATE_DIR,
        metavar="DIR",
        help="the task's Flower App (pyproject.toml and client.py)",
    )
    draw = add_command(
        group,
        "draw",
        _draw,
        help="draw the task's decryption committee from its stakers, after the join deadline",
        description="Go through every stake of the task in ascending order; the program "
        "seeds the draw with the latest slot hash and seats the stakers with the lowest "
        "tickets. Anyone may run it, within a day of the join deadline; training starts "
        "once it is done. Prints the members' wallets.",
        keypair=True,
    )
    draw.add_argument("task", metavar="TASK", help="task address")
    status = add_command(
        group,
        "status",
        _status,
        help="state, pool, stakes, deadlines, CIDs, participants",
        chain=True,
    )
    status.add_argument("task", metavar="TASK", help="task address")
    task_audit.register(group)
    task_dashboard.register(group)
    expire = add_command(
        group,
        "expire",
        _expire,
        help="expire a task not settled by its deadline plus grace (anyone may)",
        keypair=True,
    )
    expire.add_argument("task", metavar="TASK", help="task address")
    task_close.register(group)


def _create(args: argparse.Namespace, out: Output) -> int:
    from fl_app.chain import TaskParams, task_address
    from fl_app.commands.amounts import format_sol, parse_duration, parse_sol
    from fl_app.commands.cluster import open_chain, parse_address
    from fl_app.commands.program_errors import explained
    from fl_app.commands.task_view import account_space
    from fl_app.ipfs import bundle_sha256, pack_bundle, pin_bundle
    from fl_app.roles.organisation import NO_KEY_HOLDER, committee_scheme

    pool = parse_sol(args.pool, what="--pool")
    min_stake = parse_sol(args.min_stake, what="--min-stake")
    windows = {
        "join": parse_duration(args.join_window, what="--join-window"),
        "settle": parse_duration(args.settle_window, what="--settle-window"),
        "grace": parse_duration(args.grace, what="--grace"),
    }
    _check_task_shape(args.rounds, args.max_participants)
    if (args.key_holder is None) != (args.context is None):
        raise FlAppError(
            "--key-holder and --context go together: the key holder's address and its "
            "public_context.bin from fl-app keys create"
        )
    if args.key_holder is not None and args.committee is not None:
        raise FlAppError("a task has a committee or a key holder: give --committee or --key-holder")
    key_holder, committee = None, None
    if args.key_holder is not None:
        key_holder = parse_address(args.key_holder, what="--key-holder")
        _check_public_context(args.context)
        scheme = args.context.read_bytes()
    else:
        committee = parse_committee(args.committee, args.max_participants)
        scheme = committee_scheme(*committee)
    if not (args.template / "pyproject.toml").is_file():
        raise FlAppError(f"{args.template} is not a Flower App (it has no pyproject.toml)")
    bundle = pack_bundle(args.template)
    authority = signer(args)
    if key_holder is not None and key_holder == authority.pubkey():
        raise FlAppError(
            "the key holder must not be the organisation's own wallet: pass the address "
            "printed by the key holder's fl-app keys create"
        )
    with open_chain(args) as chain:
        transport = chain.client.transport
        task_id = (
            args.task_id if args.task_id is not None else _free_task_id(chain, authority.pubkey())
        )
        address = task_address(authority.pubkey(), task_id)
        if transport.get_account(address) is not None:
            raise FlAppError(
                f"task id {task_id} of wallet {authority.pubkey()} exists already "
                f"({address}): choose another --task-id"
            )
        rent = transport.minimum_balance_for_rent_exemption(account_space("Task"))
        chain.require_funds(
            authority, pool + rent + _FEE_LAMPORTS, action="task create", keypair=args.keypair
        )
        with open_ipfs(args) as ipfs, out.progress("pinning to IPFS", total=2) as step:
            template_cid = pin_bundle(ipfs, bundle)
            step()
            context_cid = ipfs.add_bytes(
                scheme, name="ckks-public-context" if committee is None else "ckks-scheme.json"
            )
            step()
        now = transport.unix_timestamp()
        params = TaskParams(
            task_id=task_id,
            reward_pool=pool,
            min_stake=min_stake,
            max_participants=args.max_participants,
            rounds_planned=args.rounds,
            join_deadline=now + windows["join"],
            settle_deadline=now + windows["join"] + windows["settle"],
            grace_period=windows["grace"],
            max_slash_bps=args.max_slash_bps,
            key_holder=key_holder or NO_KEY_HOLDER,
            template_cid=template_cid,
            he_context_cid=context_cid,
        )
        with explained(task=address, wallet=authority.pubkey(), keypair=args.keypair):
            chain.client.task_create(authority, params, committee=committee)
    out.result(
        {
            "task": str(address),
            "task_id": task_id,
            "template_cid": template_cid,
            "template_sha256": bundle_sha256(template_cid),
            "he_context_cid": context_cid,
            "reward_pool_lamports": pool,
            "min_stake_lamports": min_stake,
            "key_holder": None if key_holder is None else str(key_holder),
            "committee": (
                None if committee is None else {"size": committee[0], "threshold": committee[1]}
            ),
        },
        text=[
            f"task: {address}",
            f"reward pool {format_sol(pool)} SOL, minimum stake {format_sol(min_stake)} SOL, "
            f"{args.rounds} rounds, up to {args.max_participants} participants",
            f"template CID: {template_cid}",
            f"template SHA-256: {bundle_sha256(template_cid)}",
            f"CKKS context CID: {context_cid}",
            (
                f"decrypted by: key holder {key_holder}"
                if committee is None
                else f"decrypted by: a committee of {committee[0]} stakers, {committee[1]} "
                f"decrypting, drawn after the join deadline with: fl-app task draw {address}"
            ),
            f"participants join with: fl-app stake {address} {format_sol(min_stake)}",
        ],
        quiet=str(address),
    )
    return 0


def parse_committee(text: str | None, participants: int) -> tuple[int, int]:
    """``(size, threshold)`` from ``N/T``; by default 5/3, or every one of fewer
    ``participants`` with the smallest strict majority.

    Raises
    ------
    FlAppError
        If it is not ``N/T``, ``T`` is no strict majority of ``N`` (at least 2), or ``N``
        exceeds ``participants``.
    """
    if text is None:
        size = min(5, participants)
        return size, size // 2 + 1
    size_text, sep, threshold_text = text.partition("/")
    if not (sep and size_text.isdigit() and threshold_text.isdigit()):
        raise FlAppError(f"--committee takes N/T, e.g. 5/3; got {text!r}")
    size, threshold = int(size_text), int(threshold_text)
    if not 2 <= threshold <= size <= participants or 2 * threshold <= size:
        raise FlAppError(
            f"--committee {text}: T must be a strict majority of N (N/2 < T <= N, T >= 2) "
            f"and N at most the {participants} participants"
        )
    return size, threshold


def _check_task_shape(rounds: int, max_participants: int) -> None:
    """Refuse a task the program would refuse, before anything is pinned or spent."""
    from fl_app.chain.idl import load_spec

    most = load_spec().max_participants
    if rounds < 1:
        raise FlAppError(f"--rounds must be at least 1, got {rounds}")
    if not 2 <= max_participants <= most:
        raise FlAppError(
            f"--max-participants must be 2 to {most} (encrypted rounds sum at least two "
            f"updates; the staking program takes at most {most}), got {max_participants}"
        )


def _check_public_context(path: Path) -> None:
    """Refuse anything but a public CKKS context: it is published on IPFS for everyone."""
    from strategy.ckks import load_public_context
    from strategy.exceptions import SecretKeyExposedError

    if not path.is_file():
        raise FlAppError(
            f"no CKKS context at {path}: the key holder makes public_context.bin "
            "with fl-app keys create"
        )
    try:
        load_public_context(path.read_bytes())
    except SecretKeyExposedError:
        raise FlAppError(
            f"{path} holds the CKKS secret key and would be published: pass the key "
            "holder's public_context.bin, and keep this file secret"
        ) from None
    except Exception:  # TenSEAL raises its own types for bytes that are not a context
        raise FlAppError(
            f"{path} is not a CKKS context: pass public_context.bin from fl-app keys create"
        ) from None


def _free_task_id(chain: ChainSession, owner: Pubkey) -> int:
    from fl_app.chain import task_address

    for task_id in range(1, _MAX_AUTO_TASK_ID + 1):
        if chain.client.transport.get_account(task_address(owner, task_id)) is None:
            return task_id
    raise FlAppError(f"wallet {owner} has {_MAX_AUTO_TASK_ID} tasks: pass --task-id")


def _draw(args: argparse.Namespace, out: Output) -> int:
    from fl_app.chain.client import COMMITTEE_DRAW_BATCH
    from fl_app.commands.cluster import open_chain, parse_address
    from fl_app.commands.program_errors import explained
    from fl_app.commands.stakers import list_stakes
    from fl_app.commands.task_view import when

    address = parse_address(args.task, what="task")
    caller = signer(args)
    with open_chain(args) as chain:
        task = chain.task(address)
        now = chain.client.transport.unix_timestamp()
        if not task.committee_size:
            raise FlAppError(f"task {address} has a key holder, {task.key_holder}: no committee")
        if not task.committee_drawn:
            if now <= task.join_deadline:
                raise FlAppError(
                    f"task {address} takes stakes until {when(task.join_deadline, now)}: its "
                    "committee is drawn after that"
                )
            stakes = list_stakes(chain.cluster, address)
            if len(stakes) < task.committee_size:
                raise FlAppError(
                    f"task {address} has {len(stakes)} stake(s), fewer than its committee of "
                    f"{task.committee_size}: it cannot run, and expires"
                )
            batches = -(-len(stakes) // COMMITTEE_DRAW_BATCH)
            chain.require_funds(
                caller, batches * _FEE_LAMPORTS, action="task draw", keypair=args.keypair
            )
            with explained(task=address, wallet=caller.pubkey(), keypair=args.keypair):
                chain.client.committee_draw(caller, address, [s.participant for s in stakes])
            task = chain.task(address)
    members = [str(a) for a in task.attestors]
    out.result(
        {"task": str(address), "threshold": task.attestor_threshold, "members": members},
        text=[
            f"committee of task {address}, {task.attestor_threshold} of whom decrypt each round:",
            *(f"  {m}" for m in members),
        ],
        quiet=" ".join(members),
    )
    return 0


def _status(args: argparse.Namespace, out: Output) -> int:
    from fl_app.commands.cluster import open_chain, parse_address
    from fl_app.commands.stakers import ListingUnsupportedError, list_stakes
    from fl_app.commands.task_view import stake_json, stake_line, task_json, task_lines

    address = parse_address(args.task, what="task")
    with open_chain(args) as chain:
        task = chain.task(address)
        now = chain.client.transport.unix_timestamp()
        try:
            stakes = list_stakes(chain.cluster, address)
            listing = None
        except ListingUnsupportedError as err:
            stakes, listing = [], str(err)
    lines = task_lines(task, now)
    if listing is not None:
        lines.append(f"participants: not listed ({listing})")
    elif stakes:
        lines.append("participants:")
        lines.extend(stake_line(s) for s in stakes)
    else:
        lines.append("participants: none yet")
    data = task_json(task) | {"chain_time": now, "stakes": [stake_json(s) for s in stakes]}
    out.result(data, text=lines, quiet=task.state.value)
    return 0


def _expire(args: argparse.Namespace, out: Output) -> int:
    from fl_app.commands.cluster import open_chain, parse_address
    from fl_app.commands.program_errors import explained
    from fl_app.commands.task_view import expires_at, when

    address = parse_address(args.task, what="task")
    caller = signer(args)
    with open_chain(args) as chain:
        task = chain.task(address)
        now = chain.client.transport.unix_timestamp()
        context = {
            "task": address,
            "wallet": caller.pubkey(),
            "state": task.state.value.lower(),
            "expires": when(expires_at(task), now),
        }
        with explained(**context):
            chain.client.task_expire(caller, address)
        after = chain.task(address)
    out.result(
        {"task": str(address), "state": after.state.value},
        text=[
            f"task {address} expired: every stake returns in full and the pool is split "
            f"among the {after.contributors} participants who contributed",
            f"participants collect with: fl-app claim {address}",
        ],
        quiet=after.state.value,
    )
    return 0
