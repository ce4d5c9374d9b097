/* coremark.c - benchmark kernel in the style of EEMBC CoreMark (written from
 * its published description, not its code): linked-list search, reversal
 * and merge sort; small integer matrix arithmetic; a state machine that
 * classifies number-like tokens; CRC-16 over every result. The workload is
 * instantiated VARIANTS times with different constants (a macro) so the
 * module is large (~100 KB), which the start-up benchmark needs; each pass
 * uses every variant, so none is dead code. */
#include "kernel.h"

#define VARIANTS   40
#define LIST_NODES 96
#define MAT_N      12
#define SM_BYTES   512

typedef struct node {
    struct node *next;
    int16_t data;
    uint16_t idx;
} node_t;

static node_t pool[LIST_NODES];
static int16_t mat_a[MAT_N * MAT_N], mat_b[MAT_N * MAT_N];
static int32_t mat_c[MAT_N * MAT_N];
static uint8_t text[SM_BYTES];

static uint16_t crc16_byte(uint8_t b, uint16_t crc) {
    for (int i = 0; i < 8; i++) {
        uint16_t x = (uint16_t)((b ^ crc) & 1);
        b >>= 1;
        crc = (uint16_t)(x ? (crc ^ 0x4002) >> 1 | 0x8000 : crc >> 1);
    }
    return crc;
}

static uint16_t crc16_u32(uint32_t v, uint16_t crc) {
    crc = crc16_byte((uint8_t)v, crc);
    crc = crc16_byte((uint8_t)(v >> 8), crc);
    crc = crc16_byte((uint8_t)(v >> 16), crc);
    return crc16_byte((uint8_t)(v >> 24), crc);
}

