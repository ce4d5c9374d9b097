/*
 * aot_loops.c - which loop back-edges of wasm2c's C may go without a fuel
 * check (aot_int.h, used by aot_compile.c's patch step).
 *
 * A fuel check on a back-edge is a branch out of the loop to a call, and
 * GCC 12 vectorises no loop with either; the empty asm wasm2c puts after
 * every load (so that a load whose value is unused still faults) stops it
 * too. A loop may drop both only when the C compiler itself proves it
 * finite: that is what vectorising it takes (an iteration count computed
 * at loop entry, without assumptions). Finite is not enough (a 64-bit
 * count can be astronomically large): the count must also be a constant,
 * at most AOT_LOOPS_MAX_ITERS, so the work between two checks stays
 * bounded. So the compile asks GCC: pass 1 compiles the candidate loops
 * unchecked and reads its vectoriser's detailed dump; the final compile
 * leaves unchecked exactly the candidates every copy of which GCC vectorised
 * with a constant count within the bound and no assumption. Such a loop still counts its
 * back-edges (CORRAL_LOOP_COUNT, aot_rt.h), into a local that the next
 * check, the function's return or the call's exit adds to the fuel: the
 * count stays exact, only the check comes after the loop.
 *
 * A candidate: the only back-edge to its label, alone on its line, of an
 * innermost loop (no loop label between the label and the back-edge) whose
 * lines touch the instance only through memory 0's loads and stores (no
 * call, no global, no memory.grow or bulk operation).
 */
#include <stdlib.h>
#include <string.h>

#include "aot_int.h"

/* One line of the source: [p, p + n), newline included. */
typedef struct {
    const char *p;
    size_t n;
} line_t;

static size_t trim_lead(const line_t *l) {
    size_t i = 0;
    while (i < l->n && l->p[i] == ' ')
        i++;
    return i;
}

/* "w2c_L<digits>:" at the line's start: returns the number, else -1. */
static long loop_label(const line_t *l) {
    size_t i = trim_lead(l);
    if (l->n - i < 7 || memcmp(l->p + i, "w2c_L", 5) != 0) return -1;
    i += 5;
    long v = 0;
    size_t d = 0;
    while (i < l->n && l->p[i] >= '0' && l->p[i] <= '9' && d < 9)
        v = v * 10 + (l->p[i++] - '0'), d++;
    return (d && i < l->n && l->p[i] == ':') ? v : -1;
}

/* Loop gotos ("goto w2c_L<digits>;") on a line: their count; the first
 * max numbers go to labels[] (the text is not NUL-terminated: every read
 * stays before the line's end). */
static int loop_gotos(const line_t *l, long *labels, int max) {
    int n = 0;
    const char *p = l->p, *end = l->p + l->n;
    while (p < end) {
        const char *g = memmem(p, (size_t)(end - p), "goto w2c_L", 10);
        if (!g) break;
        const char *q = g + 10;
        long v = 0;
        size_t d = 0;
        while (q < end && *q >= '0' && *q <= '9' && d < 9)
            v = v * 10 + (*q++ - '0'), d++;
        if (d && q < end && *q == ';') {
            if (n < max) labels[n] = v;
            n++;
        }
        p = g + 10;
    }
    return n;
}

/* The line mentions the instance other than as memory 0 in a load or store
 * (memref is what wasm2c passes them, "(&instance->w2c_memory, (u64)"). */
static int touches_instance(const line_t *l, const char *memref, size_t mlen) {
    const char *p = l->p, *end = l->p + l->n;
    while (p < end) {
        const char *s = memmem(p, (size_t)(end - p), "instance", 8);
        if (!s) return 0;
        if (!mlen || s < l->p + 2 || (size_t)(end - (s - 2)) < mlen ||
            memcmp(s - 2, memref, mlen) != 0)
            return 1;
        p = s - 2 + mlen;
    }
    return 0;
}

static int fn_start(const line_t *l) {
    size_t n = l->n;
    while (n && (l->p[n - 1] == '\n' || l->p[n - 1] == ' '))
        n--;
    return l->n > 7 && memcmp(l->p, "static ", 7) == 0 && n >= 3 &&
           memcmp(l->p + n - 3, ") {", 3) == 0;
}

