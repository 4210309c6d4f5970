"""Probabilistic models of counts in PyTorch: the negative-binomial likelihood, the Gaussian KL and an scVI-style VAE.

- :func:`nb_log_likelihood` is the negative-binomial log-probability in scVI's parameterisation (mean μ and
  inverse dispersion θ, so that Var K = μ + μ²/θ), written in a numerically stable form.
- :func:`gaussian_kl` is the closed-form KL(N(μ, σ²) ‖ N(0, 1)) of each coordinate.
- :class:`CountVAE` is a small variational autoencoder in the style of scVI (Lopez et al. 2018): log1p counts in,
  a diagonal Gaussian posterior over a 10-dimensional latent space, a decoder that gives each gene's share of the
  cell's observed library size, and a negative-binomial likelihood with one learned inverse dispersion per gene.
- :func:`train_vae` fits it with Adam on shuffled minibatches of cells, with a linear KL warm-up, and returns the
  per-epoch training and validation ELBO; a run is determined by its ``seed``.

References: Kingma & Welling, "Auto-encoding variational Bayes", ICLR (2014); Lopez, Regier, Cole, Jordan & Yosef,
"Deep generative modeling for single-cell transcriptomics", *Nature Methods* 15:1053 (2018) and the scvi-tools
source (``scvi.distributions.NegativeBinomial``, ``scvi.module.VAE``); Hilbe, *Negative Binomial Regression*, 2nd
ed. (2011), §8.2 (the NB2 parameterisation); Bowman et al., "Generating sentences from a continuous space", CoNLL
(2016) (KL annealing).
"""

from __future__ import annotations

import contextlib
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from tqdm.std import TqdmWarning

with warnings.catch_warnings():
    # without ipywidgets tqdm.auto falls back to the text bar, which is all we need; its warning would be noise
    warnings.simplefilter("ignore", category=TqdmWarning)
    from tqdm.auto import tqdm

from utils._validation import as_counts, check_integer, check_scalar

__all__ = ["CountVAE", "ELBOTerms", "TrainingHistory", "gaussian_kl", "nb_log_likelihood", "train_vae"]


def _as_tensor(value: Any, name: str, dtype: torch.dtype | None = None) -> torch.Tensor:
    """A floating tensor (kept as is, with its graph, if it already is one), or TypeError/ValueError naming ``name``."""
    if isinstance(value, torch.Tensor):
        if value.dtype == torch.bool or value.is_complex():
            raise TypeError(f"{name} must be a real numeric tensor, got dtype {value.dtype}")
        tensor = value if value.is_floating_point() else value.to(torch.get_default_dtype())
    else:
        if hasattr(value, "to_numpy"):  # pandas
            value = value.to_numpy()
        try:
            array = np.asarray(value)
        except (TypeError, ValueError) as err:
            raise TypeError(f"{name} must be numeric, got {type(value).__name__} ({err})") from None
        if array.dtype == bool or not (
            np.issubdtype(array.dtype, np.integer) or np.issubdtype(array.dtype, np.floating)
        ):
            raise TypeError(f"{name} must be numeric, got {type(value).__name__} of dtype {array.dtype}")
        tensor = torch.as_tensor(array.astype(np.float64))
    if dtype is not None:
        tensor = tensor.to(dtype)
    if tensor.numel() == 0:
        raise ValueError(f"{name} must not be empty, got shape {tuple(tensor.shape)}")
    with torch.no_grad():
        if not torch.isfinite(tensor).all():
            raise ValueError(f"{name} contains NaN or infinite values")
    return tensor


_STIRLING_THRESHOLD = 1e5
"""Above this θ, log Γ(k + θ) - log Γ(θ) comes from Stirling's series instead of two huge, nearly equal lgammas."""


def _log_gamma_ratio(counts: torch.Tensor, theta: torch.Tensor) -> torch.Tensor:
    """log Γ(k + θ) - log Γ(θ), accurate also for θ ≫ k (where each lgamma is ~θ log θ and the difference ~k log θ)."""
    direct = torch.lgamma(counts + theta) - torch.lgamma(theta)
    large = theta > _STIRLING_THRESHOLD
    if not large.any():
        return direct
    # (x - ½) log x - x + 1/(12x) for both, differenced analytically; the next term, 1/(360 x³), is below 1e-17
    stirling = (
        (theta - 0.5) * torch.log1p(counts / theta)
        + counts * torch.log(theta + counts)
        - counts
        - counts / (12 * theta * (theta + counts))
    )
    return torch.where(large, stirling, direct)


