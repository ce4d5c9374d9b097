/* matmul.c - benchmark kernel: 256x256 double matrix multiply, n times
 * (f64 loads, multiplies and adds). */
#include "kernel.h"

#define MM 256
static double A[MM][MM], B[MM][MM], C[MM][MM];

uint32_t matmul_run(uint32_t n);
uint32_t matmul_run(uint32_t n) {
    uint32_t s = 4242;
    for (int i = 0; i < MM; i++)
        for (int j = 0; j < MM; j++) {
            A[i][j] = (double)(kernel_rand(&s) % 1000) / 250.0 - 2.0;
            B[i][j] = (double)(kernel_rand(&s) % 1000) / 500.0 - 1.0;
        }
    uint32_t h = 0;
    for (uint32_t rep = 0; rep < n; rep++) {
        for (int i = 0; i < MM; i++) {
            for (int j = 0; j < MM; j++)
                C[i][j] = 0;
            for (int k = 0; k < MM; k++) {
                double a = A[i][k];
                for (int j = 0; j < MM; j++)
                    C[i][j] += a * B[k][j];
            }
        }
        /* Feed the result back so passes differ. */
        A[rep % MM][rep % MM] += C[(rep * 7) % MM][(rep * 13) % MM] * 1e-3;
        double sum = 0;
        for (int i = 0; i < MM; i++)
            sum += C[i][(i * 31) % MM];
        h = kernel_mix(h, (uint32_t)(int32_t)(sum * 1000.0));
    }
    return h;
}
