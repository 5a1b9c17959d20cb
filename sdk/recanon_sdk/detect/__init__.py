"""Pose detection and tracking: the YOLO pose backends (torch, ONNX Runtime, OpenVINO) and ByteTrack."""
