"""Slot packings: two reals per slot for aggregation keys, one for scoring keys."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import tenseal as ts
import tenseal.sealapi as sealapi

from strategy import KeyMaterial
from strategy import packing as packing_module
from strategy.ckks import load_public_context, load_secret_context
from strategy.exceptions import CiphertextSizeError, MalformedCiphertextError
from strategy.packing import SCALE, ComplexPacking, RealPacking, packing_for

NUM_VALUES = 5000  # one full ciphertext of 4096 values and one partly filled


def test_task_keys_choose_the_packing(
    ckks_keys: KeyMaterial, scoring_ckks_keys: KeyMaterial
) -> None:
    assert isinstance(packing_for(load_public_context(ckks_keys.public_context)), ComplexPacking)
    scoring = packing_for(load_public_context(scoring_ckks_keys.public_context))
    assert isinstance(scoring, RealPacking)


def test_complex_packing_sums_real_and_imaginary_halves(ckks_keys: KeyMaterial) -> None:
    public = packing_for(load_public_context(ckks_keys.public_context))
    secret = packing_for(load_secret_context(ckks_keys.secret_context))
    rng = np.random.default_rng(0)
    updates = [rng.uniform(-20, 20, NUM_VALUES) for _ in range(3)]
    chunks = [public.encrypt(update) for update in updates]
    assert [len(c) for c in chunks] == [2, 2, 2]

    total = public.add([public.load(c, NUM_VALUES) for c in chunks])
    serialized = public.serialize(total)
    decrypted = secret.decrypt(secret.load(serialized, NUM_VALUES), NUM_VALUES)

    assert decrypted.shape == (NUM_VALUES,)
    np.testing.assert_allclose(decrypted, np.sum(updates, axis=0), rtol=0, atol=1e-4)


def test_serialization_is_deterministic(ckks_keys: KeyMaterial) -> None:
    packing = packing_for(load_public_context(ckks_keys.public_context))
    chunks = packing.encrypt(np.linspace(-1, 1, NUM_VALUES))
    assert packing.serialize(packing.load(chunks, NUM_VALUES)) == chunks


def _rescaled(context: ts.Context) -> Any:
    seal = context.data.seal_context()
    plain = sealapi.Plaintext()
    sealapi.CKKSEncoder(seal).encode([0.5] * 8, SCALE / 4, plain)
    cipher = sealapi.Ciphertext(seal)
    context.data.encryptor().encrypt(plain, cipher)
    return cipher


def _three_parts(context: ts.Context) -> Any:
    seal = context.data.seal_context()
    cipher = sealapi.Ciphertext(seal)
    context.data.encryptor().encrypt_zero(cipher)
    cipher.resize(seal, 3)
    return cipher


@pytest.mark.parametrize("forge", [_rescaled, _three_parts], ids=["other-scale", "three-parts"])
def test_load_refuses_ciphertexts_that_are_not_fresh_updates(
    ckks_keys: KeyMaterial, forge: Callable[[ts.Context], Any]
) -> None:
    context = load_public_context(ckks_keys.public_context)
    packing = packing_for(context)
    with pytest.raises(MalformedCiphertextError, match="level and scale"):
        packing.load(packing.serialize([forge(context)]), 8)


def test_load_refuses_other_parameters_and_truncated_bytes(ckks_keys: KeyMaterial) -> None:
    packing = packing_for(load_public_context(ckks_keys.public_context))
    other = ts.context(ts.SCHEME_TYPE.CKKS, poly_modulus_degree=8192, coeff_mod_bit_sizes=[40, 40])
    other.global_scale = SCALE
    foreign = ComplexPacking(other).encrypt(np.ones(8))
    with pytest.raises(MalformedCiphertextError, match="chunk 0"):
        packing.load(foreign, 8)
    chunk = packing.encrypt(np.ones(8))[0]
    with pytest.raises(MalformedCiphertextError, match="chunk 0"):
        packing.load([chunk[: len(chunk) // 2]], 8)


def test_load_refuses_the_wrong_number_of_chunks(ckks_keys: KeyMaterial) -> None:
    packing = packing_for(load_public_context(ckks_keys.public_context))
    with pytest.raises(CiphertextSizeError, match="expected 2 ciphertext chunks"):
        packing.load(packing.encrypt(np.ones(100)), NUM_VALUES)


def test_ciphertexts_leave_no_scratch_files(ckks_keys: KeyMaterial) -> None:
    packing = packing_for(load_public_context(ckks_keys.public_context))
    packing.load(packing.encrypt(np.ones(NUM_VALUES)), NUM_VALUES)
    with pytest.raises(MalformedCiphertextError):
        packing.load([b"not a ciphertext"], 8)
    assert not list(packing_module.SCRATCH_DIR.glob(f"ckks-{os.getpid()}-*"))
