"""Staked, encrypted federated learning on Flower, IPFS and Solana."""
