/* SynapticQ's per-synapse loops that numpy cannot fuse: who deviates (`sample`) and every
 * synapse's next action (`choose`).
 *
 * The maths, the state layout and the pure-numpy references (`_draw_deviators` with
 * kernel="numpy", `_choose_numpy`) are in synaptic_q.py; this file computes exactly the
 * same arrays, bit for bit. `sample` is below; `choose` makes one pass over the synapses
 * (fixing the deviators of each block while it is in cache):
 *
 *   a_{t+1}[i] = greedy[row(hist[i])]                       every synapse
 *   a_{t+1}[p] = (greedy[row(hist[p])] + 1 + bit) mod 3     each deviator p
 *   next[i]    = 4 a_t[i] + a_{t+1}[i]   (a_t[i] = hist[i] & 3)
 *   delta[i]   = alpha(i) * (a_{t+1}[i] - 1)
 *
 * with hist[i] = 4 a_{t-1} + a_t, row(h) = 3 (h >> 2) + (h & 3), and alpha(i) the step
 * of the weight array that synapse i belongs to. The greedy lookup is written as nine
 * compare-and-selects, which compilers turn into SIMD code (a table load is a gather,
 * which they do not vectorise).
 *
 * Built by setup.py as an optional extension: without a C compiler the package falls
 * back to the numpy references. Plain C99, the buffer protocol and numpy's documented
 * bit-generator struct only (no numpy headers).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>

/* history codes 4 a_{t-1} + a_t of the nine action pairs, in Q-table row order */
static const uint8_t HISTORY_CODES[9] = {0, 1, 2, 4, 5, 6, 8, 9, 10};

static void choose_greedy(const uint8_t *restrict hist, Py_ssize_t n,
                          const uint8_t greedy[9], double alpha,
                          double *restrict delta, uint8_t *restrict next)
{
    for (Py_ssize_t i = 0; i < n; i++) {
        const uint8_t h = hist[i];
        uint8_t a = 0;
        for (int c = 0; c < 9; c++)
            a |= (uint8_t)(h == HISTORY_CODES[c]) * greedy[c];
        next[i] = (uint8_t)(((h & 3) << 2) | a);
        delta[i] = alpha * (double)((int)a - 1);
    }
}

/* Synapses per block: deviators are fixed soon after their block is written, while it is
 * still in cache (ask draws them block by block, see _draw_deviators). */
#define BLOCK 4096

/* Every synapse's action; returns the index of the first bad deviator, or -1. A deviator
 * is applied once the greedy pass has passed its position, so any order is correct. */
static Py_ssize_t choose_all(const uint8_t *restrict hist, const uint8_t greedy[9],
                             const int64_t *restrict pos, const uint8_t *restrict bit,
                             Py_ssize_t k,
                             const int64_t *restrict stops, const double *restrict alphas,
                             Py_ssize_t segments, double *restrict delta,
                             uint8_t *restrict next, int64_t *restrict by_code)
{
    static const uint8_t MOD3[5] = {0, 1, 2, 0, 1};
    Py_ssize_t j = 0;
    for (Py_ssize_t s = 0; s < segments; s++) {
        for (int64_t start = s ? stops[s - 1] : 0; start < stops[s]; start += BLOCK) {
            const int64_t stop = start + BLOCK < stops[s] ? start + BLOCK : stops[s];
            choose_greedy(hist + start, stop - start, greedy, alphas[s], delta + start,
                          next + start);
            for (; j < k && pos[j] < stop; j++) {
                const int64_t p = pos[j];
                if (p < 0 || bit[j] > 1 || hist[p] > 10 || (hist[p] & 3) == 3)
                    return j;
                const uint8_t h = hist[p];
                Py_ssize_t segment = 0; /* the weight array of p: few, scan them */
                while (p >= stops[segment])
                    segment++;
                const uint8_t a = MOD3[greedy[3 * (h >> 2) + (h & 3)] + 1 + bit[j]];
                next[p] = (uint8_t)(((h & 3) << 2) | a);
                delta[p] = alphas[segment] * (double)((int)a - 1);
                by_code[2 * h + bit[j]]++;
            }
        }
    }
    return j < k ? j : -1; /* left over: a position >= n */
}

