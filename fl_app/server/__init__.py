"""The organisation's side: a Flower ServerApp that runs the federated task."""
