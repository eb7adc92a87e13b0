"""The participant's side: fetch and verify the task's bundle, run only that bundle."""

# The ClientApp itself is client_template/client.py, inside the task's Flower App Bundle.
__all__ = [
    "behaviour",
    "bundle_app",
    "fetch",
    "launch",
    "node",
    "privacy_floor",
    "prompt_supernode",
    "verified_app",
    "verified_superexec",
]
