"""Catalog section D, object detection: YOLOv1 (`yolo`) and the box helpers every zoo detector shares (`boxes`)."""
