// Drives the local chain service with Solana's own JavaScript clients, as a dapp would:
// @solana/web3.js for accounts, airdrops, v0 transactions, fees, simulation and
// subscriptions, and @coral-xyz/anchor for the staking program through its IDL
// (`program.methods...rpc()` confirms over the PubSub websocket).
//
//   node localnet.js RPC_URL IDL_PATH PROGRAM_ID
//
// Prints one "ok <step>" line per step and exits non-zero with the reason on failure.
"use strict";

const assert = require("node:assert/strict");
const crypto = require("node:crypto");
const fs = require("node:fs");
const anchor = require("@coral-xyz/anchor");
const web3 = require("@solana/web3.js");

const { BN } = anchor;
const SOL = web3.LAMPORTS_PER_SOL;
const CID = "bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi";
const WAIT_MS = 60_000;

// -- the program's instruction arguments, in one place (they follow the IDL) ---------

function taskCreateArgs({ taskId, now, keyHolder }) {
  return {
    taskId: new BN(taskId),
    rewardPool: new BN(2 * SOL),
    minStake: new BN(SOL / 10),
    maxParticipants: 5,
    roundsPlanned: 3,
    joinDeadline: new BN(now + 600),
    settleDeadline: new BN(now + 1200),
    gracePeriod: new BN(60),
    maxSlashBps: 2000,
    keyHolder,
    templateCid: CID,
    heContextCid: CID,
  };
}

function stakeDepositArgs(amount) {
  return { amount: new BN(amount) };
}

function taskAddress(programId, authority, taskId) {
  const seeds = [Buffer.from("task"), authority.toBuffer(), new BN(taskId).toArrayLike(Buffer, "le", 8)];
  return web3.PublicKey.findProgramAddressSync(seeds, programId)[0];
}

function stakeAddress(programId, task, participant) {
  const seeds = [Buffer.from("stake"), task.toBuffer(), participant.toBuffer()];
  return web3.PublicKey.findProgramAddressSync(seeds, programId)[0];
}

function roundAddress(programId, task, roundIndex) {
  const index = Buffer.alloc(4);
  index.writeUInt32LE(roundIndex);
  return web3.PublicKey.findProgramAddressSync([Buffer.from("round"), task.toBuffer(), index], programId)[0];
}

// What the key holder signs for a round (strategy/attestation.py, round_message): the
// contributors as a chained SHA-256 over their keys in ascending byte order.
function roundMessage(task, roundIndex, manifestDigest, contributors) {
  let digest = Buffer.alloc(32);
  for (const key of contributors.map((k) => k.toBuffer()).sort(Buffer.compare)) {
    digest = crypto.createHash("sha256").update(Buffer.concat([digest, key])).digest();
  }
  const u32 = (n) => {
    const bytes = Buffer.alloc(4);
    bytes.writeUInt32LE(n);
    return bytes;
  };
  const message = Buffer.concat([
    Buffer.from("fl-app/round-attestation/v1"),
    task.toBuffer(),
    u32(roundIndex),
    manifestDigest,
    u32(contributors.length),
    digest,
  ]);
  return { message, contributorsDigest: digest };
}

// -- helpers -------------------------------------------------------------------------

function step(name) {
  console.log(`ok ${name}`);
}

function within(promise, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), WAIT_MS);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

async function airdrop(connection, address, lamports) {
  const signature = await connection.requestAirdrop(address, lamports);
  const latest = await connection.getLatestBlockhash();
  const result = await connection.confirmTransaction({ signature, ...latest }, "confirmed");
  assert.equal(result.value.err, null);
}

// -- the scenario --------------------------------------------------------------------

