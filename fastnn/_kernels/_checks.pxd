# Argument checks for the kernels' Python entry points.
#
# Kernels trust their inputs, so every `def` kernel first runs its arguments through these
# helpers. They use the NumPy C-API rather than typed memoryviews: acquiring a memoryview costs
# about 150 ns per argument, more than a whole small-shape kernel, while these checks cost a few
# nanoseconds each. Every error names the argument and what was expected.
#
# Inputs that are not C-contiguous are copied (a view is never rejected); outputs must be
# C-contiguous, writeable and of the exact shape and dtype, because a kernel cannot write into a
# copy on the caller's behalf. Then every output is checked against every input (as the kernel
# reads it, after any copy) and every other output by distinct_or_same: no shared memory,
# except an output that is exactly an input where the kernel documents in-place use.
cimport numpy as cnp
from cpython.long cimport PyLong_AsLongLongAndOverflow, PyLong_Check
from cpython.number cimport PyNumber_Index
from libc.stdint cimport uintptr_t


cdef extern from *:
    """
    #ifndef FASTNN_NUM_PROCS
    #define FASTNN_NUM_PROCS
    #ifdef _OPENMP
    #include <omp.h>
    static int fnn_num_procs(void) { return omp_get_num_procs(); }
    #else
    static int fnn_num_procs(void) { return 1; }
    #endif
    #endif
    """
    int fnn_num_procs() nogil


cdef inline int thread_count(object n_threads) except -1:
    """The threads a kernel asked for `n_threads` runs on. n_threads is any integer (a Python
    int of any size, a NumPy integer, anything with __index__; TypeError otherwise): ValueError
    below 1; above the processors this process may run on (OpenMP's omp_get_num_procs(); 1 in
    a build without OpenMP), that many, however large. An OpenMP team of 100000 threads
    crashes; more than the processors only wait on each other."""
    if n_threads is 1:  # the default (CPython's one object 1): no call on the common path
        return 1
    cdef int overflow = 0
    if not PyLong_Check(n_threads):
        n_threads = PyNumber_Index(n_threads)
    cdef long long n = PyLong_AsLongLongAndOverflow(n_threads, &overflow)
    if n == 1 and overflow == 0:
        return 1  # no system call
    if overflow < 0 or (overflow == 0 and n < 1):
        raise ValueError(f"n_threads must be >= 1, got {n_threads}")
    cdef int procs = fnn_num_procs()
    if procs < 1:
        procs = 1
    return <int>n if overflow == 0 and n <= procs else procs


cdef inline Py_ssize_t count_in(object x, str name, Py_ssize_t lo, Py_ssize_t hi) except? -1:
    """x, an integer of any size (as thread_count takes it), if lo <= x < hi; ValueError naming
    `name` otherwise (never OverflowError: 2**70 is out of range like -1 is)."""
    cdef int overflow = 0
    if not PyLong_Check(x):
        x = PyNumber_Index(x)
    cdef long long n = PyLong_AsLongLongAndOverflow(x, &overflow)
    if overflow != 0 or not lo <= n < hi:
        raise ValueError(f"{name} must be in [{lo}, {hi}), got {x}")
    return n


cdef inline int float_typenum(object a, str name) except -1:
    """The dtype number of `a`, which must be a float32 or float64 ndarray; it sets the kernel's dtype."""
    if not cnp.PyArray_Check(a):
        raise TypeError(f"{name} must be a numpy.ndarray, got {type(a).__name__}")
    cdef int t = cnp.PyArray_TYPE(<cnp.ndarray>a)
    if t != cnp.NPY_FLOAT32 and t != cnp.NPY_FLOAT64:
        raise TypeError(f"{name} must have dtype float32 or float64, got {(<cnp.ndarray>a).dtype}")
    return t


cdef inline object shape(cnp.ndarray a):
    """The shape tuple (a typed ndarray's .shape is the C array)."""
    return (<object>a).shape


