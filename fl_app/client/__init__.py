"""The participant's side: a Flower ClientApp that trains on local, private data."""
