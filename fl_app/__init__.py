"""Staked, encrypted federated learning on Flower, IPFS and Solana."""

__all__ = ["chain", "client", "ipfs", "ml", "roles", "server", "settings", "simulation"]