def _nb_log_prob(counts: torch.Tensor, log_mean: torch.Tensor, log_inverse_dispersion: torch.Tensor) -> torch.Tensor:
    """The NB log-probability from log μ and log θ, without validation (the form the model uses)."""
    theta = log_inverse_dispersion.exp()
    # θ log(θ/(θ+μ)) = -θ softplus(log μ - log θ) and k log(μ/(θ+μ)) = -k softplus(log θ - log μ): no 1 - p, no ratio
    log_normaliser = _log_gamma_ratio(counts, theta) - torch.lgamma(counts + 1)
    zero_part = -theta * F.softplus(log_mean - log_inverse_dispersion)
    count_part = counts * F.softplus(log_inverse_dispersion - log_mean)
    return log_normaliser + zero_part - count_part


def nb_log_likelihood(counts: Any, mean: Any, inverse_dispersion: Any) -> torch.Tensor:
    """Negative-binomial log-probability of counts, element-wise, in scVI's (mean, inverse dispersion) form.

    .. math::

        \\log p(k \\mid \\mu, \\theta) = \\log\\Gamma(k + \\theta) - \\log\\Gamma(\\theta) - \\log\\Gamma(k + 1)
        + \\theta \\log\\frac{\\theta}{\\theta + \\mu} + k \\log\\frac{\\mu}{\\theta + \\mu},

    with :math:`E K = \\mu` and :math:`\\operatorname{Var} K = \\mu + \\mu^2/\\theta`; DESeq2's dispersion is
    :math:`\\alpha = 1/\\theta`. The two logarithms are evaluated as :math:`-\\theta\\,\\mathrm{softplus}(\\log\\mu -
    \\log\\theta)` and :math:`-k\\,\\mathrm{softplus}(\\log\\theta - \\log\\mu)`, which stay accurate for a huge
    θ (the Poisson limit, where :math:`\\theta\\log(1 + \\mu/\\theta) \\to \\mu`) and for a tiny μ; a zero count
    contributes no :math:`k\\log\\mu` term, so μ = 0 is allowed (log-probability 0 at k = 0, -inf at k > 0).
    For θ > 10⁵ the difference :math:`\\log\\Gamma(k + \\theta) - \\log\\Gamma(\\theta)` comes from Stirling's
    series, because two lgammas of size θ log θ would cancel to a few digits.
    Equals ``torch.distributions.NegativeBinomial(total_count=θ, logits=log μ - log θ).log_prob(k)``
    (Hilbe 2011, §8.2; Lopez et al. 2018, Methods).

    Parameters
    ----------
    counts : tensor or array_like
        Non-negative integer counts k (floats holding whole numbers are fine).
    mean : tensor or array_like
        Means μ >= 0, broadcastable against ``counts``.
    inverse_dispersion : tensor or array_like
        θ > 0, broadcastable against ``counts`` (e.g. one per gene, the last axis).

    Returns
    -------
    torch.Tensor
        The log-probabilities, with the broadcast shape, differentiable in ``mean`` and ``inverse_dispersion`` when
        they are tensors that require gradients. Non-tensor inputs are computed in float64.

    Raises
    ------
    TypeError
        If an input is not numeric (or boolean).
    ValueError
        If an input is empty or not finite, counts are negative or not whole, a mean is negative, an inverse
        dispersion is not positive, or the shapes do not broadcast.
    """
    k = _as_tensor(counts, "counts")
    mu = _as_tensor(mean, "mean")
    theta = _as_tensor(inverse_dispersion, "inverse_dispersion")
    dtype = torch.promote_types(torch.promote_types(k.dtype, mu.dtype), theta.dtype)
    k, mu, theta = k.to(dtype), mu.to(dtype), theta.to(dtype)
    with torch.no_grad():
        if (k < 0).any():
            raise ValueError("counts contains negative values; counts must be >= 0")
        if (k != torch.round(k)).any():
            raise ValueError("counts contains non-integer values; counts must be whole numbers")
        if (mu < 0).any():
            raise ValueError("mean contains negative values; a negative-binomial mean must be >= 0")
        if (theta <= 0).any():
            raise ValueError("inverse_dispersion must be positive (θ = 1/α > 0)")
    try:
        torch.broadcast_shapes(k.shape, mu.shape, theta.shape)
    except RuntimeError:
        raise ValueError(
            f"counts {tuple(k.shape)}, mean {tuple(mu.shape)} and inverse_dispersion {tuple(theta.shape)} "
            "do not broadcast to one shape"
        ) from None
    zero_mean = mu == 0
    if not zero_mean.any():
        return _nb_log_prob(k, torch.log(mu), torch.log(theta))
    # μ = 0 is a point mass at 0: log-probability 0 at k = 0 and -inf above (not the NaN of 0·log 0)
    log_prob = _nb_log_prob(k, torch.log(torch.where(zero_mean, torch.ones_like(mu), mu)), torch.log(theta))
    point_mass = torch.where(k > 0, torch.full_like(log_prob, -torch.inf), torch.zeros_like(log_prob))
    return torch.where(zero_mean, point_mass, log_prob)


