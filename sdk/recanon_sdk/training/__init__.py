"""Training GX/GY (``recanon train``): configs, data, the loop, checkpoints and the scene stage."""