cdef inline str _dtype_name(int typenum):
    return "float32" if typenum == cnp.NPY_FLOAT32 else "float64"


cdef inline cnp.ndarray _checked(object a, str name, int typenum, int ndim):
    if not cnp.PyArray_Check(a):
        raise TypeError(f"{name} must be a numpy.ndarray, got {type(a).__name__}")
    cdef cnp.ndarray arr = <cnp.ndarray>a
    if cnp.PyArray_TYPE(arr) != typenum:
        raise TypeError(f"{name} must have dtype {_dtype_name(typenum)} like the other "
                        f"arrays, got {arr.dtype}")
    if ndim >= 0 and cnp.PyArray_NDIM(arr) != ndim:
        raise ValueError(f"{name} must be {ndim}-dimensional, got shape {shape(arr)}")
    return arr


cdef inline cnp.ndarray input_array(object a, str name, int typenum, int ndim):
    """`a` as a C-contiguous ndarray of dtype `typenum` and `ndim` dimensions (-1: any)."""
    cdef cnp.ndarray arr = _checked(a, name, typenum, ndim)
    if not cnp.PyArray_IS_C_CONTIGUOUS(arr):
        arr = cnp.PyArray_GETCONTIGUOUS(arr)
    return arr


cdef inline cnp.ndarray output_array(object a, str name, int typenum, int ndim):
    """`a` itself, checked to be a writeable C-contiguous ndarray of the given dtype and ndim."""
    cdef cnp.ndarray arr = _checked(a, name, typenum, ndim)
    if not cnp.PyArray_IS_C_CONTIGUOUS(arr):
        raise ValueError(f"{name} is an output and must be C-contiguous")
    if not cnp.PyArray_ISWRITEABLE(arr):
        raise ValueError(f"{name} is an output and must be writeable")
    return arr


cdef inline cnp.ndarray label_array(object a, str name, Py_ssize_t n, Py_ssize_t n_classes):
    """Integer class labels: a 1-D array of length n with values in [0, n_classes), as intp."""
    if not cnp.PyArray_Check(a):
        raise TypeError(f"{name} must be a numpy.ndarray, got {type(a).__name__}")
    cdef cnp.ndarray arr = <cnp.ndarray>a
    if not cnp.PyArray_ISINTEGER(arr):
        raise TypeError(f"{name} holds class labels and must have an integer dtype, got {arr.dtype}")
    if cnp.PyArray_NDIM(arr) != 1 or cnp.PyArray_DIM(arr, 0) != n:
        raise ValueError(f"{name} must have shape ({n},), got {shape(arr)}")
    if cnp.PyArray_TYPE(arr) != cnp.NPY_INTP or not cnp.PyArray_IS_C_CONTIGUOUS(arr):
        arr = cnp.PyArray_FROMANY(arr, cnp.NPY_INTP, 1, 1, cnp.NPY_ARRAY_C_CONTIGUOUS)
    cdef const Py_ssize_t* labels = <const Py_ssize_t*>cnp.PyArray_DATA(arr)
    cdef Py_ssize_t i
    for i in range(n):
        if labels[i] < 0 or labels[i] >= n_classes:
            raise ValueError(f"{name}[{i}] = {labels[i]} is not a class index in [0, {n_classes})")
    return arr


cdef inline void* data_or_null(cnp.ndarray a):
    return cnp.PyArray_DATA(a) if a is not None else NULL


cdef inline int same_shape(cnp.ndarray a, str a_name, cnp.ndarray b, str b_name) except -1:
    cdef int d
    if cnp.PyArray_NDIM(a) == cnp.PyArray_NDIM(b):
        for d in range(cnp.PyArray_NDIM(a)):
            if cnp.PyArray_DIM(a, d) != cnp.PyArray_DIM(b, d):
                break
        else:
            return 0
    raise ValueError(f"{b_name} must have the shape of {a_name} {shape(a)}, got {shape(b)}")


