"""Keywords that create and delete ACL tokens on a cluster with ACLs on."""

from __future__ import annotations

from robot.api.deco import keyword
from robot.api.types import Secret

from nomadtest.agents import acl
from nomadtest.library import LIFECYCLE, LibraryComponent
from nomadtest.registry import REGISTRY


class AccessControl(LibraryComponent):
    """ACL tokens whose secrets stay out of the logs."""

    @keyword("Create ACL Token", tags=[LIFECYCLE])
    def create_acl_token(
        self, name: str, policies: list[str], token_type: str = "client", agent: str | None = None
    ) -> Secret:
        """Creates an ACL token with ``policies`` through ``agent`` (whose token must allow it) and
        returns its secret as a ``Secret``, which log.html and output.xml show as ``<secret>``.
        The log names the token's accessor ID instead.

        ``token_type`` is ``client`` or ``management`` (no policies). Pass the result on as it is:
        `Start Nomad Server` takes it as ``token``; its ``value`` is the secret itself, for the rare
        place that needs it and is not logged.

        Example:
        | ${token} = | `Create ACL Token` | e2e-reader | ${{ ['e2e-read'] }} | |
        | `Start Nomad Server` | name=reader | token=${token} | namespace=${namespace} |
        | `Delete ACL Token` | ${token} | | |
        """
        return acl.create_token(REGISTRY.find(agent), name, list(policies), token_type)

    @keyword("Delete ACL Token", tags=[LIFECYCLE])
    def delete_acl_token(self, token: Secret | str, agent: str | None = None) -> None:
        """Deletes the ACL token whose secret is ``token`` (as `Create ACL Token` returned it, or a
        plain string) through ``agent``, whose token must allow it.

        Example:
        | `Delete ACL Token` | ${token} |
        """
        acl.delete_token(REGISTRY.find(agent), token)
