"""Runtime: preprocessing, inference backends (ONNX Runtime, TensorRT, torch) and the stream session.

Kept light: importing this package imports nothing heavy. Use the submodules::

    from accident_anticipation_ros.runtime.factory import create_backend
    from accident_anticipation_ros.runtime.session import SessionConfig, StreamSession
"""