async function main() {
  const [url, idlPath, programAddress] = process.argv.slice(2);
  const idl = JSON.parse(fs.readFileSync(idlPath, "utf8"));
  const connection = new web3.Connection(url, "confirmed");

  const version = await connection.getVersion();
  assert.equal(typeof version["feature-set"], "number");
  step("getVersion reports a feature set");

  const organisation = web3.Keypair.generate();
  const participant = web3.Keypair.generate();
  await airdrop(connection, organisation.publicKey, 10 * SOL);
  await airdrop(connection, participant.publicKey, 2 * SOL);
  assert.equal(await connection.getBalance(organisation.publicKey), 10 * SOL);
  step("airdrops confirmed over the websocket");

  const slots = [];
  const slotSub = connection.onSlotChange((info) => slots.push(info.slot));
  const provider = new anchor.AnchorProvider(connection, new anchor.Wallet(organisation), {
    commitment: "confirmed",
  });
  const programId = new web3.PublicKey(programAddress);
  const program = new anchor.Program(idl, programId, provider);

  const seenLogs = [];
  const logsSub = connection.onLogs(programId, (logs) => seenLogs.push(logs), "confirmed");
  const taskId = Date.now();
  const task = taskAddress(programId, organisation.publicKey, taskId);
  const changes = [];
  const accountSub = connection.onAccountChange(task, (info) => changes.push(info.lamports));
  // Let the subscriptions be registered before anything happens.
  await new Promise((resolve) => setTimeout(resolve, 500));

  const clock = await connection.getAccountInfo(web3.SYSVAR_CLOCK_PUBKEY);
  const now = Number(clock.data.readBigInt64LE(32));
  assert.ok(Math.abs(now - Date.now() / 1000) < 120, "the chain's clock follows wall time");
  const keyHolder = web3.Keypair.generate();
  const createSig = await program.methods
    .taskCreate(taskCreateArgs({ taskId, now, keyHolder: keyHolder.publicKey }))
    .accounts({ authority: organisation.publicKey, task, systemProgram: web3.SystemProgram.programId })
    .rpc();
  assert.ok(createSig.length > 60);
  step("taskCreate through program.methods...rpc()");

  const created = await program.account.task.fetch(task);
  assert.equal(created.rewardPool.toString(), String(2 * SOL));
  assert.ok(created.authority.equals(organisation.publicKey));
  step("task account fetched and decoded");

  const stake = stakeAddress(programId, task, participant.publicKey);
  const stakeAccounts = {
    participant: participant.publicKey,
    task,
    stake,
    systemProgram: web3.SystemProgram.programId,
  };
  // The participant's own app: its wallet signs (Anchor 0.29's simulate() verifies the
  // signatures and, given extra .signers(), drops the wallet's, as a validator would see).
  const asParticipant = new anchor.Program(
    idl,
    programId,
    new anchor.AnchorProvider(connection, new anchor.Wallet(participant), { commitment: "confirmed" }),
  );
  const simulated = await asParticipant.methods
    .stakeDeposit(stakeDepositArgs(SOL / 2))
    .accounts(stakeAccounts)
    .simulate();
  assert.ok(simulated.raw.some((line) => line.includes("Instruction: StakeDeposit")));
  assert.equal(await connection.getAccountInfo(stake), null); // nothing was recorded
  step("stakeDeposit simulated, nothing recorded");

  await asParticipant.methods.stakeDeposit(stakeDepositArgs(SOL / 2)).accounts(stakeAccounts).rpc();
  const staked = await program.account.stake.fetch(stake);
  assert.equal(staked.amount.toString(), String(SOL / 2));
  const stakes = await program.account.stake.all([
    { memcmp: { offset: 8, bytes: task.toBase58() } },
  ]);
  assert.equal(stakes.length, 1);
  assert.ok(stakes[0].publicKey.equals(stake));
  step("stakeDeposit through rpc(), stakes listed by memcmp filter");

  const sliced = await connection.getProgramAccounts(programId, {
    dataSlice: { offset: 0, length: 8 },
    withContext: true,
    filters: [{ memcmp: { offset: 8, bytes: task.toBase58() } }],
  });
  assert.ok(sliced.context.slot > 0);
  assert.equal(sliced.value.length, 1);
  assert.equal(sliced.value[0].account.data.length, 8);
  step("getProgramAccounts with dataSlice and withContext");

  // A round is credited only with the key holder's signature, carried by web3.js's own
  // Ed25519 program instruction before the staking instruction.
  const roundIndex = 0;
  const manifestDigest = crypto.createHash("sha256").update("round 1 manifest").digest();
  const attested = roundMessage(task, roundIndex, manifestDigest, [participant.publicKey]);
  const round = roundAddress(programId, task, roundIndex);
  const record = () =>
    program.methods
      .roundRecord({
        roundIndex,
        manifestCid: CID,
        aggregateCid: null,
        contributors: 1,
        manifestDigest: [...manifestDigest],
        contributorsDigest: [...attested.contributorsDigest],
      })
      .accounts({
        authority: organisation.publicKey,
        task,
        round,
        instructionsSysvar: web3.SYSVAR_INSTRUCTIONS_PUBKEY,
        systemProgram: web3.SystemProgram.programId,
      });
  const signedBy = (signer) =>
    web3.Ed25519Program.createInstructionWithPrivateKey({
      privateKey: signer.secretKey,
      message: attested.message,
    });
  await assert.rejects(record().preInstructions([signedBy(organisation)]).rpc(), /AttestationMissing/);
  await record().preInstructions([signedBy(keyHolder)]).rpc();
  await program.methods
    .roundCredit({ roundIndex })
    .accounts({ authority: organisation.publicKey, task, round })
    .remainingAccounts([{ pubkey: stake, isWritable: true, isSigner: false }])
    .rpc();
  assert.equal((await program.account.stake.fetch(stake)).roundsContributed, 1);
  step("roundRecord attested by the key holder's Ed25519 signature; the organisation's refused");

  await within(
    (async () => {
      while (seenLogs.length < 2 || changes.length < 2 || slots.length < 1) {
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    })(),
    "log, account and slot notifications",
  );
  const logLines = seenLogs.flatMap((entry) => entry.logs);
  assert.ok(logLines.some((line) => line.includes("Instruction: TaskCreate")));
  assert.ok(logLines.some((line) => line.includes("Instruction: StakeDeposit")));
  assert.equal(changes[changes.length - 1], await connection.getBalance(task));
  step("logs, account and slot subscriptions notified");
  await connection.removeOnLogsListener(logsSub);
  await connection.removeAccountChangeListener(accountSub);
  await connection.removeSlotChangeListener(slotSub);

  const latest = await connection.getLatestBlockhash();
  assert.ok(latest.lastValidBlockHeight >= (await connection.getBlockHeight()) + 100);
  const receiver = web3.Keypair.generate().publicKey;
  const message = new web3.TransactionMessage({
    payerKey: participant.publicKey,
    recentBlockhash: latest.blockhash,
    instructions: [
      web3.SystemProgram.transfer({ fromPubkey: participant.publicKey, toPubkey: receiver, lamports: SOL / 10 }),
    ],
  }).compileToV0Message();
  const fee = await connection.getFeeForMessage(message);
  assert.ok(fee.value > 0);
  assert.equal((await connection.isBlockhashValid(latest.blockhash)).value, true);
  const v0 = new web3.VersionedTransaction(message);
  v0.sign([participant]);
  const preview = await connection.simulateTransaction(v0);
  assert.equal(preview.value.err, null);
  const v0Sig = await connection.sendTransaction(v0);
  const confirmed = await connection.confirmTransaction({ signature: v0Sig, ...latest });
  assert.equal(confirmed.value.err, null);
  assert.equal(await connection.getBalance(receiver), SOL / 10);
  const fetched = await connection.getTransaction(v0Sig, { maxSupportedTransactionVersion: 0 });
  assert.equal(fetched.version, 0);
  assert.equal(fetched.meta.fee, fee.value);
  step("v0 transaction: fee, simulation, send, confirm, fetch");
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(`failed: ${err && err.stack ? err.stack : err}`);
    process.exit(1);
  },
);