#define DEFINE_VARIANT(K)                                                                          \
    static node_t *list_build_##K(uint32_t seed) {                                                 \
        node_t *head = 0;                                                                          \
        for (int i = LIST_NODES - 1; i >= 0; i--) {                                                \
            pool[i].data = (int16_t)((seed * (K + 3) + (uint32_t)i * 0x9d) & 0x7fff);              \
            pool[i].idx = (uint16_t)i;                                                             \
            pool[i].next = head;                                                                   \
            head = &pool[i];                                                                       \
        }                                                                                          \
        return head;                                                                               \
    }                                                                                              \
    static node_t *list_reverse_##K(node_t *l) {                                                   \
        node_t *r = 0;                                                                             \
        while (l) {                                                                                \
            node_t *n = l->next;                                                                   \
            l->next = r;                                                                           \
            r = l;                                                                                 \
            l = n;                                                                                 \
        }                                                                                          \
        return r;                                                                                  \
    }                                                                                              \
    static int list_cmp_##K(const node_t *a, const node_t *b) {                                    \
        int16_t x = (int16_t)(a->data ^ (K * 0x35)), y = (int16_t)(b->data ^ (K * 0x35));          \
        return x < y ? -1 : x > y ? 1 : (int)a->idx - (int)b->idx;                                 \
    }                                                                                              \
    static node_t *list_sort_##K(node_t *l) { /* bottom-up merge sort */                           \
        for (int width = 1;; width *= 2) {                                                         \
            node_t *p = l, *tail = 0, *out = 0;                                                    \
            int merges = 0;                                                                        \
            while (p) {                                                                            \
                merges++;                                                                          \
                node_t *q = p;                                                                     \
                int ps = 0, qs = width;                                                            \
                for (int i = 0; i < width && q; i++)                                               \
                    q = q->next, ps++;                                                             \
                while (ps > 0 || (qs > 0 && q)) {                                                  \
                    node_t *e;                                                                     \
                    if (ps == 0)                                                                   \
                        e = q, q = q->next, qs--;                                                  \
                    else if (qs == 0 || !q)                                                        \
                        e = p, p = p->next, ps--;                                                  \
                    else if (list_cmp_##K(p, q) <= 0)                                              \
                        e = p, p = p->next, ps--;                                                  \
                    else                                                                           \
                        e = q, q = q->next, qs--;                                                  \
                    if (tail)                                                                      \
                        tail->next = e;                                                            \
                    else                                                                           \
                        out = e;                                                                   \
                    tail = e;                                                                      \
                }                                                                                  \
                p = q;                                                                             \
            }                                                                                      \
            if (tail) tail->next = 0;                                                              \
            l = out;                                                                               \
            if (merges <= 1) return l;                                                             \
        }                                                                                          \
    }                                                                                              \
    static uint16_t list_work_##K(uint32_t seed, uint16_t crc) {                                   \
        node_t *l = list_build_##K(seed);                                                          \
        for (int16_t want = 0; want < 24; want++) {                                                \
            int pos = 0;                                                                           \
            node_t *n = l;                                                                         \
            while (n && (n->data & 0xff) != ((want * (K + 1)) & 0xff))                             \
                n = n->next, pos++;                                                                \
            crc = crc16_u32(n ? (uint32_t)pos : 0xffffu, crc);                                     \
        }                                                                                          \
        l = list_reverse_##K(l);                                                                   \
        l = list_sort_##K(l);                                                                      \
        for (int i = 0; l && i < 16; i++, l = l->next)                                             \
            crc = crc16_u32((uint32_t)l->data, crc);                                               \
        return crc;                                                                                \
    }                                                                                              \
    static uint16_t matrix_work_##K(uint32_t seed, uint16_t crc) {                                 \
        uint32_t s = seed + K;                                                                     \
        for (int i = 0; i < MAT_N * MAT_N; i++) {                                                  \
            mat_a[i] = (int16_t)(kernel_rand(&s) % 200 - 100);                                     \
            mat_b[i] = (int16_t)(kernel_rand(&s) % 200 - 100);                                     \
        }                                                                                          \
        for (int i = 0; i < MAT_N * MAT_N; i++)                                                    \
            mat_a[i] = (int16_t)(mat_a[i] + (K + 1));                                              \
        for (int i = 0; i < MAT_N; i++)                                                            \
            for (int j = 0; j < MAT_N; j++) {                                                      \
                int32_t acc = 0;                                                                   \
                for (int k = 0; k < MAT_N; k++)                                                    \
                    acc += mat_a[i * MAT_N + k] * mat_b[k * MAT_N + j];                            \
                mat_c[i * MAT_N + j] = acc;                                                        \
            }                                                                                      \
        int32_t sum = 0;                                                                           \
        for (int i = 0; i < MAT_N * MAT_N; i++) {                                                  \
            int32_t bits = (mat_c[i] >> (K % 5 + 2)) & 0xf;                                        \
            sum += bits > 7 ? bits * (K + 2) : -bits;                                              \
        }                                                                                          \
        for (int i = 0; i < MAT_N; i++) {                                                          \
            int32_t v = 0;                                                                         \
            for (int k = 0; k < MAT_N; k++)                                                        \
                v += mat_c[i * MAT_N + k] * (k - K);                                               \
            sum ^= v;                                                                              \
        }                                                                                          \
        return crc16_u32((uint32_t)sum, crc);                                                      \
    }                                                                                              \
    static uint16_t state_work_##K(uint32_t seed, uint16_t crc) {                                  \
        static const char *const tok[] = {"5012",  "-190", "+7.25",  "0x1F", "3e-5",               \
                                          "1.2.3", "--4",  "-.5e+2", "abc",  "98765"};             \
        uint32_t s = seed ^ (K * 0x1234567u), o = 0;                                               \
        while (o + 10 < SM_BYTES) {                                                                \
            const char *t = tok[kernel_rand(&s) % 10];                                             \
            while (*t)                                                                             \
                text[o++] = (uint8_t)*t++;                                                         \
            text[o++] = (uint8_t)((K & 1) ? ',' : ' ');                                            \
        }                                                                                          \
        text[o] = 0;                                                                               \
        uint32_t counts[8] = {0}, state = 0, trans = 0;                                            \
        for (uint32_t i = 0; i <= o; i++) {                                                        \
            uint8_t c = text[i];                                                                   \
            uint32_t next;                                                                         \
            int sep = c == ',' || c == ' ' || c == 0;                                              \
            int digit = c >= '0' && c <= '9';                                                      \
            switch (state) {                                                                       \
            case 0:                                                                                \
                next = sep ? 0 : digit ? 1 : (c == '+' || c == '-') ? 2 : c == '.' ? 3 : 7;        \
                break;                                                                             \
            case 1:                                                                                \
                next = sep                      ? 0                                                \
                       : digit                  ? 1                                                \
                       : c == '.'               ? 3                                                \
                       : (c == 'e' || c == 'E') ? 4                                                \
                       : c == 'x'               ? 6                                                \
                                                : 7;                                                             \
                break;                                                                             \
            case 2:                                                                                \
                next = digit ? 1 : c == '.' ? 3 : sep ? 0 : 7;                                     \
                break;                                                                             \
            case 3:                                                                                \
                next = digit ? 3 : (c == 'e' || c == 'E') ? 4 : sep ? 0 : 7;                       \
                break;                                                                             \
            case 4:                                                                                \
                next = (c == '+' || c == '-') ? 5 : digit ? 5 : 7;                                 \
                break;                                                                             \
            case 5:                                                                                \
                next = digit ? 5 : sep ? 0 : 7;                                                    \
                break;                                                                             \
            case 6:                                                                                \
                next = digit || (c >= 'A' && c <= 'F') ? 6 : sep ? 0 : 7;                          \
                break;                                                                             \
            default:                                                                               \
                next = sep ? 0 : 7;                                                                \
            }                                                                                      \
            if (next == 0 && state != 0) counts[state]++;                                          \
            trans += next != state;                                                                \
            state = next;                                                                          \
        }                                                                                          \
        for (int i = 0; i < 8; i++)                                                                \
            crc = crc16_u32(counts[i] * (K + 1), crc);                                             \
        return crc16_u32(trans, crc);                                                              \
    }

