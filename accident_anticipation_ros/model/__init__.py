"""The TSD student network: MobileCLIP trunk (stem + stages 1-3), spatio-temporal RWKV, heads.

Light on purpose (no torch import here). Public API, imported from the submodules:

- ``config``: ``StudentConfig``, ``get_config(name)``, ``list_configs()``
- ``student``: ``TSDStudent`` (``forward_clip``, ``step``, ``init_state``, ``reparameterize``)
- ``state``: ``StudentState``, ``LayerState``
- ``checkpoint``: ``save_checkpoint(model, path, extra)``, ``load_checkpoint(path) -> (model, meta)``
- ``export``: ``export_onnx(model_or_checkpoint, out_path, ...)``
- ``backbone``: ``load_mci_trunk(model, state_dict)`` (MobileCLIP / timm ``fastvit_mci0`` weights)
"""
