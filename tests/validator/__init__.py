"""Staking scenarios run over JSON-RPC against solana-test-validator."""