/* ------------------------------------------------------------------------------------
 * Who deviates: numpy's Generator.choice(pop, k, replace=False), draw for draw.
 *
 * For pop > 10000 and k > pop // 50 (the deviators of a block of synapses), numpy
 * shuffles the tail of a fresh arange(pop): for i = pop-1 down to max(pop-k, 1) it swaps
 * i with j drawn uniformly from 0..i, and returns the last k entries. Writing the
 * arange and copying the tail out costs more than the k draws; here the identity lives
 * in a scratch array the caller owns, and is put back after each block in O(k).
 * Same bit generator, same draws in the same order: the same positions as numpy.
 * ------------------------------------------------------------------------------------ */

/* numpy/random/bitgen.h: what BitGenerator.capsule points to */
typedef struct {
    void *state;
    uint64_t (*next_uint64)(void *state);
    uint32_t (*next_uint32)(void *state);
    double (*next_double)(void *state);
    uint64_t (*next_raw)(void *state);
} bitgen_t;

/* Uniform on 0..bound for 0 < bound < 2^32 - 1: Lemire's multiply-and-reject on 32-bit
 * draws, as numpy's random_bounded_uint64(bitgen, 0, bound, 0, 0) does for such bounds */
static uint32_t bounded_uint32(bitgen_t *bitgen, uint32_t bound)
{
    const uint32_t excl = bound + 1;
    uint64_t m = (uint64_t)bitgen->next_uint32(bitgen->state) * excl;
    uint32_t leftover = (uint32_t)m;
    if (leftover < excl) {
        const uint32_t threshold = (UINT32_MAX - bound) % excl;
        while (leftover < threshold) {
            m = (uint64_t)bitgen->next_uint32(bitgen->state) * excl;
            leftover = (uint32_t)m;
        }
    }
    return (uint32_t)(m >> 32);
}

static void sample_tail(bitgen_t *bitgen, int32_t *restrict scratch, Py_ssize_t pop,
                        Py_ssize_t k, int64_t offset, int64_t *restrict out)
{
    const Py_ssize_t first = pop - k > 1 ? pop - k : 1;
    for (Py_ssize_t i = pop - 1; i >= first; i--) {
        const uint32_t j = bounded_uint32(bitgen, (uint32_t)i);
        const int32_t moved = scratch[j];
        scratch[j] = scratch[i];
        scratch[i] = moved;
    }
    for (Py_ssize_t c = 0; c < k; c++)
        out[c] = scratch[pop - k + c] + offset;
    /* Back to the identity. A position below the tail that a swap touched gave its value
     * to the tail, so it is one of the values just copied out; the tail is reset whole. */
    for (Py_ssize_t c = 0; c < k; c++)
        scratch[out[c] - offset] = (int32_t)(out[c] - offset);
    for (Py_ssize_t p = pop - k; p < pop; p++)
        scratch[p] = (int32_t)p;
}

PyDoc_STRVAR(sample_doc,
"sample(bitgen_capsule, scratch, pop, offset, out)\n"
"--\n\n"
"Fill out (int64[k]) with offset + Generator.choice(pop, k, replace=False) for\n"
"pop > 10000 and k > pop // 50, drawing from the bit generator of the capsule (hold\n"
"its lock). scratch: int32 identity, len >= pop, left as it was found.");

static PyObject *sample(PyObject *self, PyObject *args)
{
    PyObject *capsule;
    Py_buffer scratch, out;
    Py_ssize_t pop;
    long long offset;
    (void)self;
    if (!PyArg_ParseTuple(args, "Ow*nLw*", &capsule, &scratch, &pop, &offset, &out))
        return NULL;
    PyObject *result = NULL;
    const Py_ssize_t k = out.len / 8;
    bitgen_t *bitgen = PyCapsule_GetPointer(capsule, "BitGenerator");
    if (bitgen == NULL)
        goto done;
    if (pop < 2 || pop > INT32_MAX || scratch.len < 4 * pop || out.len % 8 || k > pop) {
        PyErr_Format(PyExc_ValueError,
                     "_synaptic_q_kernel.sample: expected 2 <= pop < 2^31, len(scratch) >= "
                     "pop and len(out) <= pop; got pop=%zd, %zd scratch bytes, %zd out bytes",
                     pop, scratch.len, out.len);
        goto done;
    }
    Py_BEGIN_ALLOW_THREADS
    sample_tail(bitgen, scratch.buf, pop, k, offset, out.buf);
    Py_END_ALLOW_THREADS
    result = Py_None;
    Py_INCREF(result);
done:
    PyBuffer_Release(&scratch);
    PyBuffer_Release(&out);
    return result;
}

