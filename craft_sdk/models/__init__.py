"""Typed objects of the Craft API."""

from ._base import CraftModel, Timestamp
from .projects import DeletedProject, Project, ProjectSettings, ProjectStats, ProjectStatus
from .users import User

__all__ = [
    "CraftModel",
    "DeletedProject",
    "Project",
    "ProjectSettings",
    "ProjectStats",
    "ProjectStatus",
    "Timestamp",
    "User",
]
