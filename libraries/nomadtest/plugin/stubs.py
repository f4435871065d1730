"""The generated stubs of the plugin protocol, or an error that says how to generate them."""

from __future__ import annotations

import importlib
from types import SimpleNamespace

MODULES = {
    "base": "base_pb2",
    "base_grpc": "base_pb2_grpc",
    "driver": "driver_pb2",
    "driver_grpc": "driver_pb2_grpc",
    "hclspec": "hcl_spec_pb2",
    "controller": "grpc_controller_pb2",
    "controller_grpc": "grpc_controller_pb2_grpc",
}


class StubsMissingError(ImportError):
    """The stubs were never generated (a checkout without ``make proto``)."""

    ROBOT_SUPPRESS_NAME = True


def protocol() -> SimpleNamespace:
    """The stub modules by short name: ``protocol().driver.TaskConfig``."""
    try:
        return SimpleNamespace(
            **{name: importlib.import_module(f"nomadtest.plugin.protocol.{module}") for name, module in MODULES.items()}
        )
    except ImportError as error:
        raise StubsMissingError(
            f"The Python stubs of Nomad's plugin protocol are missing ({error}). In a checkout run `make proto` "
            "(grpcio-tools generates them from the Nomad module driver/go.mod pins); an installed wheel ships them."
        ) from None
