"""The one error of the runner: the run could not be made (exit status 2)."""


class RunError(Exception):
    """The run could not be made (service did not start, seeding refused, Locust failed)."""