#define V4(a, b, c, d) DEFINE_VARIANT(a) DEFINE_VARIANT(b) DEFINE_VARIANT(c) DEFINE_VARIANT(d)
V4(0, 1, 2, 3)
V4(4, 5, 6, 7)
V4(8, 9, 10, 11)
V4(12, 13, 14, 15)
V4(16, 17, 18, 19)
V4(20, 21, 22, 23)
V4(24, 25, 26, 27)
V4(28, 29, 30, 31)
V4(32, 33, 34, 35)
V4(36, 37, 38, 39)

typedef uint16_t (*work_fn)(uint32_t, uint16_t);
#define ROW(K)                                                                                     \
    { list_work_##K, matrix_work_##K, state_work_##K }
#define R4(a, b, c, d) ROW(a), ROW(b), ROW(c), ROW(d)
static const work_fn works[VARIANTS][3] = {
    R4(0, 1, 2, 3),     R4(4, 5, 6, 7),     R4(8, 9, 10, 11),   R4(12, 13, 14, 15),
    R4(16, 17, 18, 19), R4(20, 21, 22, 23), R4(24, 25, 26, 27), R4(28, 29, 30, 31),
    R4(32, 33, 34, 35), R4(36, 37, 38, 39)};

uint32_t coremark_run(uint32_t n);
uint32_t coremark_run(uint32_t n) {
    uint16_t crc = 0;
    for (uint32_t rep = 0; rep < n; rep++) {
        const work_fn *w = works[rep % VARIANTS];
        crc = w[0](rep, crc);
        crc = w[1](rep, crc);
        crc = w[2](rep, crc);
    }
    return crc;
}
