from glob import glob

from setuptools import find_packages, setup

package_name = "esbot_speech"

setup(
    name=package_name,
    version="0.1.0",
    packages=find_packages(exclude=["test"]),
    data_files=[
        ("share/ament_index/resource_index/packages", ["resource/" + package_name]),
        ("share/" + package_name, ["package.xml"]),
        ("share/" + package_name + "/config", glob("config/*.yaml")),
    ],
    install_requires=["setuptools"],
    zip_safe=True,
    maintainer="esbot developers",
    maintainer_email="esbot@example.org",
    description="Speech layer of esbot: the ASR node (Silero VAD + faster-whisper) and the TTS node (Piper, gestures, barge-in).",
    license="Apache-2.0",
    extras_require={"test": ["pytest"]},
    entry_points={
        "console_scripts": [
            "asr_node = esbot_speech.asr_node:main",
            "tts_node = esbot_speech.tts_node:main",
        ],
    },
)
