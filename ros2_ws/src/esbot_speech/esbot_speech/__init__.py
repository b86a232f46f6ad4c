"""esbot_speech: the speech layer of the esbot robot.

Pure-Python cores (no rclpy): audio_format (AudioFrame payloads <-> float audio, resampling),
silero_vad (streaming voice activity probabilities), vad_segmenter (utterances and barge-in
events from those probabilities), echo_gate and listening (microphone frames -> speech onsets
and utterances), transcriber (faster-whisper), asr_pipeline (frames in, barge-ins, listening
state and transcripts out, on its own threads), voice, speech_output, gestures (gesture plans
for a reply), barge_in (what was actually said when the robot is interrupted). The ASR and TTS
nodes are built over them.
"""