static int fn_end(const line_t *l) {
    return l->n >= 1 && l->p[0] == '}' && (l->n == 1 || l->p[1] == '\n');
}

corral_status_t aot_loops_scan(const char *src, size_t len, const char *memref, aot_loops_t *out) {
    corral_status_t st = CORRAL_ERR_NOMEM;
    line_t *lines = NULL;
    uint32_t *label_line = NULL, *edges = NULL;
    uint32_t *bad = NULL;    /* prefix count of lines touching the instance */
    uint32_t *target = NULL; /* per back-edge line: its label's line + 1, if innermost */
    size_t nlab = 0, nl = 0, cap = 0;
    size_t mlen = memref ? strlen(memref) : 0;
    memset(out, 0, sizeof *out);

    for (size_t i = 0; i < len;) {
        const char *nlp = memchr(src + i, '\n', len - i);
        size_t n = nlp ? (size_t)(nlp - (src + i)) + 1 : len - i;
        if (nl == cap) {
            size_t nc = cap ? cap * 2 : 4096;
            line_t *t = corral_realloc(lines, nc * sizeof *t);
            if (!t) goto fail;
            lines = t;
            cap = nc;
        }
        lines[nl].p = src + i;
        lines[nl].n = n;
        nl++;
        i += n;
    }
    if (nl >= UINT32_MAX) {
        st = CORRAL_ERR_TOO_LARGE;
        goto fail;
    }
    out->nlines = nl;
    out->flags = corral_calloc(nl + 1, 1);
    out->from = corral_calloc(nl + 1, sizeof *out->from);
    edges = corral_calloc(nl + 1, sizeof *edges);
    bad = corral_calloc(nl + 1, sizeof *bad);
    if (!out->flags || !out->from || !edges || !bad) goto fail;
    for (size_t i = 0; i < nl; i++)
        bad[i + 1] = bad[i] + (uint32_t)touches_instance(&lines[i], memref, mlen);

    /* back-edges per loop label line, with the function's labels by number
     * (numbers are per function; a loop's label precedes its back-edges) */
    target = corral_calloc(nl + 1, sizeof *target);
    if (!target) goto fail;
    uint32_t last_label = 0; /* line + 1 of the latest loop label */
    for (size_t i = 0; i < nl; i++) {
        if (fn_start(&lines[i])) {
            for (size_t k = 0; k < nlab; k++)
                label_line[k] = 0;
            last_label = 0;
            continue;
        }
        long lab = loop_label(&lines[i]);
        /* wasm2c numbers labels per function, so a real one is below the
         * line count: a larger number is no label of ours (and must not
         * size the table) */
        if (lab >= 0 && (size_t)lab < nl) {
            if ((size_t)lab >= nlab) {
                size_t nn = (size_t)lab + 64;
                uint32_t *t = corral_realloc(label_line, nn * sizeof *t);
                if (!t) goto fail;
                for (size_t k = nlab; k < nn; k++)
                    t[k] = 0;
                label_line = t;
                nlab = nn;
            }
            label_line[lab] = (uint32_t)i + 1;
            last_label = (uint32_t)i + 1;
        }
        long g = -1;
        int ng = loop_gotos(&lines[i], &g, 1);
        if (ng == 0) continue;
        if (ng == 1 && (size_t)g < nlab && label_line[g]) {
            edges[label_line[g] - 1]++;
            /* innermost: no loop label after this one's */
            if (last_label == label_line[g]) target[i] = label_line[g];
        } else {
            /* several loop gotos on a line: none of their loops is a
             * candidate */
            long *gs = corral_malloc((size_t)ng * sizeof *gs);
            if (!gs) goto fail;
            loop_gotos(&lines[i], gs, ng);
            for (int k = 0; k < ng; k++)
                if ((size_t)gs[k] < nlab && label_line[gs[k]]) edges[label_line[gs[k]] - 1] += 2;
            corral_free(gs);
        }
    }
    for (size_t i = 0; i < nl; i++) {
        if (!target[i]) continue;
        uint32_t a = target[i] - 1;
        if (edges[a] != 1 || bad[i + 1] - bad[a] != 0) continue;
        out->flags[i] |= AOT_LINE_EDGE;
        out->from[i] = a;
        for (uint32_t k = a; k <= i; k++)
            out->flags[k] |= AOT_LINE_NB;
        out->ncandidates++;
    }

    /* pass 1 keeps only the functions with a candidate */
    for (size_t i = 0; i < nl;) {
        if (!fn_start(&lines[i])) {
            out->flags[i] |= AOT_LINE_KEEP;
            i++;
            continue;
        }
        size_t e = i + 1, has = 0;
        while (e < nl && !fn_end(&lines[e]))
            has |= out->flags[e++] & AOT_LINE_EDGE;
        for (size_t k = i; k <= e && k < nl; k++)
            if (has) out->flags[k] |= AOT_LINE_KEEP;
        i = e + 1;
    }
    st = CORRAL_OK;
fail:
    if (st != CORRAL_OK) aot_loops_free(out);
    corral_free(lines);
    corral_free(label_line);
    corral_free(edges);
    corral_free(bad);
    corral_free(target);
    return st;
}

