"""The recording mocks: each registration kept with the options the engine would get."""

from __future__ import annotations

import pulumi

from tests.harness.recording_mocks import LAUNCH_TEMPLATE, OptionsMonitor, RecordingMocks


def test_new_resource_records_inputs_and_options() -> None:
    mocks = RecordingMocks()
    pulumi.runtime.set_mocks(mocks, preview=False, monitor=OptionsMonitor(mocks))

    @pulumi.runtime.test
    def program() -> None:
        opts = pulumi.ResourceOptions(retain_on_delete=True, ignore_changes=["imageId"])
        pulumi.CustomResource(LAUNCH_TEMPLATE, "web-lt", {"imageId": "ami-1"}, opts)

    program()

    found = mocks.one("launchTemplate:LaunchTemplate")
    assert (found.name, found.inputs) == ("web-lt", {"imageId": "ami-1"})
    assert found.options["retain_on_delete"] and found.options["ignore_changes"] == ["imageId"]
