"""Typed objects of the Craft API."""

from ._base import CraftModel, Timestamp
from .deployments import Deployment, DeploymentEnvironment, DeploymentStatus
from .files import DeletedFile, DownloadedFile, FileEntry, FileType
from .oauth import Token
from .projects import DeletedProject, Project, ProjectSettings, ProjectStats, ProjectStatus
from .users import User

__all__ = [
    "CraftModel",
    "DeletedFile",
    "DeletedProject",
    "Deployment",
    "DeploymentEnvironment",
    "DeploymentStatus",
    "DownloadedFile",
    "FileEntry",
    "FileType",
    "Project",
    "ProjectSettings",
    "ProjectStats",
    "ProjectStatus",
    "Timestamp",
    "Token",
    "User",
]
