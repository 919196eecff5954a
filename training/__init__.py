"""Offline training pipeline (importable as ``accident_anticipation_ros.training``).

This floor may import torch, timm and open_clip; it never imports rclpy. Nothing heavy is imported here.

- ``datasets/``, ``synth/``: loaders (DAD, CCD, ...) and the synthetic dashcam generator.
- ``config`` / ``yaml_config``: typed training configs from YAML (``configs/``).
- ``teacher`` (frozen MobileCLIP from open_clip / timm / a local checkpoint), ``teacher_clip`` and
  ``teacher_train`` (a small MobileCLIP-architecture CLIP trained here: ``train-teacher``).
- ``cache``: student-size frames and teacher outputs in safetensors shards; ``data``: batches.
- ``losses``: spatial, temporally shifted, contrastive, frequency-aligned, anticipation and TTA losses.
- ``gru_student``: the GRU ablation student; ``trainer`` / ``train``: the trainer and ``train``.
- ``evaluate``, ``ablate``, ``ship``: metrics of a checkpoint, the paper's ablation, shipping a model.
"""
