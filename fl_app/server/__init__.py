"""The organisation's side: a Flower ServerApp that runs the federated task."""

# Flower loads the app as ``fl_app.server.server_app:app``; the modules are the API.
__all__ = ["launch", "metrics", "reference", "server_app", "task_services"]
