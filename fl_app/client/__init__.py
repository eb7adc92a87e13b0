"""The participant's side: a Flower ClientApp that trains on local, private data."""

# Flower loads the app as ``fl_app.client.client_app:app``; the modules are the API.
__all__ = ["behaviour", "client_app", "fetch", "launch"]
