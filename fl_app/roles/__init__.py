"""What the organisation and a participant do on chain and IPFS around a federated task."""

from fl_app.roles.organisation import Organisation, TaskPlan
from fl_app.roles.participant import Participant

__all__ = ["Organisation", "Participant", "TaskPlan"]