cdef inline int dim_equals(Py_ssize_t got, Py_ssize_t want, str what) except -1:
    if got != want:
        raise ValueError(f"{what} must be {want}, got {got}")
    return 0


cdef struct Span:
    uintptr_t start     # the first byte of a C-contiguous array's data,
    uintptr_t end       # one past its last; both 0 for an empty array, which shares nothing


cdef inline Span span(cnp.ndarray a) noexcept:
    """The bytes of a C-contiguous array (without PyArray_NBYTES's call through the NumPy
    C-API table)."""
    cdef Py_ssize_t n = cnp.PyArray_ITEMSIZE(a)
    cdef int d
    for d in range(cnp.PyArray_NDIM(a)):
        n *= cnp.PyArray_DIM(a, d)
    cdef Span s
    s.start = <uintptr_t>cnp.PyArray_DATA(a) if n > 0 else 0
    s.end = s.start + <uintptr_t>n if n > 0 else 0
    return s


cdef extern from *:
    """
    #ifndef FASTNN_SHARED_MEMORY
    #define FASTNN_SHARED_MEMORY
    /* distinct_or_same's error, out of line: the check inlined into every kernel stays a few
       compares, with no string formatting among them. */
    #if defined(__GNUC__)
    __attribute__((noinline, cold))
    #endif
    static int fnn_shared_memory(PyObject* out_name, PyObject* a_name, int in_place) {
        if (in_place)
            PyErr_Format(PyExc_ValueError, "%U must not share memory with %U (unless it is %U "
                         "itself, in place)", out_name, a_name, a_name);
        else
            PyErr_Format(PyExc_ValueError, "%U must not share memory with %U", out_name, a_name);
        return -1;
    }
    #endif
    """
    int fnn_shared_memory(object out_name, object a_name, int in_place) except -1


cdef inline int spans_apart(Span out, str out_name, Span a, str a_name,
                            bint in_place) except -1:
    """The one aliasing rule of every kernel, for an output `out` and another argument `a` (an
    input or another output), both C-contiguous, so each is one block of bytes: they must not
    share memory, except that with `in_place` (where the kernel says an output may be that
    input) `out` may be exactly `a` (the same start and size; the kernels check the shapes). A
    partial overlap is never allowed: the kernel would read values it has already overwritten.
    Four compares: about a nanosecond a pair."""
    if out.start < a.end and a.start < out.end and not (
            in_place and out.start == a.start and out.end == a.end):
        return fnn_shared_memory(out_name, a_name, in_place)
    return 0


cdef inline int distinct_or_same(cnp.ndarray out, str out_name, cnp.ndarray a, str a_name,
                                 bint in_place) except -1:
    """spans_apart for two arrays (a kernel that checks several pairs takes each span once)."""
    return spans_apart(span(out), out_name, span(a), a_name, in_place)


cdef inline cnp.ndarray sample_weights(object w, str name, int typenum, Py_ssize_t n):
    """Per-sample weights: None, or a 1-D array of n non-negative numbers with a positive sum."""
    if w is None:
        return None
    cdef cnp.ndarray arr = input_array(w, name, typenum, 1)
    dim_equals(cnp.PyArray_DIM(arr, 0), n, f"len({name})")
    cdef double total = 0, wi
    cdef Py_ssize_t i
    for i in range(n):
        wi = (<const float*>cnp.PyArray_DATA(arr))[i] if typenum == cnp.NPY_FLOAT32 \
            else (<const double*>cnp.PyArray_DATA(arr))[i]
        if not wi >= 0:  # also catches NaN
            raise ValueError(f"{name}[{i}] = {wi} must be a non-negative number")
        total += wi
    if not total > 0 or total == float("inf"):
        raise ValueError(f"{name} must have a positive, finite sum, got {total}")
    return arr
