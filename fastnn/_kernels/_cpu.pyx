"""Which of the kernel builds this CPU can run (see fastnn/_kernels/__init__.py)."""

cdef extern from *:
    """
    #if defined(FASTNN_ISA_VARIANTS) && defined(__x86_64__)
    static int fnn_cpu_supports(int level) {
        __builtin_cpu_init();
        if (level == 4) return __builtin_cpu_supports("x86-64-v4") != 0;
        if (level == 3) return __builtin_cpu_supports("x86-64-v3") != 0;
        return 0;
    }
    #else
    static int fnn_cpu_supports(int level) { (void)level; return 0; }
    #endif
    """
    int fnn_cpu_supports(int level) nogil


def supported_variants():
    """The ISA-specific kernel builds this CPU runs, best first (the baseline runs everywhere)."""
    return [name for level, name in ((4, "x86_64_v4"), (3, "x86_64_v3"))
            if fnn_cpu_supports(level)]
