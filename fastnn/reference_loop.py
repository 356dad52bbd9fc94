"""A plain-NumPy training loop for the networks the engine runs: the reference the engine is
tested against and the "NumPy loop" of the benchmarks.

Built on fastnn.reference only (NumPy; temporaries allocated as NumPy code does), nnfs style:
per batch, gather, forward, loss with its gradient, backward, update.
"""
import numpy as np

from fastnn import reference as R
from fastnn import registry


class ReferenceNetwork:
    """layers: [(W, b, activation name, alpha, dropout rate, dropout state or None[, norm])],
    norm: None or ("batch", gamma, beta, running_mean, running_var, momentum, eps) or
    ("layer", gamma, beta, eps), between the Dense and the activation; loss: a
    fastnn.reference loss function name (and eps); optimizer: (name, hyperparameters, decay);
    clipping: {"clipnorm" | "global_clipnorm" | "clipvalue": value} as the optimizers take them;
    schedule: a callable of the step number giving the learning rate instead of
    hyperparameters["lr"]."""

    def __init__(self, layers, loss, optimizer, loss_eps=None, clipping=None, schedule=None):
        self.clipping, self.schedule = dict(clipping or {}), schedule
        self.layers = [[W.copy(), b.copy(), act, alpha, rate, None if st is None else st.copy()]
                       for W, b, act, alpha, rate, st, *_ in layers]
        self.norms = [None if len(layer) < 7 or layer[6] is None else
                      [a.copy() if isinstance(a, np.ndarray) else a for a in layer[6]]
                      for layer in layers]
        self.loss, self.loss_eps = getattr(R, loss), loss_eps
        self.opt_name, self.hyper, self.decay = optimizer
        self.iterations = 0
        self.entry = next(e for e in registry.OPTIMIZERS if e.kernel == self.opt_name)
        n_state = len(self.entry.state)
        if self.entry.state_if is not None and not self.hyper.get(self.entry.state_if, 0):
            n_state = 0
        self.state = [[np.zeros_like(p) for _ in range(n_state)] for p in self.parameters()]

    def parameters(self):
        return [p for layer, norm in zip(self.layers, self.norms)
                for p in layer[:2] + ([] if norm is None else norm[1:3])]

    @staticmethod
    def _norm_forward(norm, z, training):
        """The norm's output and what its backward reads (xhat, inv_std)."""
        out, xhat = np.empty_like(z), np.empty_like(z)
        if norm[0] == "layer":
            inv = np.empty(len(z), z.dtype)
            R.layer_norm_forward(z, norm[1], norm[2], out, xhat, inv, norm[3])
        elif training:
            inv = np.empty(z.shape[1], z.dtype)
            R.batch_norm_forward(z, norm[1], norm[2], out, xhat, inv, norm[3], norm[4], norm[5],
                                 norm[6])
        else:
            R.batch_norm_inference(z, norm[1], norm[2], norm[3], norm[4], out, norm[6])
            inv = None
        return out, (xhat, inv)

    def predict(self, X):
        """The outputs of the layers (inference: running statistics, no dropout)."""
        a = X
        for (W, b, act, alpha, _, _), norm in zip(self.layers, self.norms):
            z = np.empty((len(a), W.shape[1]), a.dtype)
            R.dense_forward(a, W, b, z)
            if norm is not None:
                z = self._norm_forward(norm, z, False)[0]
            a = self._act(act, z, alpha)
        return a

    @staticmethod
    def _extra(name, alpha):
        return (alpha,) if registry.activation(name).hyper is not None else ()

    def _act(self, name, z, alpha):
        out = np.empty_like(z)
        return getattr(R, name + "_forward")(z, out, *self._extra(name, alpha))

    def step(self, Xb, yb, wb=None):
        inputs, outs, masks, kept = [], [], [], []  # outs: what each activation's backward reads
        a = Xb
        for (W, b, act, alpha, rate, state), norm in zip(self.layers, self.norms):
            inputs.append(a)
            z = np.empty((len(a), W.shape[1]), a.dtype)
            R.dense_forward(a, W, b, z)
            if norm is not None:
                z, saved = self._norm_forward(norm, z, True)
                kept.append(saved)
            else:
                kept.append(None)
            a = self._act(act, z, alpha)
            outs.append(z if registry.activation(act).from_input else a)
            mask = None
            if rate > 0:
                mask, dropped = np.empty_like(a), np.empty_like(a)
                a = R.dropout_forward(a, dropped, mask, rate, state)
            masks.append(mask)
        grad = np.empty_like(a)
        extra = () if self.loss_eps is None else (self.loss_eps,)
        loss = self.loss(a, yb, grad, wb, *extra)
        if not np.isfinite(loss):
            return loss, a
        grads = []
        for (W, b, act, alpha, _rate, _state), norm, saved, x, y, mask in zip(
                self.layers[::-1], self.norms[::-1], kept[::-1], inputs[::-1], outs[::-1],
                masks[::-1]):
            if mask is not None:
                grad = grad * mask
            dz = np.empty_like(grad)
            getattr(R, act + "_backward")(y, grad, dz, *self._extra(act, alpha))
            norm_grads = []
            if norm is not None:
                dgamma, dbeta = np.empty_like(norm[1]), np.empty_like(norm[2])
                dn = np.empty_like(dz)
                getattr(R, norm[0] + "_norm_backward")(saved[0], saved[1], norm[1], dz, dgamma,
                                                       dbeta, dn)
                dz, norm_grads = dn, [dgamma, dbeta]
            dW, db, dx = np.empty_like(W), np.empty_like(b), np.empty_like(x)
            R.dense_backward(x, W, dz, dW, db, dx)
            grads[:0] = [dW, db] + norm_grads
            grad = dx
        self._clip(grads)
        base = self.hyper["lr"] if self.schedule is None else self.schedule(self.iterations)
        lr = base / (1 + self.decay * self.iterations)
        hyper = {k: v for k, v in self.hyper.items() if k != "lr"}
        for p, g, state in zip(self.parameters(), grads, self.state):
            t = (self.iterations + 1,) if self.entry.step_number else ()
            getattr(R, self.opt_name)(p, g, *state, *t, lr=lr, **hyper)
        self.iterations += 1
        return loss, a

    def _clip(self, grads):
        """torch's clip_grad_norm_ per parameter (clipnorm) or over all (global_clipnorm),
        then clip_grad_value_ (clipvalue), on the reference's sums of squares."""
        norm, total = self.clipping.get("clipnorm"), self.clipping.get("global_clipnorm")
        scale = 1.0
        if total is not None:
            coef = total / (np.sqrt(sum(R.grad_sum_squares(g) for g in grads)) + 1e-6)
            scale = min(coef, 1.0)
        for g in grads:
            if norm is not None:
                scale = min(norm / (np.sqrt(R.grad_sum_squares(g)) + 1e-6), 1.0)
            R.clip_gradient(g, scale, self.clipping.get("clipvalue") or 0.0)

    def epoch(self, X, y, order, batch_size, sample_weight=None):
        total = 0.0
        for start in range(0, len(X), batch_size):
            idx = order[start:start + batch_size]
            w = None if sample_weight is None else sample_weight[idx]
            loss, _ = self.step(X[idx], y[idx], w)
            total += loss * len(idx)
        return total / len(X)
