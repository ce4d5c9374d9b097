/* fib.c - benchmark kernel: naive recursive Fibonacci (call overhead). */
#include "kernel.h"

static uint32_t fib(uint32_t n) {
    return n < 2 ? n : fib(n - 1) + fib(n - 2);
}

uint32_t fib_run(uint32_t n);
uint32_t fib_run(uint32_t n) {
    return fib(n);
}
