"""esbot_sim: the mock humanoid that stands in for the robot in simulation tests and the demo."""
