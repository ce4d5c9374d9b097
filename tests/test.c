/*
 * test.c - the runner behind test.h: selects tests by name, checks that each
 * leaves no live allocation behind, prints one line per test and the summary.
 */
#include "test.h"

int test_run_(const test_case_t *cases, size_t n, int argc, char **argv) {
    int passed = 0, failed = 0;
    for (size_t i = 0; i < n; i++) {
        int selected = argc < 2;
        for (int a = 1; a < argc; a++)
            if (strcmp(argv[a], cases[i].name) == 0) selected = 1;
        if (!selected) continue;
        int before = test_failures_;
        long live = corral_alloc_live();
        cases[i].fn();
        corral_alloc_fail_after(0, 0);
        if (corral_alloc_live() != live) {
            fprintf(stderr, "  %s: %ld allocation(s) leaked\n", cases[i].name,
                    corral_alloc_live() - live);
            test_failures_++;
        }
        if (test_failures_ == before) {
            printf("ok    %s\n", cases[i].name);
            passed++;
        } else {
            printf("FAIL  %s\n", cases[i].name);
            failed++;
        }
        fflush(stdout);
    }
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
