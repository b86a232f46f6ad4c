"""Safety core of the dialogue node (pure Python, no ROS): risk detection on what the user
says and on what the robot is about to say, the crisis response policy and the durable alert
log. See policy.SafetyPolicy for the entry point the node drives.
"""
