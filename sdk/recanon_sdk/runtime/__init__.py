"""What runs learned models without torch or export tools: ONNX generators and sealed GY."""
