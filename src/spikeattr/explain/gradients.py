"""Gradient baselines via the surrogate gradient: Saliency, Input x Gradient, Integrated Gradients.

The explained function of a window ``x [T, n_in]`` and class ``c`` is

    f_c(x) = log_softmax(mem_out[T-1])_c

the log-probability of class ``c`` at the last step, computed by the network's differentiable
forward (``model(x, backend="auto")``: the fused compiled layer on the CPU, the per-step torch
loop elsewhere; both give the same numbers and gradients), where the Heaviside spike has the
fast-sigmoid surrogate derivative of SPEC 3. The log-softmax is the quantity the network is
trained on (SPEC 3) and, unlike the softmax, its gradient does not vanish when the prediction is
confident; ``output="softmax"`` or ``"membrane"`` choose the others. The three methods (via
Captum) give, for every class, a map shaped like the input:

* ``"saliency"``: ``|d f_c / d x|`` (Captum's ``Saliency``, absolute value);
* ``"input_x_gradient"``: ``x * d f_c / d x``, non-zero only where an input spiked;
* ``"ig"``: ``x * integral_0^1 d f_c(a x) / d x da`` from the all-zero (no spike) baseline,
  with Captum's quadrature (default Gauss-Legendre, 50 points).

The spikes are a step function of the input, so these are gradients of the *surrogate* model:
Integrated Gradients satisfies completeness (``sum A = f(x) - f(0)``) only where no spike
changes along the path; in general the sum differs from ``f(x) - f(0)`` (see the tests).

Captum is an optional extra: ``pip install 'spikeattr[captum]'``.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any, Literal

import torch

from spikeattr.errors import ExplanationError, MissingExtraError
from spikeattr.explain.tsa import Attribution, Target, check_spikes, resolve_target

Method = Literal["saliency", "input_x_gradient", "ig"]
METHODS: tuple[str, ...] = ("saliency", "input_x_gradient", "ig")
Output = Literal["log_softmax", "softmax", "membrane"]
OUTPUTS: tuple[str, ...] = ("log_softmax", "softmax", "membrane")
GRADIENT_BACKENDS: tuple[str, ...] = ("torch", "auto", "fused")
IG_RULES: tuple[str, ...] = (
    "gausslegendre",
    "riemann_left",
    "riemann_right",
    "riemann_middle",
    "riemann_trapezoid",
)


def import_captum() -> ModuleType:
    """``captum.attr``, or a :class:`MissingExtraError` saying how to install it."""
    try:
        return importlib.import_module("captum.attr")
    except ImportError as error:
        raise MissingExtraError(
            "gradient baselines need Captum: pip install 'spikeattr[captum]'"
        ) from error


class GradientAttribution:
    """Saliency, Input x Gradient or Integrated Gradients of a :class:`LIFNetwork`'s prediction.

    Captum's call shape, like :class:`~spikeattr.explain.tsa.TemporalSpikeAttribution`; see the
    module documentation for the explained function.

    Args:
        model: a :class:`~spikeattr.snn.network.LIFNetwork` (its torch loop carries the surrogate
            gradient).
        method: ``"saliency"``, ``"input_x_gradient"`` or ``"ig"``.
        output: the explained score of the last-step membrane: ``"log_softmax"`` (default),
            ``"softmax"`` or ``"membrane"``.
        n_steps: Integrated Gradients quadrature points.
        integration: Integrated Gradients rule (Captum's ``method``): ``"gausslegendre"``
            (default) or ``"riemann_left|right|middle|trapezoid"``.
        max_batch: windows simulated in one forward pass (samples x classes, x ``n_steps`` for
            IG); bounds the memory of the backward pass.
        backend: the network's differentiable forward, ``model(x, backend=backend)``; default
            ``"auto"`` (the fused compiled layer on the CPU, the torch loop on other devices).

    Examples:
        >>> from spikeattr.snn import load_model
        >>> model = load_model("published:synthetic_1L")
        >>> result = GradientAttribution(model, "saliency").attribute(torch.ones(1, 50, 3))
        >>> tuple(result.values.shape)  # [B, C, n_in, T]
        (1, 4, 3, 50)
    """

    def __init__(
        self,
        model: Any,
        method: str = "saliency",
        output: str = "log_softmax",
        n_steps: int = 50,
        integration: str = "gausslegendre",
        max_batch: int = 512,
        backend: str = "auto",
    ) -> None:
        from spikeattr.snn.network import LIFNetwork

        if not isinstance(model, LIFNetwork):
            raise ExplanationError(
                f"gradient baselines need a spikeattr LIFNetwork (a differentiable forward with "
                f"surrogate gradients); got {type(model).__name__}"
            )
        if method not in METHODS:
            raise ExplanationError(f"unknown method {method!r}; choose one of {list(METHODS)}")
        if output not in OUTPUTS:
            raise ExplanationError(f"unknown output {output!r}; choose one of {list(OUTPUTS)}")
        if integration not in IG_RULES:
            raise ExplanationError(
                f"unknown integration rule {integration!r}; choose one of {list(IG_RULES)}"
            )
        if not (isinstance(n_steps, int) and n_steps >= 2):
            raise ExplanationError(f"n_steps must be an int >= 2; got {n_steps!r}")
        if backend not in GRADIENT_BACKENDS:
            raise ExplanationError(
                f"backend {backend!r} has no gradient; choose one of {list(GRADIENT_BACKENDS)}"
            )
        if not (isinstance(max_batch, int) and max_batch >= 1):
            raise ExplanationError(f"max_batch must be a positive int; got {max_batch!r}")
        self.model = model
        self.method = method
        self.output = output
        self.n_steps = n_steps
        self.integration = integration
        self.max_batch = max_batch
        self.backend = backend
        self._captum = import_captum()

    def explained_output(self, inputs: torch.Tensor) -> torch.Tensor:
        """The differentiable scores ``[N, C]`` of windows ``inputs [N, T, n_in]`` (any floats)."""
        membrane = self.model(inputs, backend=self.backend).membrane[:, -1]
        if self.output == "log_softmax":
            return torch.log_softmax(membrane, dim=-1)
        if self.output == "softmax":
            return torch.softmax(membrane, dim=-1)
        return membrane

    def attribute(self, spikes: torch.Tensor, target: Target = None) -> Attribution:
        """Explain the prediction at the last step of each window of ``spikes [B, T, n_in]``.

        Every class's map is computed (one backward pass per class, batched); ``target`` only
        selects :attr:`Attribution.explanation`.

        Returns:
            :class:`Attribution` with ``values [B, C, n_in, T]`` and ``variant`` = the method.
        """
        check_spikes(spikes, self.model.layer_sizes[0])
        dtype = self.model.weights[0].dtype
        inputs = spikes.to(dtype=dtype, device=self.model.weights[0].device)
        batch, steps, n_inputs = inputs.shape
        n_classes = self.model.layer_sizes[-1]
        with torch.no_grad():
            membrane = self.model(inputs, backend=self.backend).membrane[:, -1]
        probs = torch.softmax(membrane, dim=-1)
        predicted = probs.argmax(dim=-1)
        chosen = resolve_target(target, predicted, n_classes)

        rows = inputs.repeat_interleave(n_classes, dim=0)  # [B*C, T, n]: sample-major
        classes = torch.arange(n_classes, device=inputs.device).repeat(batch)
        per_pass = self.max_batch // self.n_steps if self.method == "ig" else self.max_batch
        per_pass = max(1, per_pass)
        chunks = [
            self._attribute_rows(rows[start : start + per_pass], classes[start : start + per_pass])
            for start in range(0, rows.shape[0], per_pass)
        ]
        values = torch.cat(chunks).reshape(batch, n_classes, steps, n_inputs).transpose(2, 3)
        return Attribution(
            values=values.detach().contiguous(),
            probs=probs,
            predicted=predicted,
            target=chosen,
            variant=self.method,
            support=steps,
        )

    def _attribute_rows(self, rows: torch.Tensor, classes: torch.Tensor) -> torch.Tensor:
        captum = self._captum
        rows = rows.detach().requires_grad_(True)
        with torch.enable_grad():
            if self.method == "saliency":
                result = captum.Saliency(self.explained_output).attribute(
                    rows, target=classes, abs=True
                )
            elif self.method == "input_x_gradient":
                result = captum.InputXGradient(self.explained_output).attribute(
                    rows, target=classes
                )
            else:
                result = captum.IntegratedGradients(self.explained_output).attribute(
                    rows,
                    baselines=torch.zeros_like(rows),
                    target=classes,
                    n_steps=self.n_steps,
                    method=self.integration,
                )
        values: torch.Tensor = result
        return values
