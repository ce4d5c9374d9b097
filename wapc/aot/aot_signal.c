/*
 * aot_signal.c - the AOT tier's fault handler: turns a SIGSEGV/SIGBUS from
 * a guest's out-of-bounds memory access into the trap "out of bounds memory
 * access", and lets every other fault crash the process as before.
 *
 * An artifact's linear memory is an 8 GiB PROT_NONE reservation made
 * accessible page by page as it grows (aot_rt.c), so generated code does
 * not check addresses: an access past the memory's size touches a
 * PROT_NONE page and faults. The handler is installed once per process
 * (the first time any thread enters native code, through thread_slot) and
 * remembers the handler it replaced. It claims a fault only when both hold:
 *   - the faulting thread is running wasm code right now: the artifact's
 *     entry sets this thread's slot to its corral_aot_rt_t and clears it
 *     while a host import runs, so a fault in host code is never claimed;
 *   - the faulting address lies in that instance's reservation.
 * Then it records the trap and siglongjmps to the entry's landing pad
 * (only artifact frames lie in between). Anything else goes to the previous
 * handler (a sanitizer's, a crash reporter's), or, if that was the default
 * action, the default action is restored and the fault happens again, so a
 * real host crash still crashes loudly with its signal.
 *
 * Stack overflow is not handled here: generated code checks the native
 * stack at every function entry (aot_rt.h), 256 KiB before the thread's
 * stack ends, so wasm recursion traps before it can fault.
 */
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <string.h>

#include "aot_abi.h"
#include "aot_int.h"

static __thread corral_aot_rt_t *running; /* the instance whose wasm code runs on this thread */
static struct sigaction prev_segv, prev_bus;
static pthread_once_t install_once = PTHREAD_ONCE_INIT;

static void pass_on(int sig, siginfo_t *si, void *uc)
{
    struct sigaction *prev = sig == SIGBUS ? &prev_bus : &prev_segv;
    if ((prev->sa_flags & SA_SIGINFO) && prev->sa_sigaction) {
        prev->sa_sigaction(sig, si, uc);
        return;
    }
    if (!(prev->sa_flags & SA_SIGINFO) && prev->sa_handler != SIG_DFL && prev->sa_handler != SIG_IGN) {
        prev->sa_handler(sig);
        return;
    }
    /* Default action: put it back; returning re-runs the faulting
     * instruction, which now ends the process with this signal. A signal
     * sent by kill() would not come back by itself: raise it. */
    struct sigaction dfl;
    memset(&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    sigemptyset(&dfl.sa_mask);
    sigaction(sig, &dfl, NULL);
    if (si->si_code <= 0) raise(sig);
}

static void on_fault(int sig, siginfo_t *si, void *uc)
{
    corral_aot_rt_t *rt = running;
    uintptr_t a = (uintptr_t)si->si_addr;
    if (rt && rt->jmp && rt->mem_data && si->si_code > 0 && a >= (uintptr_t)rt->mem_data &&
        a - (uintptr_t)rt->mem_data < CORRAL_AOT_MEM_RESERVE + CORRAL_AOT_MEM_GUARD) {
        running = NULL; /* the entry's landing pad sets it back to the outer value */
        rt->trap = CORRAL_AOT_TRAP_MEMORY_OOB;
        /* SA_NODEFER: the signal is not blocked here, so leaving with a
         * jump buffer that did not save the mask leaves it unblocked. */
        siglongjmp(*(sigjmp_buf *)rt->jmp, 1);
    }
    pass_on(sig, si, uc);
}

static void install(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_fault;
    sa.sa_flags = SA_SIGINFO | SA_NODEFER | SA_ONSTACK;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGSEGV, &sa, &prev_segv);
    sigaction(SIGBUS, &sa, &prev_bus);
}

corral_aot_rt_t **aot_thread_slot(void)
{
    pthread_once(&install_once, install);
    return &running;
}
