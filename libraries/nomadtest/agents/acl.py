"""ACL tokens that tests create on a cluster with ACLs on: handed out as Secrets, logged by accessor."""

from __future__ import annotations

from robot.api import logger
from robot.api.types import Secret

from nomadtest.api.client import NomadClient, api_path
from nomadtest.api.tokens import as_secret
from nomadtest.registry import Agent


def create_token(agent: Agent, name: str, policies: list[str], token_type: str) -> Secret:
    """A new token of ``token_type`` (``client`` or ``management``) with ``policies``, made with the agent's token."""
    created = agent.client.put(api_path("acl", "token"), {"Name": name, "Type": token_type, "Policies": policies})
    logger.info(f"Created ACL token '{name}' (accessor {created['AccessorID']}), policies: {', '.join(policies)}.")
    return Secret(created["SecretID"])


def delete_token(agent: Agent, token: Secret | str) -> None:
    """Deletes the token whose secret is ``token``; it says itself which accessor it has."""
    secret = as_secret(token)
    if secret is None:
        raise ValueError("No token to delete: the token given is empty.")
    if agent.attached is not None:
        own = agent.attached.client(token=secret)
    else:
        own = NomadClient(agent.address, token=secret, direct=True)
    try:
        accessor = own.get(api_path("acl", "token", "self"))["AccessorID"]
    finally:
        own.close()
    agent.client.delete(api_path("acl", "token", accessor))
    logger.info(f"Deleted ACL token {accessor}.")
