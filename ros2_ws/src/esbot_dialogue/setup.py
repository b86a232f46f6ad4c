from glob import glob

from setuptools import find_packages, setup

package_name = "esbot_dialogue"

setup(
    name=package_name,
    version="0.1.0",
    packages=find_packages(exclude=["test"]),
    # The learned safety tier's default model (LoRA adapter + heads + manifest, ~0.5 MB).
    package_data={"esbot_dialogue.safety": ["risk_model/*"]},
    data_files=[
        ("share/ament_index/resource_index/packages", ["resource/" + package_name]),
        ("share/" + package_name, ["package.xml"]),
        ("share/" + package_name + "/config", glob("config/*.yaml")),
    ],
    install_requires=["setuptools"],
    zip_safe=True,
    maintainer="esbot developers",
    maintainer_email="esbot@example.org",
    description="LLM dialogue node of the esbot emotional-support robot.",
    license="Apache-2.0",
    extras_require={"test": ["pytest"]},
    entry_points={
        "console_scripts": [
            "dialogue_node = esbot_dialogue.dialogue_node:main",
        ],
    },
)
