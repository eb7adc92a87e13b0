"""Keys of the records carried in Flower messages, spelled once for server and client."""

from __future__ import annotations

# Flower's round number in every ConfigRecord, and FedAvg's weight metric.
from strategy.constants import NUM_EXAMPLES as NUM_EXAMPLES
from strategy.constants import SERVER_ROUND as SERVER_ROUND

ARRAYS = "arrays"
"""ArrayRecord holding model parameters (and buffers) in state-dict order."""

CONFIG = "config"
"""ConfigRecord the server sends with each train or evaluate message."""

METRICS = "metrics"
"""MetricRecord a client returns with its reply."""

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
