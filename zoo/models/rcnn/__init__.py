"""Catalog section D, two-stage object detection: Faster R-CNN (region proposal network, RoI align, box head)."""
