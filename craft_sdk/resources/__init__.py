"""The API's resources: call builders plus their sync and async shells."""

from .deployments import AsyncDeployments, Deployments
from .files import AsyncFiles, Files
from .oauth import AsyncOAuth, OAuth
from .projects import AsyncProjects, Projects

__all__ = [
    "AsyncDeployments",
    "AsyncFiles",
    "AsyncOAuth",
    "AsyncProjects",
    "Deployments",
    "Files",
    "OAuth",
    "Projects",
]
