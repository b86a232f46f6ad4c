"""Telling the user's voice from the robot's own voice coming back through its microphone.

While the robot speaks, its microphone hears the robot's voice (the echo) as well as the user.
Silero VAD calls both speech, so the VAD alone would transcribe the robot as the user. The gate
compares each microphone window with the loudest reference (what the TTS node played) over the
echo's possible delay: the echo alone sits a steady "echo return loss" below the reference,
while a user talking over it lifts the microphone well above that. This is a level-based
double-talk detector in the spirit of Geigel's (the classic detector in echo cancellers), with
the echo return loss (how much quieter than the played audio its echo arrives) set for the
robot: measure it once by playing speech with no one talking (the echo_loss_db of a test
recording); the margin then keeps the robot's loudest syllables from passing as the user.

Decision: fixed, not learned online. A gate that learns its echo level while the user may be
talking over the robot learns the user as echo and stops hearing them (tried: it collapsed
within seconds of double talk); a fixed, measured level cannot drift.

Decision: gate, don't cancel. A linear echo canceller would need the exact speaker-to-mic path
and still leak on a robot's non-linear speaker; the gate only has to decide "is there a user
here", which a level test does robustly, and audio once the user has barged in is transcribed
as it is (the robot stops speaking within a frame, so little echo is left in it).

Times are seconds on one clock (ROS time), taken from the audio frames' stamps.
"""

import math
from collections import deque

import numpy as np

# Below this RMS (-60 dBFS) the reference is silence: nothing of it can reach the microphone.
SILENT_RMS = 1e-3


def rms(audio: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(audio, dtype=np.float64)))) if len(audio) else 0.0


class EchoGate:
    def __init__(self, echo_loss_db: float = 20.0, margin_db: float = 6.0, max_echo_delay_s: float = 0.2,
                 tail_s: float = 0.15, window_s: float = 0.032):
        """echo_loss_db: how much quieter than the played audio the echo reaches the microphone.
        margin_db: how far above that the microphone must be to count as the user.
        max_echo_delay_s: longest speaker-to-microphone delay (audio buffers plus the room).
        tail_s: how long the room keeps ringing after the reference stops."""
        if min(echo_loss_db, margin_db, max_echo_delay_s, tail_s) < 0 or window_s <= 0:
            raise ValueError("echo gate: loss, margin, delay and tail must not be negative; the window positive")
        self.echo_loss_db = echo_loss_db
        self.margin_db = margin_db
        self.max_echo_delay_s = max_echo_delay_s
        self.tail_s = tail_s
        self.window_s = window_s
        self.min_echo_loss_db = float("inf")  # the loudest echo seen (smallest loss), for calibration
        self._reference: deque[tuple[float, float, float]] = deque()  # (start, end, rms), by time

    def add_reference(self, start: float, audio: np.ndarray, sample_rate: int) -> None:
        """Audio the robot played (any rate, mono float) whose first sample played at `start`."""
        step = max(1, round(self.window_s * sample_rate))
        for offset in range(0, len(audio), step):
            window = audio[offset:offset + step]
            begin = start + offset / sample_rate
            self._reference.append((begin, begin + len(window) / sample_rate, rms(window)))
        horizon = start - 10 * (self.max_echo_delay_s + self.tail_s + 1.0)
        while self._reference and self._reference[0][1] < horizon:
            self._reference.popleft()

    def reference_level(self, start: float, end: float) -> float:
        """The loudest reference window that can still be heard in microphone audio [start, end)."""
        earliest = start - self.max_echo_delay_s - self.tail_s
        return max((level for begin, finish, level in self._reference if finish > earliest and begin < end),
                   default=0.0)

    def user_present(self, start: float, microphone_window: np.ndarray, sample_rate: int) -> bool:
        """True when the window may hold the user's voice (no robot voice can be in it, or the
        microphone is clearly louder than the robot's echo); False when it is the echo alone."""
        end = start + len(microphone_window) / sample_rate
        reference = self.reference_level(start, end)
        if reference < SILENT_RMS:
            return True
        level = rms(microphone_window)
        if level < SILENT_RMS:
            return False  # nothing audible at all: no user, and nothing to learn from
        ratio_db = 20 * math.log10(level / reference)
        if ratio_db > -self.echo_loss_db + self.margin_db:
            return True
        self.min_echo_loss_db = min(self.min_echo_loss_db, -ratio_db)
        return False

    def robot_audible(self, start: float, end: float) -> bool:
        return self.reference_level(start, end) >= SILENT_RMS
