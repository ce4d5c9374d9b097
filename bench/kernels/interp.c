/* interp.c - benchmark kernel: a switch-dispatched bytecode interpreter (a
 * small stack machine with registers) running a hashing loop n times round.
 * Measures tight dispatch and unpredictable branches in the guest. */
#include "kernel.h"

enum {
    OP_HALT,
    OP_PUSH,  /* imm8 */
    OP_LOAD,  /* reg */
    OP_STORE, /* reg */
    OP_ADD,
    OP_SUB,
    OP_MUL,
    OP_XOR,
    OP_AND,
    OP_SHR,  /* imm8 */
    OP_ROTL, /* imm8 */
    OP_DUP,
    OP_DROP,
    OP_DEC, /* reg */
    OP_JZ,  /* abs16 */
    OP_JNZ, /* abs16 */
    OP_JMP, /* abs16 */
    OP_SWAP
};

static uint8_t code[256];
static uint32_t pc_;

static void emit(uint32_t op) {
    code[pc_++] = (uint8_t)op;
}
static void emit1(uint32_t op, uint32_t a) {
    emit(op);
    emit(a);
}
static uint32_t emit_jump(uint32_t op) {
    emit(op);
    pc_ += 2;
    return pc_ - 2;
}
static void patch(uint32_t at, uint32_t target) {
    code[at] = (uint8_t)target;
    code[at + 1] = (uint8_t)(target >> 8);
}

/* r0 counter, r1 hash, r2 side sum, r3 odd counter. */
static void assemble(void) {
    pc_ = 0;
    uint32_t loop = pc_;
    emit1(OP_LOAD, 1), emit1(OP_PUSH, 31), emit(OP_MUL), emit1(OP_LOAD, 0), emit(OP_ADD);
    emit1(OP_LOAD, 1), emit1(OP_SHR, 3), emit(OP_XOR), emit1(OP_STORE, 1);
    emit1(OP_LOAD, 0), emit1(OP_PUSH, 7), emit(OP_AND);
    uint32_t skip = emit_jump(OP_JZ);
    emit1(OP_LOAD, 2), emit1(OP_LOAD, 1), emit(OP_ADD), emit1(OP_ROTL, 5), emit1(OP_STORE, 2);
    uint32_t join = emit_jump(OP_JMP);
    patch(skip, pc_);
    emit1(OP_LOAD, 1), emit(OP_DUP), emit(OP_XOR), emit1(OP_LOAD, 3), emit(OP_ADD);
    emit1(OP_STORE, 3);
    patch(join, pc_);
    emit1(OP_LOAD, 1), emit1(OP_LOAD, 3), emit(OP_SWAP), emit(OP_SUB), emit(OP_DROP);
    emit1(OP_DEC, 0), emit1(OP_LOAD, 0);
    uint32_t back = emit_jump(OP_JNZ);
    patch(back, loop);
    emit(OP_HALT);
}

static uint32_t run(uint32_t iterations, uint32_t seed) {
    uint32_t reg[4] = {iterations, seed, 0, 0}, stack[16];
    uint32_t sp = 0, pc = 0, a, b;
    for (;;) {
        uint8_t op = code[pc++];
        switch (op) {
        case OP_HALT:
            return reg[1] ^ reg[2] ^ reg[3];
        case OP_PUSH:
            stack[sp++] = code[pc++];
            break;
        case OP_LOAD:
            stack[sp++] = reg[code[pc++] & 3];
            break;
        case OP_STORE:
            reg[code[pc++] & 3] = stack[--sp];
            break;
        case OP_ADD:
            b = stack[--sp], a = stack[--sp], stack[sp++] = a + b;
            break;
        case OP_SUB:
            b = stack[--sp], a = stack[--sp], stack[sp++] = a - b;
            break;
        case OP_MUL:
            b = stack[--sp], a = stack[--sp], stack[sp++] = a * b;
            break;
        case OP_XOR:
            b = stack[--sp], a = stack[--sp], stack[sp++] = a ^ b;
            break;
        case OP_AND:
            b = stack[--sp], a = stack[--sp], stack[sp++] = a & b;
            break;
        case OP_SHR:
            stack[sp - 1] >>= code[pc++] & 31;
            break;
        case OP_ROTL: {
            uint32_t r = code[pc++] & 31, x = stack[sp - 1];
            stack[sp - 1] = (x << r) | (x >> ((32 - r) & 31));
            break;
        }
        case OP_DUP:
            stack[sp] = stack[sp - 1], sp++;
            break;
        case OP_DROP:
            sp--;
            break;
        case OP_SWAP:
            a = stack[sp - 1], stack[sp - 1] = stack[sp - 2], stack[sp - 2] = a;
            break;
        case OP_DEC:
            reg[code[pc++] & 3]--;
            break;
        case OP_JZ:
            pc = stack[--sp] == 0 ? (uint32_t)(code[pc] | code[pc + 1] << 8) : pc + 2;
            break;
        case OP_JNZ:
            pc = stack[--sp] != 0 ? (uint32_t)(code[pc] | code[pc + 1] << 8) : pc + 2;
            break;
        case OP_JMP:
            pc = (uint32_t)(code[pc] | code[pc + 1] << 8);
            break;
        default:
            return 0xdeadbeef;
        }
        sp &= 15;
    }
}

uint32_t interp_run(uint32_t n);
uint32_t interp_run(uint32_t n) {
    assemble();
    uint32_t h = 0;
    for (uint32_t rep = 0; rep < n; rep++)
        h = kernel_mix(h, run(100000, rep));
    return h;
}