static int check_length(const Py_buffer *buffer, Py_ssize_t expected, const char *name)
{
    if (buffer->len != expected) {
        PyErr_Format(PyExc_ValueError,
                     "_synaptic_q_kernel.choose: '%s' has %zd bytes, expected %zd",
                     name, buffer->len, expected);
        return 0;
    }
    return 1;
}

PyDoc_STRVAR(choose_doc,
"choose(hist, greedy, pos, bit, stops, alphas, delta, next, by_code)\n"
"--\n\n"
"Fill delta (float64), next (uint8) and by_code (int64[32], added to) with every\n"
"synapse's next action; see synaptic_q._choose_numpy for the meaning of each array.");

static PyObject *choose(PyObject *self, PyObject *args)
{
    Py_buffer hist, greedy, pos, bit, stops, alphas, delta, next, by_code;
    (void)self;
    if (!PyArg_ParseTuple(args, "y*y*y*y*y*y*w*w*w*", &hist, &greedy, &pos, &bit, &stops,
                          &alphas, &delta, &next, &by_code))
        return NULL;
    PyObject *result = NULL;
    const Py_ssize_t n = hist.len, k = bit.len, segments = alphas.len / 8;
    if (!(check_length(&greedy, 9, "greedy") && check_length(&pos, 8 * k, "pos")
          && check_length(&stops, 8 * segments, "stops")
          && check_length(&delta, 8 * n, "delta") && check_length(&next, n, "next")
          && check_length(&by_code, 8 * 32, "by_code")))
        goto done;
    const int64_t *stop = stops.buf;
    const double *alpha = alphas.buf;
    if (segments == 0 || stop[segments - 1] != n) {
        PyErr_SetString(PyExc_ValueError,
                        "_synaptic_q_kernel.choose: the last of 'stops' must be len(hist)");
        goto done;
    }
    for (Py_ssize_t s = 0; s < segments; s++) {
        const int64_t start = s ? stop[s - 1] : 0;
        if (stop[s] < start) {
            PyErr_SetString(PyExc_ValueError,
                            "_synaptic_q_kernel.choose: 'stops' must not decrease");
            goto done;
        }
    }
    uint8_t table[9];
    for (int c = 0; c < 9; c++) {
        table[c] = ((const uint8_t *)greedy.buf)[c];
        if (table[c] > 2) {
            PyErr_SetString(PyExc_ValueError,
                            "_synaptic_q_kernel.choose: greedy actions must be 0, 1 or 2");
            goto done;
        }
    }
    Py_ssize_t bad;
    Py_BEGIN_ALLOW_THREADS
    bad = choose_all(hist.buf, table, pos.buf, bit.buf, k, stop, alpha, segments,
                     delta.buf, next.buf, by_code.buf);
    Py_END_ALLOW_THREADS
    if (bad >= 0) {
        PyErr_Format(PyExc_ValueError,
                     "_synaptic_q_kernel.choose: deviator %zd is bad (positions must be in "
                     "[0, len(hist)), bits 0 or 1, history codes 4 a + b with a, b in 0..2)",
                     bad);
        goto done;
    }
    result = Py_None;
    Py_INCREF(result);
done:
    PyBuffer_Release(&hist);
    PyBuffer_Release(&greedy);
    PyBuffer_Release(&pos);
    PyBuffer_Release(&bit);
    PyBuffer_Release(&stops);
    PyBuffer_Release(&alphas);
    PyBuffer_Release(&delta);
    PyBuffer_Release(&next);
    PyBuffer_Release(&by_code);
    return result;
}

static PyMethodDef methods[] = {
    {"choose", choose, METH_VARARGS, choose_doc},
    {"sample", sample, METH_VARARGS, sample_doc},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_synaptic_q_kernel",
    "Compiled action choice of spiking_synrl.rules.synaptic_q.", -1, methods,
    NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__synaptic_q_kernel(void)
{
    return PyModule_Create(&module);
}
