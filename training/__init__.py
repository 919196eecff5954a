"""Offline training pipeline (importable as ``accident_anticipation_ros.training``).

Datasets and loaders, the synthetic dashcam generator, teacher wrappers, losses, the trainer
and export. This floor may import torch, timm and open_clip; it never imports rclpy.
"""
