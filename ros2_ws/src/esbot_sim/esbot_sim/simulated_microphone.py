"""What the mock humanoid's microphone hears: the user's recorded utterances, the robot's own
voice coming back from its speaker (the echo every real robot has), and a little room noise.

Pure numpy. The microphone stream is a sample clock: sample n is heard at origin + n / rate.
User audio is queued to play from the next free sample; robot audio is mixed in at the time it
played plus the echo delay, scaled by the echo gain.
"""

import threading

import numpy as np

from esbot_speech.audio_format import Resampler


class SimulatedMicrophone:
    def __init__(self, sample_rate: int = 16000, echo_gain: float = 0.1, echo_delay_s: float = 0.05,
                 noise_level: float = 0.0005, seed: int = 0):
        if sample_rate <= 0 or echo_gain < 0 or echo_delay_s < 0 or noise_level < 0:
            raise ValueError("microphone: the rate must be positive; gain, delay and noise not negative")
        self.sample_rate = sample_rate
        self.echo_gain = echo_gain
        self.echo_delay_s = echo_delay_s
        self.noise_level = noise_level
        self._rng = np.random.default_rng(seed)
        self._lock = threading.Lock()  # the speaker callback and the microphone thread both touch the buffers
        self._origin: float | None = None
        self._position = 0  # next sample to hear
        self._user = np.zeros(0, np.float32)  # user audio from _position on
        self._echo = np.zeros(0, np.float32)  # echo from _position on
        self._resampler: tuple[int, Resampler] | None = None

    def start(self, origin: float) -> None:
        with self._lock:
            self._origin, self._position = origin, 0

    def time_of(self, sample: int) -> float:
        return self._origin + sample / self.sample_rate

    def play_user_audio(self, audio: np.ndarray) -> tuple[float, float]:
        """Queue audio (mono float at the microphone rate) after what is already queued;
        returns the (start, end) times it will be heard."""
        with self._lock:
            start = self._position + len(self._user)
            self._user = np.concatenate([self._user, np.asarray(audio, np.float32)])
            return self.time_of(start), self.time_of(start + len(audio))

    def user_audio_pending(self) -> bool:
        with self._lock:
            return len(self._user) > 0

    def add_robot_audio(self, audio: np.ndarray, sample_rate: int, played_at: float) -> None:
        """The robot's speaker played `audio` from `played_at`: its echo reaches the microphone."""
        if self.echo_gain == 0 or self._origin is None:
            return
        with self._lock:
            if self._resampler is None or self._resampler[0] != sample_rate:
                self._resampler = (sample_rate, Resampler(sample_rate, self.sample_rate))
            echo = self._resampler[1].process(np.asarray(audio, np.float32)) * self.echo_gain
            offset = round((played_at + self.echo_delay_s - self._origin) * self.sample_rate) - self._position
            if offset < 0:  # arrived too late for part of it: that part is lost, as on a real bus
                echo, offset = echo[-offset:], 0
            needed = offset + len(echo)
            if needed > len(self._echo):
                self._echo = np.concatenate([self._echo, np.zeros(needed - len(self._echo), np.float32)])
            self._echo[offset:needed] += echo

    def next_frame(self, samples: int) -> tuple[float, np.ndarray]:
        """The next `samples` of the microphone stream and the time of the first one."""
        with self._lock:
            stamp = self.time_of(self._position)
            frame = self._rng.normal(0.0, self.noise_level, samples).astype(np.float32) if self.noise_level \
                else np.zeros(samples, np.float32)
            for name in ("_user", "_echo"):
                source = getattr(self, name)
                take = min(samples, len(source))
                frame[:take] += source[:take]
                setattr(self, name, source[take:])
            self._position += samples
        return stamp, frame
