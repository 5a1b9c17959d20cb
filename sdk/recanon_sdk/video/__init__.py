"""Video in and out: a streaming source of timestamped frames, an atomic encoder, the pose sidecar."""
