"""``ExactLIFAttribution``: the exact LIF attribution with Captum's call shape.

The maths is in :mod:`spikeattr.explain.exact`; this module records a network's forward pass,
chooses the explained quantity and treats silence.

**Targets** (``output``): ``"contrastive"`` (default) explains ``F_c = m_c - sum_k p_k m_k``, the
linearisation of ``log p_c`` in the output membranes at the explained step; ``"membrane"``
explains ``F_c = m_c``. Either way the relevance of the spikes sums to ``F_c`` exactly.

**Silence** (``reference``): the plain rule gives a silent cell exactly 0, yet the absence of a
spike can decide a class. With a reference input ``q`` (per-channel spike probabilities), the map
is ``A = (x - q) * S``, where ``S`` is the exact sensitivity (the relevance a spike at that cell
would receive): a spike counts by how much more it is than expected (``(1 - q) S``), a silence by
how much a spike was expected there (``-q S``), with the sign of its effect. A channel that always
spikes (a bias) or never spikes gets 0 everywhere; the weight of silence is the data's own spike
statistics, not a tuned constant. ``reference`` is an array of rates ``[n_in]`` (pipelines pass
the explained series' rates), ``"window"`` (each channel's rate in the explained window; the
default) or ``"none"``: the plain, conserving rule, ``sum A = F``. With a reference,
``sum A = F - sum q S``: the target less the share the reference input would receive.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from spikeattr.errors import ExplanationError
from spikeattr.explain.exact import RULES, ExactMaps, LIFRecording, exact_maps
from spikeattr.explain.tsa import Attribution, Target, check_spikes, resolve_target

OUTPUTS: tuple[str, ...] = ("contrastive", "membrane")


def record_lif_network(model: Any, spikes: torch.Tensor) -> LIFRecording:
    """Run a :class:`~spikeattr.snn.network.LIFNetwork` on ``spikes [B, T, n_0]`` from zero
    state and record every layer's input and output spikes, weights and decays (float64); or ask
    an adapter that can
    (:meth:`~spikeattr.explain.adapters.snntorch.SnnTorchAdapter.exact_recording`)."""
    from spikeattr.snn.network import LIFNetwork

    if not isinstance(model, LIFNetwork):
        exact_recording = getattr(model, "exact_recording", None)
        if callable(exact_recording):
            recording: LIFRecording = exact_recording(spikes)
            return recording
        raise ExplanationError(
            "the exact LIF attribution needs a spikeattr LIFNetwork or an snnTorch model "
            f"through SnnTorchAdapter; got {type(model).__name__}"
        )
    check_spikes(spikes, model.layer_sizes[0])
    with torch.no_grad():
        out = model(spikes)
    membrane = out.membrane.detach().cpu().numpy()
    threshold = model.params.threshold
    # the output layer's spikes: s[t] = H(mem[t-1] - threshold), s[0] = 0
    output_spikes = np.zeros(membrane.shape, dtype=np.int8)
    output_spikes[:, 1:] = membrane[:, :-1] - threshold > 0
    hidden = [s.detach().cpu().numpy().astype(np.int8) for s in out.layer_spikes]
    inputs = [spikes.detach().cpu().numpy().astype(np.int8), *hidden]
    weights = [w.detach().cpu().numpy().astype(np.float64) for w in model.weights]
    sizes = [w.shape[1] for w in weights]
    return LIFRecording(
        layer_inputs=inputs,
        layer_spikes=[*hidden, output_spikes],
        weights=weights,
        alphas=[np.full(n, model.alpha) for n in sizes],
        betas=[np.full(n, model.beta) for n in sizes],
        scores=membrane[:, -1].astype(np.float64),
    )


def target_weights(probs: np.ndarray, output: str) -> np.ndarray:
    """``[B, C, C]``: row ``c`` holds the weights of ``F_c`` on the class membranes."""
    batch, classes = probs.shape
    eye = np.broadcast_to(np.eye(classes), (batch, classes, classes))
    if output == "membrane":
        return eye.copy()
    return eye - probs[:, None, :]


class ExactLIFAttribution:
    """The exact LIF attribution of a network's prediction at the last input step.

    Args:
        model: a :class:`~spikeattr.snn.network.LIFNetwork`.
        rule: how a hidden spike's relevance goes back to its inputs: ``"z"`` or
            ``"alpha_beta"`` (see :mod:`spikeattr.explain.exact`).
        output: ``"contrastive"`` or ``"membrane"`` (the explained quantity).
        reference: silence treatment: per-channel rates ``[n_in]``, ``"window"`` or ``"none"``.
        ab: the ``(a, b)`` of the alpha-beta rule.
        name: the method's name in results (``Attribution.variant``).

    Examples:
        >>> from spikeattr.snn import load_model
        >>> model = load_model("published:synthetic_2L")
        >>> result = ExactLIFAttribution(model).attribute(torch.ones(1, 100, 3))
        >>> tuple(result.values.shape), result.values.dtype  # [B, C, n_in, T], never truncated
        ((1, 4, 3, 100), torch.float64)
    """

    def __init__(
        self,
        model: Any,
        rule: str = "z",
        output: str = "contrastive",
        reference: str | np.ndarray = "window",
        ab: tuple[float, float] = (1.0, 0.0),
        name: str = "lif",
    ) -> None:
        if rule not in RULES:
            raise ExplanationError(f"unknown rule {rule!r}; choose one of {list(RULES)}")
        if output not in OUTPUTS:
            raise ExplanationError(f"unknown output {output!r}; choose one of {list(OUTPUTS)}")
        if isinstance(reference, str) and reference not in ("window", "none"):
            raise ExplanationError(
                f"reference must be 'window', 'none' or per-channel rates [n_in]; got {reference!r}"
            )
        if not isinstance(reference, str):
            reference = np.asarray(reference, dtype=np.float64)
            if reference.ndim != 1 or not bool(((reference >= 0) & (reference <= 1)).all()):
                raise ExplanationError(
                    f"reference rates must be a 1-D array of values in [0, 1]; got shape "
                    f"{reference.shape}"
                )
        self.model = model
        self.rule = rule
        self.output = output
        self.reference = reference
        self.ab = ab
        self.name = name
        self.last_target: np.ndarray | None = None
        self.last_absorbed: np.ndarray | None = None

    def maps(self, spikes: torch.Tensor) -> tuple[LIFRecording, ExactMaps]:
        """The recording and the membrane-target maps of every class (float64)."""
        recording = record_lif_network(self.model, spikes)
        return recording, exact_maps(recording, self.rule, self.ab)

    def _reference(self, inputs: np.ndarray) -> np.ndarray | None:
        """``q [B, n_in]`` or ``None``."""
        if isinstance(self.reference, str):
            return None if self.reference == "none" else inputs.mean(axis=1, dtype=np.float64)
        if self.reference.shape != (inputs.shape[2],):
            raise ExplanationError(
                f"reference rates have {self.reference.shape[0]} channels; the spikes have "
                f"{inputs.shape[2]}"
            )
        return np.broadcast_to(self.reference, (inputs.shape[0], inputs.shape[2]))

    def attribute(self, spikes: torch.Tensor, target: Target = None) -> Attribution:
        """Explain the prediction at the last step of each window of ``spikes [B, T, n_in]``.

        Returns:
            :class:`Attribution` with float64 ``values [B, C, n_in, T]`` (row ``c``: the map
            of ``F_c``); ``last_target`` holds ``F [B, C]`` and ``last_absorbed`` the share of
            the biases and subtractive resets ``[B, C]`` (0 for spikeattr's networks): the plain
            rule's maps sum to ``F - absorbed``.
        """
        recording, maps = self.maps(spikes)
        probs = torch.softmax(torch.from_numpy(recording.scores), dim=-1)
        weights = target_weights(probs.numpy(), self.output)
        sensitivity, explained = maps.combine(weights)
        rates = self._reference(recording.layer_inputs[0])
        x = maps.inputs[:, None]  # [B, 1, n_in, T]
        if rates is None:
            relevance = x * sensitivity
        else:
            relevance = (x - rates[:, None, :, None]) * sensitivity
        self.last_target = explained
        self.last_absorbed = maps.combined_absorbed(weights)
        predicted = probs.argmax(dim=-1)
        chosen = resolve_target(target, predicted, recording.n_classes)
        return Attribution(
            values=torch.from_numpy(np.ascontiguousarray(relevance)),
            probs=probs,
            predicted=predicted,
            target=chosen,
            variant=self.name,
            support=int(spikes.shape[1]),
        )
