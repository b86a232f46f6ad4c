"""The segmenter on hand-made probability sequences (1 kHz "audio", 100-sample windows, so one
window is 100 ms and every expected sample index can be checked by hand), then end to end with
the streaming Silero VAD on real speech."""

import numpy as np
import pytest

from esbot_speech.silero_vad import StreamingSileroVad
from esbot_speech.vad_segmenter import SpeechStarted, Utterance, VadSegmenter

RATE = 1000
WINDOW = 100


def feed(segmenter, probabilities, first_window=0):
    """Push window k (all samples equal to k) with probabilities[k]; returns (k, event) pairs."""
    events = []
    for k, p in enumerate(probabilities, start=first_window):
        events += [(k, e) for e in segmenter.push(np.full(WINDOW, k, np.float32), p)]
    return events


def window_values(utterance):
    """The window numbers an utterance's audio came from, one per sample."""
    return utterance.audio.astype(int).tolist()


def test_speech_is_confirmed_after_min_speech_and_ends_after_end_silence():
    segmenter = VadSegmenter(sample_rate=RATE)
    events = feed(segmenter, [0.1] * 5 + [0.9] * 6 + [0.1] * 7)
    # window 5 starts at 500; 500..800 is 300 ms >= 250 ms, so window 7 confirms it
    assert events[0] == (7, SpeechStarted(500))
    # silence from 1100 (window 11); 600 ms of it is reached at the end of window 16
    k, utterance = events[1]
    assert (k, utterance.start_sample, utterance.end_sample, utterance.cut_reason) == (16, 200, 1100, "silence")
    # 300 ms of pre-roll (windows 2-4) before the onset, the speech, nothing of the silence
    assert window_values(utterance) == [w for w in range(2, 11) for _ in range(WINDOW)]
    assert utterance.audio.dtype == np.float32 and len(events) == 2


def test_blips_shorter_than_min_speech_are_dropped():
    segmenter = VadSegmenter(sample_rate=RATE)
    assert feed(segmenter, [0.1, 0.9, 0.9, 0.1, 0.9, 0.1] + [0.1] * 10) == []
    assert feed(segmenter, [0.4] * 10) == []  # never reaches the threshold to start


def test_hysteresis_keeps_weaker_windows_inside_speech():
    segmenter = VadSegmenter(sample_rate=RATE)
    # 0.4 is below threshold but above the negative threshold (0.35): it continues speech
    events = feed(segmenter, [0.9, 0.4, 0.4] + [0.1] * 6)
    assert events[0] == (2, SpeechStarted(0))
    assert (events[1][1].start_sample, events[1][1].end_sample) == (0, 300)


def test_a_silence_run_ends_only_on_a_window_back_above_threshold():
    segmenter = VadSegmenter(sample_rate=RATE)
    # silence starts at window 3; the 0.45 windows neither end it nor count as speech
    events = feed(segmenter, [0.9] * 3 + [0.1] * 3 + [0.45] * 3)
    assert [type(e) for _, e in events] == [SpeechStarted, Utterance]
    assert events[1][0] == 8 and events[1][1].end_sample == 300
    # a window at threshold does end it: then the utterance goes on
    segmenter.reset()
    events = feed(segmenter, [0.9] * 3 + [0.1] * 3 + [0.5] + [0.1] * 5)
    assert [type(e) for _, e in events] == [SpeechStarted]


def test_pre_roll_never_reaches_into_the_previous_utterance_or_before_the_stream():
    segmenter = VadSegmenter(sample_rate=RATE, end_silence_ms=200, pre_speech_ms=300)
    events = feed(segmenter, [0.9] * 3 + [0.1] * 2 + [0.9] * 3 + [0.1] * 2)
    utterances = [e for _, e in events if isinstance(e, Utterance)]
    assert [(u.start_sample, u.end_sample) for u in utterances] == [(0, 300), (300, 800)]
    assert window_values(utterances[1])[:200] == [3] * 100 + [4] * 100  # pre-roll: the silence between


def test_max_length_cuts_and_a_new_utterance_continues_seamlessly():
    segmenter = VadSegmenter(sample_rate=RATE, max_utterance_s=1.0)
    events = feed(segmenter, [0.1] * 5 + [0.9] * 11 + [0.1] * 6)
    kinds = [(k, type(e).__name__) for k, e in events]
    assert kinds == [(7, "SpeechStarted"), (12, "Utterance"), (12, "SpeechStarted"), (21, "Utterance")]
    first, second = events[1][1], events[3][1]
    assert (first.start_sample, first.end_sample, first.cut_reason) == (200, 1200, "max_length")
    assert len(first.audio) == 1000  # exactly max_utterance_s
    assert events[2][1] == SpeechStarted(1200)
    assert (second.start_sample, second.end_sample, second.cut_reason) == (1200, 1600, "silence")
    assert window_values(first) + window_values(second) == [w for w in range(2, 16) for _ in range(WINDOW)]