def gaussian_kl(mean: Any, log_var: Any) -> torch.Tensor:
    """KL(N(μ, σ²) ‖ N(0, 1)) of each coordinate, in closed form.

    .. math::

        \\mathrm{KL} = \\tfrac12\\left(\\mu^2 + \\sigma^2 - 1 - \\log\\sigma^2\\right),
        \\qquad \\sigma^2 = e^{\\text{log\\_var}};

    for a diagonal Gaussian posterior sum it over the latent axis (Kingma & Welling 2014, appendix B).

    Parameters
    ----------
    mean, log_var : tensor or array_like
        Means μ and log-variances log σ², broadcastable against each other.

    Returns
    -------
    torch.Tensor
        The KL of each coordinate, non-negative, zero exactly at μ = 0, log σ² = 0.
    """
    mu = _as_tensor(mean, "mean")
    log_variance = _as_tensor(log_var, "log_var")
    try:
        torch.broadcast_shapes(mu.shape, log_variance.shape)
    except RuntimeError:
        raise ValueError(f"mean {tuple(mu.shape)} and log_var {tuple(log_variance.shape)} do not broadcast") from None
    dtype = torch.promote_types(mu.dtype, log_variance.dtype)
    mu, log_variance = mu.to(dtype), log_variance.to(dtype)
    # expm1(x) - x instead of exp(x) - 1 - x: no cancellation near σ² = 1
    return 0.5 * (mu.square() + torch.expm1(log_variance) - log_variance)


@dataclass
class ELBOTerms:
    """The per-cell terms of the evidence lower bound, each a tensor of shape (n_cells,).

    Attributes
    ----------
    reconstruction : torch.Tensor
        Monte Carlo estimate of :math:`E_{q(z\\mid x)}\\log p(x \\mid z)` (NB log-likelihood summed over genes).
    kl : torch.Tensor
        Closed-form :math:`\\mathrm{KL}(q(z\\mid x)\\,\\|\\,N(0, I))`, summed over latent dimensions.
    kl_weight : float
        The weight β of the KL term in :attr:`objective` (the KL warm-up).
    """

    reconstruction: torch.Tensor
    kl: torch.Tensor
    kl_weight: float = 1.0

    @property
    def elbo(self) -> torch.Tensor:
        """The ELBO itself, reconstruction - KL, whatever the warm-up weight."""
        return self.reconstruction - self.kl

    @property
    def objective(self) -> torch.Tensor:
        """What training maximises: reconstruction - β KL (equal to :attr:`elbo` once β = 1)."""
        return self.reconstruction - self.kl_weight * self.kl