/* "[<dir>/]patched.c:<line>:" starting the report line [p, end): the line
 * (1-based), else 0. */
static size_t report_line(const char *p, const char *end) {
    static const char tag[] = "patched.c:";
    const char *t = memmem(p, (size_t)(end - p), tag, sizeof tag - 1);
    if (!t || (t != p && t[-1] != '/') || memchr(p, ' ', (size_t)(t - p))) return 0;
    p = t + sizeof tag - 1;
    size_t v = 0, d = 0;
    while (p < end && *p >= '0' && *p <= '9' && d < 10)
        v = v * 10 + (size_t)(*p++ - '0'), d++;
    return (d && p < end && *p == ':') ? v : 0;
}

/* The K of "niters = K" in [p, e): a decimal count, else UINT64_MAX. */
static uint64_t report_niters(const char *p, const char *e) {
    const char *t = memmem(p, (size_t)(e - p), "niters = ", 9);
    if (!t) return UINT64_MAX;
    t += 9;
    uint64_t v = 0;
    size_t d = 0;
    while (t < e && *t >= '0' && *t <= '9' && d < 19)
        v = v * 10 + (uint64_t)(*t++ - '0'), d++;
    return d && (t == e || *t == ' ' || *t == '\r') ? v : UINT64_MAX;
}

size_t aot_loops_apply_report(aot_loops_t *l, const char *rep, size_t len) {
    /* per line: bit 0 vectorised at least once; bit 1 a copy was not, or
     * its iteration count needed assumptions, was not a constant or was
     * above AOT_LOOPS_MAX_ITERS; bit 2 a constant count within it was seen */
    uint8_t *v = corral_calloc(l->nlines + 1, 1);
    size_t kept = 0;
    if (v) {
        const char *end = rep + len;
        for (const char *p = rep; p < end;) {
            const char *nlp = memchr(p, '\n', (size_t)(end - p));
            const char *e = nlp ? nlp : end;
            size_t ln = report_line(p, e);
            if (ln && ln <= l->nlines) {
                size_t n = (size_t)(e - p);
                if (memmem(p, n, "optimized: loop vectorized", 26)) v[ln - 1] |= 1;
                if (memmem(p, n, "couldn't vectorize loop", 23) || memmem(p, n, "assumption", 10) ||
                    memmem(p, n, "Symbolic number of iterations", 29))
                    v[ln - 1] |= 2;
                if (memmem(p, n, "vectorization_factor = ", 23))
                    v[ln - 1] |= report_niters(p, e) <= AOT_LOOPS_MAX_ITERS ? 4 : 2;
            }
            p = e + (nlp ? 1 : 0);
        }
    }
    for (size_t i = 0; i < l->nlines; i++) {
        if (!(l->flags[i] & AOT_LINE_EDGE)) continue;
        if (v && v[i] == (1 | 4)) {
            kept++;
            continue;
        }
        /* checked after all: its loop's lines keep the load barrier */
        l->flags[i] &= (uint8_t)~AOT_LINE_EDGE;
        for (size_t k = l->from[i]; k <= i; k++)
            l->flags[k] &= (uint8_t)~AOT_LINE_NB;
    }
    corral_free(v);
    l->ncandidates = kept;
    return kept;
}

void aot_loops_free(aot_loops_t *l) {
    if (!l) return;
    corral_free(l->flags);
    corral_free(l->from);
    memset(l, 0, sizeof *l);
}
