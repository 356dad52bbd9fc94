# Argument checks for the kernels' Python entry points.
#
# Kernels trust their inputs, so every `def` kernel first runs its arguments through these
# helpers. They use the NumPy C-API rather than typed memoryviews: acquiring a memoryview costs
# about 150 ns per argument, more than a whole small-shape kernel, while these checks cost a few
# nanoseconds each. Every error names the argument and what was expected.
#
# Inputs that are not C-contiguous are copied (a view is never rejected); outputs must be
# C-contiguous, writeable and of the exact shape and dtype, because a kernel cannot write into a
# copy on the caller's behalf.
cimport numpy as cnp
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


cdef inline int thread_count(int n_threads) except -1:
    """The threads a kernel asked for `n_threads` runs on: ValueError below 1; above the
    processors this process may run on (OpenMP's omp_get_num_procs(); 1 in a build without
    OpenMP), that many. An OpenMP team of 100000 threads crashes; more than the processors
    only wait on each other."""
    if n_threads < 1:
        raise ValueError(f"n_threads must be >= 1, got {n_threads}")
    if n_threads == 1:
        return 1  # no system call on the common path
    cdef int procs = fnn_num_procs()
    return n_threads if n_threads <= procs else (procs if procs > 1 else 1)


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


cdef inline int no_overlap(cnp.ndarray out, str out_name, cnp.ndarray a, str a_name) except -1:
    """A BLAS output may not share memory with an operand (both are contiguous blocks here)."""
    cdef uintptr_t o = <uintptr_t>cnp.PyArray_DATA(out)
    cdef uintptr_t p = <uintptr_t>cnp.PyArray_DATA(a)
    if o < p + <uintptr_t>cnp.PyArray_NBYTES(a) and p < o + <uintptr_t>cnp.PyArray_NBYTES(out):
        raise ValueError(f"{out_name} must not share memory with {a_name}")
    return 0


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
