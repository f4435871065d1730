"""Keywords about the driver under test: its profile and the capabilities it claims."""

from __future__ import annotations

from robot.api import logger
from robot.api.deco import keyword
from robot.libraries.BuiltIn import BuiltIn

from nomadtest import profiles
from nomadtest.agents import needs
from nomadtest.library import ASSERTION, QUERY, LibraryComponent


class Capabilities(LibraryComponent):
    """Read the driver profile and skip what the driver does not claim to do."""

    @keyword(tags=[QUERY])
    def get_driver_profile(self) -> dict:
        """Returns the profile of the driver under test: ``name``, ``source``, ``jar_delivery``,
        ``capabilities`` (a sorted list), ``plugin_config`` and ``plugin`` (the plugin's file name).

        Example:
        | ${profile} = | `Get Driver Profile` |
        | Log | ${profile}[capabilities] |
        """
        profile = profiles.active()
        return {
            "name": profile.name,
            "source": profile.source,
            "jar_delivery": profile.jar_delivery,
            "capabilities": sorted(profile.claims()),
            "plugin_config": dict(profile.plugin_config),
            "plugin": profile.plugin_binary,
        }

    @keyword(tags=[ASSERTION])
    def driver_profile_should_be_valid(self) -> None:
        """Fails, saying how to fix it, when the profile of the driver under test cannot be used: a
        profile file that was named but does not exist, a key, capability or task input the framework
        does not know, or no ``[task]`` table to write the driver's task config from.

        Meant for the suite setup of a whole run (the project's ``suites/__init__.robot`` has it), so
        that a wrong profile stops the run at its start instead of failing or skipping test by test.

        Example:
        | *** Settings *** | |
        | Suite Setup | `Driver Profile Should Be Valid` |
        """
        if self.library.profile_error is not None:
            raise self.library.profile_error
        profile = profiles.active()
        profile.task_mapping()
        logger.info(
            f"Driver '{profile.name}' ({profile.source}): JARs by {profile.jar_delivery}; claims "
            f"{', '.join(sorted(profile.claims())) or 'nothing'}."
        )

    @keyword
    def skip_if_driver_lacks_a_needed_capability(self, *capabilities: str) -> None:
        """Skips when the driver under test does not claim one of ``capabilities``, or, without
        them, one the running test's ``needs:<capability>`` tags name; says which and where the
        profile is. A ``needs:nomad>=1.9.2`` tag skips the test when the Nomad under test (the
        ``NOMAD_BIN`` binary, or the external cluster's agents) is older, saying both versions.

        Meant for ``Test Setup`` (the project's ``suites/__init__.robot`` has it), or with
        capabilities for a ``Suite Setup`` whose own steps need them: skipping there skips the
        whole suite. A test whose suite setup failed never reaches its Test Setup; the library's
        listener skips it all the same when its needs are unmet, naming both reasons.

        Example:
        | *** Settings *** | | |
        | Test Setup | `Skip If Driver Lacks A Needed Capability` | |
        | Suite Setup | `Skip If Driver Lacks A Needed Capability` | isolation |
        """
        builtin = BuiltIn()
        tags = [f"{profiles.NEEDS_TAG_PREFIX}{name}" for name in capabilities] or list(
            builtin.get_variable_value("@{TEST TAGS}") or []
        )
        reason = needs.unmet_need(tags, self.library.manager)
        if reason:
            builtin.skip(reason)
