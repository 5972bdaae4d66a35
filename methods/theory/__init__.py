"""Methods of the ``theory`` family: the variants an article compares (a solver, a backend, an
activation, an optimizer's update rule, a loss form, a perturbation, a regulariser). Each
implements one hook of ``base.py`` and declares in ``tasks`` the task that calls it."""
