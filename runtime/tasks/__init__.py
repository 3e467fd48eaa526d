"""The task centre: one inbox of flow tasks, rules' to-dos and carbon copies."""
