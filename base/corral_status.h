/*
 * corral_status.h - the one list of every status code in Corral.
 *
 * Each entry is X(NAME, "message"). corral_base.h turns the list into the
 * corral_status_t enum (CORRAL_<NAME>) and into corral_status_str(). Add new
 * codes at the end of the group of the module that raises them; codes are
 * not part of any wire format, so their numeric values may change between
 * versions. Trap codes carry the exact WebAssembly spec trap texts.
 */
#ifndef CORRAL_STATUS_H
#define CORRAL_STATUS_H

#define CORRAL_STATUS_LIST(X)                                                                      \
    /* generic */                                                                                  \
    X(OK, "ok")                                                                                    \
    X(ERR_NOMEM, "out of memory")                                                                  \
    X(ERR_INVALID_ARG, "invalid argument")                                                         \
    X(ERR_IO, "input/output error")                                                                \
    X(ERR_NOT_FOUND, "not found")                                                                  \
    X(ERR_EXISTS, "already exists")                                                                \
    X(ERR_TOO_LARGE, "too large")                                                                  \
    X(ERR_UNSUPPORTED, "unsupported")                                                              \
    X(ERR_INTERNAL, "internal error")                                                              \
    X(ERR_TIMEOUT, "timed out")                                                                    \
    X(ERR_BUSY, "busy")                                                                            \
    X(ERR_CLOSED, "closed")                                                                        \
    X(ERR_PARSE, "parse error")                                                                    \
    X(ERR_STATE, "operation not valid in the current state")                                       \
    /* claims: nkeys */                                                                            \
    X(ERR_KEY_LENGTH, "key has the wrong length")                                                  \
    X(ERR_KEY_ALPHABET, "key has a character outside the base32 alphabet")                         \
    X(ERR_KEY_CHECKSUM, "key checksum does not match")                                             \
    X(ERR_KEY_TYPE, "key is of the wrong type")                                                    \
    X(ERR_KEY_SEED, "seed is malformed")                                                           \
    /* claims: modules and tokens (verification stages, in order) */                              \
    X(ERR_NOT_WASM, "not a WebAssembly module")                                                    \
    X(ERR_SECTION_MALFORMED, "module section is truncated or overlong")                            \
    X(ERR_NO_TOKEN, "module carries no claims token")                                              \
    X(ERR_MULTIPLE_TOKENS, "module carries more than one claims token")                            \
    X(ERR_TOKEN_MALFORMED, "claims token is malformed")                                            \
    X(ERR_TOKEN_HEADER, "claims token header is not {\"typ\":\"jwt\",\"alg\":\"Ed25519\"}")        \
    X(ERR_TOKEN_ISSUER, "claims issuer is not a valid account key")                                \
    X(ERR_TOKEN_SIGNATURE, "claims signature does not verify")                                     \
    X(ERR_TOKEN_SUBJECT, "claims subject is not a valid module key")                               \
    X(ERR_HASH_MISMATCH, "module hash does not match its claims")                                  \
    X(ERR_TOKEN_EXPIRED, "claims token has expired")                                               \
    X(ERR_TOKEN_NOT_YET_VALID, "claims token is not yet valid")                                    \
    X(ERR_ISSUER_NOT_ALLOWED, "claims issuer is not on the allowed list")                          \
    X(ERR_REVOKED, "claims token or subject is revoked")                                           \
    X(ERR_CAP_NOT_CLAIMED, "capability is not listed in the actor's claims")                       \
    /* vm: loading */                                                                              \
    X(ERR_MALFORMED, "malformed module")                                                           \
    X(ERR_INVALID, "invalid module")                                                               \
    X(ERR_UNLINKABLE, "unlinkable module")                                                         \
    X(ERR_UNINSTANTIABLE, "module instantiation failed")                                           \
    X(ERR_VM_UNSUPPORTED, "unsupported WebAssembly feature")                                       \
    /* vm: traps (the texts are the spec's) */                                                     \
    X(ERR_TRAP_UNREACHABLE, "unreachable")                                                         \
    X(ERR_TRAP_MEMORY_OOB, "out of bounds memory access")                                          \
    X(ERR_TRAP_TABLE_OOB, "out of bounds table access")                                            \
    X(ERR_TRAP_DIV_ZERO, "integer divide by zero")                                                 \
    X(ERR_TRAP_INT_OVERFLOW, "integer overflow")                                                   \
    X(ERR_TRAP_INVALID_CONVERSION, "invalid conversion to integer")                                \
    X(ERR_TRAP_UNDEFINED_ELEMENT, "undefined element")                                             \
    X(ERR_TRAP_UNINITIALIZED_ELEMENT, "uninitialized element")                                     \
    X(ERR_TRAP_INDIRECT_MISMATCH, "indirect call type mismatch")                                   \
    X(ERR_TRAP_NULL_REFERENCE, "null reference")                                                   \
    X(ERR_TRAP_STACK_EXHAUSTED, "call stack exhausted")                                            \
    X(ERR_TRAP_FUEL_EXHAUSTED, "fuel exhausted")                                                   \
    X(ERR_TRAP_DEADLINE, "deadline exceeded")                                                      \
    X(ERR_TRAP_INTERRUPTED, "interrupted")                                                         \
    X(ERR_TRAP_HOST, "host function trapped")                                                      \
    X(ERR_TRAP_EXIT, "guest called exit")                                                          \
    /* wapc */                                                                                     \
    X(ERR_GUEST, "guest call failed")                                                              \
    X(ERR_NO_RESPONSE, "guest returned success without a response")                                \
    X(ERR_HOST_CALL, "host call failed")                                                           \
    /* host and providers */                                                                       \
    X(ERR_NO_LINK, "no provider linked")                                                           \
    X(ERR_NO_ACTOR, "no such actor")                                                               \
    X(ERR_UPDATE_REFUSED, "actor update refused")                                                  \
    X(ERR_BACKEND_UNAVAILABLE, "keyvalue backend unavailable")                                     \
    X(ERR_WRONG_TYPE, "operation against a key holding the wrong kind of value")                   \
    X(ERR_PROVIDER_ABI, "provider ABI version mismatch")                                           \
    /* lattice */                                                                                  \
    X(ERR_FORGED, "invocation failed anti-forgery checks")                                         \
    X(ERR_REPLAY, "invocation replayed")

#endif
