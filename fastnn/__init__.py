"""fastnn: multi-layer perceptrons with compiled Cython kernels, exact against a NumPy reference."""
__version__ = "0.1.0"