class CountVAE(nn.Module):
    """An scVI-style variational autoencoder for a cells x genes count matrix.

    Generative model for cell n with observed library size :math:`\\ell_n = \\sum_g x_{ng}`:

    .. math::

        z_n \\sim N(0, I_d), \\qquad \\rho_n = \\mathrm{softmax}(f_\\psi(z_n)), \\qquad
        x_{ng} \\mid z_n \\sim \\mathrm{NB}(\\mu_{ng} = \\ell_n\\rho_{ng},\\ \\theta_g),

    with one inverse dispersion per gene, :math:`\\theta_g = e^{\\phi_g}` (log-parameterised, so unconstrained).
    Variational posterior :math:`q(z_n \\mid x_n) = N(m_\\phi(\\log(1 + x_n)),\\ \\mathrm{diag}\\,
    e^{v_\\phi(\\log(1 + x_n))})`: an encoder shared by all cells (amortised inference). Each network has one
    hidden layer of ``n_hidden`` ReLU units (scVI's defaults: 128 hidden units, 10 latent dimensions; scVI adds
    batch normalisation and dropout, left out here so that a run depends only on its seeds).

    Parameters
    ----------
    n_genes : int
        Number of genes (columns of the count matrix).
    n_latent : int
        Latent dimension d (default 10).
    n_hidden : int
        Hidden units of the encoder and of the decoder (default 128).
    seed : int, optional
        If given, the initial weights are drawn after ``torch.manual_seed(seed)`` inside ``torch.random.fork_rng``,
        so that the model is reproducible and the global random state is left as it was.
    """

    def __init__(self, n_genes: int, n_latent: int = 10, n_hidden: int = 128, seed: int | None = None) -> None:
        super().__init__()
        self.n_genes = check_integer(n_genes, "n_genes", minimum=1)
        self.n_latent = check_integer(n_latent, "n_latent", minimum=1)
        self.n_hidden = check_integer(n_hidden, "n_hidden", minimum=1)
        if seed is not None:
            check_integer(seed, "seed", minimum=0)
        context = torch.random.fork_rng(devices=[]) if seed is not None else contextlib.nullcontext()
        with context:
            if seed is not None:
                torch.manual_seed(seed)
            self.encoder = nn.Sequential(nn.Linear(n_genes, n_hidden), nn.ReLU())
            self.encoder_mean = nn.Linear(n_hidden, n_latent)
            self.encoder_log_var = nn.Linear(n_hidden, n_latent)
            self.decoder = nn.Sequential(nn.Linear(n_latent, n_hidden), nn.ReLU(), nn.Linear(n_hidden, n_genes))
            self.log_inverse_dispersion = nn.Parameter(torch.zeros(n_genes))

    def _counts(self, counts: Any, name: str = "counts") -> torch.Tensor:
        if isinstance(counts, torch.Tensor) and counts.dtype != torch.bool and not counts.is_complex():
            values = counts.detach().cpu().double().numpy()
        else:
            values = counts
        array = as_counts(values, name)
        if array.shape[1] != self.n_genes:
            hint = " (a genes x cells table? transpose it)" if array.shape[0] == self.n_genes else ""
            raise ValueError(f"{name} must be cells x genes with {self.n_genes} columns, got shape {array.shape}{hint}")
        parameter = self.log_inverse_dispersion
        return torch.as_tensor(array, dtype=parameter.dtype, device=parameter.device)

    def encode(self, counts: Any) -> tuple[torch.Tensor, torch.Tensor]:
        """Posterior mean and log-variance, each (n_cells, n_latent), from ``log1p`` of the counts.

        Parameters
        ----------
        counts : tensor or array_like, shape (n_cells, n_genes)
            Non-negative integer counts, cells as rows; converted to the model's dtype and device (a NumPy array
            or a float64 tensor is fine). ``TypeError`` if not numeric, ``ValueError`` for another shape (e.g. the
            genes x cells table), NaN, negative or non-integer values.
        """
        return self._encode(self._counts(counts))

    def _encode(self, counts: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        hidden = self.encoder(torch.log1p(counts))
        return self.encoder_mean(hidden), self.encoder_log_var(hidden)

    def decode_log_mean(self, z: Any, library_size: Any) -> torch.Tensor:
        """log μ = log ℓ + log softmax(f(z)): the NB log-means, (..., n_cells, n_genes), for latent codes ``z``.

        Parameters
        ----------
        z : tensor or array_like, shape (..., n_cells, n_latent)
            Latent codes (leading dimensions, e.g. Monte Carlo samples, are kept); a tensor keeps its graph.
        library_size : tensor or array_like, shape (n_cells,) or a scalar
            :math:`\\ell_n > 0`, each cell's total count over the modelled genes (0 would give log μ = -inf).
        """
        parameter = self.log_inverse_dispersion
        codes = _as_tensor(z, "z", dtype=parameter.dtype)
        if codes.ndim == 0 or codes.shape[-1] != self.n_latent:
            raise ValueError(
                f"z must have shape (..., n_cells, {self.n_latent}), one row of {self.n_latent} latent values per "
                f"cell, got shape {tuple(codes.shape)}"
            )
        library = _as_tensor(library_size, "library_size", dtype=parameter.dtype)
        n_cells = codes.shape[-2] if codes.ndim >= 2 else 1
        if library.ndim > 1 or (library.ndim == 1 and library.shape[0] not in (1, n_cells)):
            raise ValueError(
                f"library_size must hold one value per cell, shape ({n_cells},), or one scalar; "
                f"got shape {tuple(library.shape)}"
            )
        with torch.no_grad():
            if torch.any(library <= 0):
                raise ValueError("library_size must be positive: a cell with library size 0 has log-means -inf")
        return self._decode_log_mean(codes, library)

    def _decode_log_mean(self, z: torch.Tensor, library_size: torch.Tensor) -> torch.Tensor:
        return torch.log(library_size)[..., None] + torch.log_softmax(self.decoder(z), dim=-1)

    @property
    def inverse_dispersion(self) -> torch.Tensor:
        """θ_g = exp(φ_g), one per gene."""
        return self.log_inverse_dispersion.exp()

    def _elbo(
        self, counts: torch.Tensor, kl_weight: float, n_samples: int, generator: torch.Generator | None
    ) -> ELBOTerms:
        mean, log_var = self._encode(counts)
        noise = torch.randn((n_samples, *mean.shape), generator=generator, dtype=mean.dtype, device=mean.device)
        z = mean + torch.exp(0.5 * log_var) * noise  # the reparameterisation: z is differentiable in (mean, log_var)
        library_size = counts.sum(dim=-1).clamp_min(1.0)  # an empty cell would give log 0
        log_mean = self._decode_log_mean(z, library_size)
        log_likelihood = _nb_log_prob(counts, log_mean, self.log_inverse_dispersion).sum(dim=-1)
        kl = gaussian_kl(mean, log_var).sum(dim=-1)
        return ELBOTerms(reconstruction=log_likelihood.mean(dim=0), kl=kl, kl_weight=kl_weight)

    def elbo(
        self, counts: Any, kl_weight: float = 1.0, n_samples: int = 1, generator: torch.Generator | None = None
    ) -> ELBOTerms:
        """Per-cell ELBO terms: the reconstruction term estimated with ``n_samples`` reparameterised draws.

        .. math::

            \\mathrm{ELBO}(x_n) = E_{q(z\\mid x_n)}\\log p(x_n \\mid z) - \\mathrm{KL}(q(z\\mid x_n)\\,\\|\\,p(z))
            \\le \\log p(x_n),

        with :math:`z = m + \\sigma\\odot\\varepsilon`, :math:`\\varepsilon \\sim N(0, I)` drawn from ``generator``
        (the global generator if None).

        Parameters
        ----------
        counts : tensor or array_like, shape (n_cells, n_genes)
            Integer counts, cells as rows (the transpose of ``utils.data``'s genes x cells tables).
        kl_weight : float
            The warm-up weight β in [0, 1] of :attr:`ELBOTerms.objective`.
        n_samples : int
            Monte Carlo samples of z per cell.
        generator : torch.Generator, optional
            Source of the noise ε.
        """
        weight = check_scalar(kl_weight, "kl_weight", nonnegative=True, upper=1.0)
        samples = check_integer(n_samples, "n_samples", minimum=1)
        if generator is not None and not isinstance(generator, torch.Generator):
            raise TypeError(f"generator must be a torch.Generator or None, got {type(generator).__name__}")
        return self._elbo(self._counts(counts), weight, samples, generator)

    def forward(self, counts: Any) -> ELBOTerms:
        """The ELBO terms with one sample and weight 1 (see :meth:`elbo`)."""
        return self.elbo(counts)


@dataclass
class TrainingHistory:
    """Per-epoch record of :func:`train_vae`, arrays of shape (n_epochs,).

    Attributes
    ----------
    train_elbo : numpy.ndarray
        Mean per-cell ELBO (β = 1) over the epoch's minibatches, each with the weights it was computed with
        (scVI's ``elbo_train``).
    validation_elbo : numpy.ndarray or None
        Mean per-cell ELBO of the validation cells after the epoch, with the same noise ε every epoch.
    kl_weight : numpy.ndarray
        The KL warm-up weight β used during each epoch.
    """

    train_elbo: np.ndarray
    validation_elbo: np.ndarray | None
    kl_weight: np.ndarray


def train_vae(
    model: CountVAE,
    counts: Any,
    n_epochs: int,
    batch_size: int,
    lr: float,
    kl_warmup_epochs: int,
    seed: int,
    validation: Any = None,
    progress: bool = True,
) -> TrainingHistory:
    """Fit a :class:`CountVAE` by maximising the ELBO with Adam on shuffled minibatches of cells.

    Epoch e (from 0) maximises :math:`\\sum_n [E_q \\log p(x_n\\mid z) - \\beta_e\\,\\mathrm{KL}_n]` with the linear
    warm-up :math:`\\beta_e = \\min(1, e / E_{\\text{warm-up}})` (scVI's ``n_epochs_kl_warmup``; Bowman et al. 2016):
    early epochs learn to reconstruct before the prior pulls the posteriors together. The loss of a minibatch is the
    mean over its cells of the negative objective. A run is determined by ``seed`` and the model's initial weights:
    a ``torch.Generator`` seeded with ``seed`` draws the order of the cells and the noise ε, and the global random
    state is not used.

    Parameters
    ----------
    model : CountVAE
        Trained in place.
    counts : tensor or array_like, shape (n_cells, n_genes)
        Training counts, cells as rows.
    n_epochs, batch_size : int
        Passes over the data and cells per Adam step (the last minibatch may be smaller).
    lr : float
        Adam's learning rate.
    kl_warmup_epochs : int
        Epochs over which β rises linearly from 0 to 1; 0 means β = 1 from the start.
    seed : int
        Seed of the generator of the shuffling and of ε.
    validation : tensor or array_like, shape (n_validation, n_genes), optional
        Held-out cells whose ELBO is recorded after every epoch (not used for fitting).
    progress : bool
        Show a ``tqdm.auto`` progress bar over epochs (removed when done).

    Returns
    -------
    TrainingHistory
    """
    if not isinstance(model, CountVAE):
        raise TypeError(f"model must be a CountVAE, got {type(model).__name__}")
    train_counts = model._counts(counts, "counts")
    validation_counts = None if validation is None else model._counts(validation, "validation")
    epochs = check_integer(n_epochs, "n_epochs", minimum=1)
    size = check_integer(batch_size, "batch_size", minimum=1)
    rate = check_scalar(lr, "lr", positive=True)
    warmup = check_integer(kl_warmup_epochs, "kl_warmup_epochs", minimum=0)
    seed = check_integer(seed, "seed", minimum=0)
    if not isinstance(progress, bool | np.bool_):
        raise TypeError(f"progress must be True or False, got {type(progress).__name__}")

    generator = torch.Generator().manual_seed(seed)
    optimizer = torch.optim.Adam(model.parameters(), lr=rate)
    n_cells = train_counts.shape[0]
    train_elbo, validation_elbo, weights = [], [], []
    bar = tqdm(range(epochs), desc="training the VAE", unit="epoch", disable=not progress, leave=False)
    for epoch in bar:
        weight = 1.0 if warmup == 0 else min(1.0, epoch / warmup)
        model.train()
        order = torch.randperm(n_cells, generator=generator)
        elbo_sum = 0.0
        for start in range(0, n_cells, size):
            batch = train_counts[order[start : start + size]]
            terms = model._elbo(batch, weight, 1, generator)
            loss = -terms.objective.mean()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            elbo_sum += float(terms.elbo.detach().sum())
        train_elbo.append(elbo_sum / n_cells)
        weights.append(weight)
        if validation_counts is not None:
            model.eval()
            with torch.no_grad():
                # the same ε every epoch: the curve moves only because the weights do
                fixed = torch.Generator().manual_seed(seed)
                validation_elbo.append(float(model._elbo(validation_counts, 1.0, 1, fixed).elbo.mean()))
        bar.set_postfix(elbo=f"{train_elbo[-1]:.1f}", refresh=False)
    model.eval()
    return TrainingHistory(
        train_elbo=np.array(train_elbo),
        validation_elbo=None if validation_counts is None else np.array(validation_elbo),
        kl_weight=np.array(weights),
    )
