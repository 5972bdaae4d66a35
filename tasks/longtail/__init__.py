"""Long-tail classification: a long-tailed training set, a balanced test set.

Protocol hooks a long-tail method provides (see ``methods/longtail/base.py``):

* ``loss(logits, y, ctx)`` — the training loss on a mini-batch; ``ctx`` is a
  :class:`tasks.longtail._train_loop.LossContext` (training prior, class counts, progress 0..1);
* ``postprocess(logits, log_prior)`` — logits → adjusted scores used for prediction;
* ``base`` — ``None`` if the method trains its own model, else ``(method, params)`` of the
  trained cell whose stored test logits it post-processes (a τ sweep reuses one ERM model).
"""
