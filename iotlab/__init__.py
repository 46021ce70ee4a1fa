"""iotlab."""