def test_max_length_during_a_pause_ends_at_the_pause_without_a_continuation():
    segmenter = VadSegmenter(sample_rate=RATE, max_utterance_s=1.0)
    events = feed(segmenter, [0.1] * 5 + [0.9] * 6 + [0.1] * 8)
    assert [type(e) for _, e in events] == [SpeechStarted, Utterance]
    utterance = events[1][1]
    assert (utterance.start_sample, utterance.end_sample, utterance.cut_reason) == (200, 1100, "max_length")


def test_flush_emits_the_utterance_under_way_and_resets():
    segmenter = VadSegmenter(sample_rate=RATE)
    feed(segmenter, [0.9] * 4)
    [utterance] = segmenter.flush()
    assert (utterance.start_sample, utterance.end_sample, utterance.cut_reason) == (0, 400, "end_of_stream")
    feed(segmenter, [0.9] * 3 + [0.1] * 2)
    assert segmenter.flush()[0].end_sample == 300  # ends where its silence began
    feed(segmenter, [0.9] * 2)
    assert segmenter.flush() == []  # an unconfirmed candidate is no utterance
    assert feed(segmenter, [0.9] * 3)[0][1] == SpeechStarted(0)  # counting restarted


def test_windows_of_any_size_are_counted_in_samples():
    segmenter = VadSegmenter(sample_rate=RATE, pre_speech_ms=0, min_speech_ms=0)
    events = []
    for size, p in [(37, 0.1), (250, 0.9), (1, 0.1)]:
        events += segmenter.push(np.zeros(size, np.float32), p)
    events += segmenter.flush()
    assert events[0] == SpeechStarted(37)
    assert (events[1].start_sample, events[1].end_sample, len(events[1].audio)) == (37, 287, 250)


@pytest.mark.parametrize("kwargs, message", [
    ({"threshold": 0.5, "negative_threshold": 0.6}, "negative_threshold"),
    ({"threshold": 1.5}, "threshold"),
    ({"min_speech_ms": -1}, "must not be negative"),
    ({"max_utterance_s": 0.5}, "max_utterance_s"),
])
def test_bad_parameters_are_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        VadSegmenter(**kwargs)


# --- end to end: streaming Silero VAD + segmenter on real speech ---------------------------------

SENTENCES = ["I have been feeling really anxious about my exams.",
             "Sometimes I cannot sleep at night.",
             "Talking to someone helps a little."]


@pytest.fixture(scope="module")
def vad():
    return StreamingSileroVad()


def segment(vad, audio, frame=320):
    """The ASR node's loop: 20 ms microphone frames -> VAD -> segmenter."""
    vad.reset()
    segmenter = VadSegmenter()
    events = []
    for i in range(0, len(audio), frame):
        for start, probability in vad.process(audio[i:i + frame]):
            events += segmenter.push(audio[start:start + 512], probability)
    return events + segmenter.flush()


def silence(seconds):
    return np.zeros(int(seconds * 16000), np.float32)


@pytest.mark.parametrize("noise_level", [0.0, 0.005])
def test_one_utterance_per_spoken_sentence_with_its_pre_roll(vad, espeak, noise_level):
    pieces, spans, position = [silence(1.0)], [], 16000
    for sentence in SENTENCES:
        speech = espeak(sentence)
        audible = np.flatnonzero(np.abs(speech) > 0.01)
        spans.append((position + audible[0], position + audible[-1]))
        pieces += [speech, silence(1.2)]
        position += len(speech) + len(pieces[-1])
    audio = np.concatenate(pieces)
    audio += noise_level * np.random.default_rng(0).standard_normal(len(audio)).astype(np.float32)

    events = segment(vad, audio)
    starts = [e for e in events if isinstance(e, SpeechStarted)]
    utterances = [e for e in events if isinstance(e, Utterance)]
    assert len(utterances) == len(SENTENCES) == len(starts)
    for started, utterance, (onset, offset) in zip(starts, utterances, spans):
        assert utterance.cut_reason == "silence"
        assert started.start_sample - utterance.start_sample == 300 * 16  # the pre-roll
        assert utterance.start_sample <= onset  # the first syllable is in
        assert utterance.end_sample >= offset - 0.1 * 16000  # at most the last fade-out is out
        assert utterance.end_sample <= offset + 0.3 * 16000  # and not the silence after it
        np.testing.assert_array_equal(utterance.audio, audio[utterance.start_sample:utterance.end_sample])


def test_robot_voice_is_one_utterance(vad, piper_speech):
    events = segment(vad, np.concatenate([silence(0.5), piper_speech, silence(1.0)]))
    assert [type(e) for e in events] == [SpeechStarted, Utterance]


def clicks(seconds, every_s=0.3):
    audio = silence(seconds)
    audio[::int(every_s * 16000)] = 0.9
    audio[1::int(every_s * 16000)] = -0.9
    return audio


@pytest.mark.parametrize("name, audio", [
    ("silence", silence(5)),
    ("quiet white noise", 0.01 * np.random.default_rng(1).standard_normal(5 * 16000).astype(np.float32)),
    ("loud white noise", 0.2 * np.random.default_rng(2).standard_normal(5 * 16000).astype(np.float32)),
    ("clicks", clicks(5)),
])
def test_non_speech_yields_nothing(vad, name, audio):
    assert segment(vad, audio) == [], name
