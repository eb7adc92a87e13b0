pytest_plugins = ["tests.ipfs_fixtures"]
