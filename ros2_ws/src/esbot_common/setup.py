from setuptools import find_packages, setup

package_name = "esbot_common"

setup(
    name=package_name,
    version="0.1.0",
    packages=find_packages(exclude=["test"]),
    data_files=[
        ("share/ament_index/resource_index/packages", ["resource/" + package_name]),
        ("share/" + package_name, ["package.xml"]),
    ],
    install_requires=["setuptools"],
    zip_safe=True,
    maintainer="esbot developers",
    maintainer_email="esbot@example.org",
    description="Pure-Python helpers shared by the esbot packages (model assets folder, sentence streaming).",
    license="Apache-2.0",
    extras_require={"test": ["pytest"]},
)
