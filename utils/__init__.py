"""Helpers the curriculum's notebooks import, one module per topic.

- ``utils.data``: checksum-verified loaders for pasilla, airway and PBMC; CPM and log-CPM.
- ``utils.calculus``: central-difference gradients, Jacobians and Hessians; gradient checking.
- ``utils.plotting``: the house style, contour plots with gradient arrows, convergence and MA plots.
- ``utils.linalg``: design diagnostics (condition number, collinear columns), least squares by QR for many
  responses, soft-thresholding.
- ``utils.glm``: Poisson and negative-binomial GLMs fitted by IRLS for all genes at once (DESeq2's model).
- ``utils.linear_models``: limma-style gene-wise linear models, contrasts and design matrices.
- ``utils.regularization``: k-fold splits and the LASSO path with its KKT check.
- ``utils.decompositions``: randomized SVD and PCA.
- ``utils.checks``: the exercise checks, one module per notebook.

The lessons write each algorithm by hand first; these are the validated, vectorised versions they then
compare with and reuse.
"""
