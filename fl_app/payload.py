"""Keys of the records carried in Flower messages, spelled once for server and client."""

from __future__ import annotations

ARRAYS = "arrays"
"""ArrayRecord holding model parameters (and buffers) in state-dict order."""

CONFIG = "config"
"""ConfigRecord the server sends with each train or evaluate message."""

METRICS = "metrics"
"""MetricRecord a client returns with its reply."""

NUM_EXAMPLES = "num-examples"
"""Metric used as FedAvg weight (McMahan et al. 2017)."""

SERVER_ROUND = "server-round"
"""Round number that Flower's strategies inject into every ConfigRecord."""

TRAIN_LOSS = "train-loss"
EVAL_LOSS = "eval-loss"
EVAL_ACCURACY = "eval-acc"
DP_EPSILON = "dp-epsilon"
"""Privacy budget a participant has spent so far (Opacus RDP accountant)."""

PARTITION_ID = "partition-id"
NUM_PARTITIONS = "num-partitions"
DATA_PATH = "data-path"
TARGET_COLUMN = "target-column"
"""Node-config keys: a simulated partition, or a participant's own CSV file."""
