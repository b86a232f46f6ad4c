from glob import glob

from setuptools import find_packages, setup

package_name = "esbot_sim"

setup(
    name=package_name,
    version="0.1.0",
    packages=find_packages(exclude=["test"]),
    data_files=[
        ("share/ament_index/resource_index/packages", ["resource/" + package_name]),
        ("share/" + package_name, ["package.xml"]),
        ("share/" + package_name + "/scripts", glob("scripts/*.txt")),
        ("share/" + package_name + "/config", glob("config/*.yaml")),
    ],
    install_requires=["setuptools"],
    zip_safe=True,
    maintainer="esbot developers",
    maintainer_email="esbot@example.org",
    description="Mock humanoid for esbot simulation tests and the demo.",
    license="Apache-2.0",
    extras_require={"test": ["pytest"]},
    entry_points={
        "console_scripts": [
            "mock_humanoid = esbot_sim.mock_humanoid_node:main",
        ],
    },
)
