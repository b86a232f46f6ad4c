"""System-test plumbing: every test run gets its own ROS domain and localhost-only discovery.

The variables are set before anything imports rclpy, and the launched nodes inherit them,
so concurrent test runs on one machine never see each other's graphs.
"""

import os
import random

import pytest


def pytest_configure(config):
    # Domain ids 1..100 keep DDS ports in the range Linux leaves free for them.
    os.environ.setdefault("ESBOT_TEST_DOMAIN_ID", str(random.Random(os.getpid()).randint(1, 100)))
    os.environ["ROS_DOMAIN_ID"] = os.environ["ESBOT_TEST_DOMAIN_ID"]
    os.environ["ROS_AUTOMATIC_DISCOVERY_RANGE"] = "LOCALHOST"
    # Models come from the prepared models folder only: a test must never reach for a hub.
    os.environ["HF_HUB_OFFLINE"] = "1"


@pytest.fixture(scope="session")
def ros_domain_id() -> int:
    return int(os.environ["ROS_DOMAIN_ID"])
