"""A local web dashboard of a task: its rounds, participants and chain transactions."""

from fl_app.dashboard.demo_feed import DemoDashboard
from fl_app.dashboard.observed_transport import ObservedTransport
from fl_app.dashboard.server import DashboardError, DashboardServer
from fl_app.dashboard.state import DashboardState
from fl_app.dashboard.views import (
    DashboardSnapshot,
    ParticipantView,
    RoundView,
    TaskView,
    TransactionView,
)
from fl_app.dashboard.web import create_app

__all__ = [
    "DashboardError",
    "DashboardServer",
    "DashboardSnapshot",
    "DashboardState",
    "DemoDashboard",
    "ObservedTransport",
    "ParticipantView",
    "RoundView",
    "TaskView",
    "TransactionView",
    "create_app",
]
