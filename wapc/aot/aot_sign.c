/*
 * aot_sign.c - signed AOT artifacts (corral_aot.h): corral_aot_sign adds a
 * signer and an ed25519 signature to an artifact's header, and the loader's
 * trust checks (aot_check_trust) decide whether an artifact from outside
 * the host's own cache may be mapped. The signature covers the whole file
 * except its own line, so no header field and no ELF byte can change
 * without breaking it. Signers are operator (O) or account (A) nkeys: the
 * people who run hosts or publish actors, never a module or host key.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "aot_int.h"
#include "corral_aot.h"
#include "corral_claims.h"

static int signer_type_ok(corral_nkey_type_t t) { return t == CORRAL_NKEY_OPERATOR || t == CORRAL_NKEY_ACCOUNT; }

/* The signed message: the file without its signature line. */
static corral_status_t signed_message(const uint8_t *p, size_t n, const aot_hdr_t *h, corral_buf_t *msg,
                                      corral_err_t *err)
{
    if (corral_buf_append(msg, p, h->sig_off) != CORRAL_OK || corral_buf_append(msg, p + h->sig_end, n - h->sig_end) != CORRAL_OK)
        return corral_err_set(err, CORRAL_ERR_NOMEM, NULL);
    return CORRAL_OK;
}

corral_status_t aot_check_trust(const char *path, const uint8_t *p, size_t n, const aot_hdr_t *h,
                                const corral_aot_trust_t *trust, corral_err_t *err)
{
    if (!h->has_sig)
        return corral_err_set(err, CORRAL_ERR_NO_TOKEN,
                              "AOT artifact %s is not signed (outside the host's own cache only artifacts signed by an "
                              "allowed signer are used)",
                              path);
    const char *signer = h->info.signer;
    corral_nkey_t k;
    corral_status_t st = corral_nkey_from_public(signer, CORRAL_NKEY_ANY, &k, err);
    if (st != CORRAL_OK) {
        corral_err_wrap(err, "AOT artifact %s: signer", path);
        return st;
    }
    if (!signer_type_ok(k.type))
        return corral_err_set(err, CORRAL_ERR_KEY_TYPE,
                              "AOT artifact %s is signed by a %s key (%.12s...): artifact signers are operator or "
                              "account keys",
                              path, corral_nkey_type_name(k.type), signer);
    if (trust) {
        int allowed = 0;
        for (size_t i = 0; i < trust->nsigners && !allowed; i++)
            allowed = trust->signers[i] && strcmp(trust->signers[i], signer) == 0;
        if (!allowed)
            return corral_err_set(err, CORRAL_ERR_ISSUER_NOT_ALLOWED,
                                  "AOT artifact %s is signed by %s, which is not an allowed artifact signer%s", path,
                                  signer, trust->nsigners ? "" : " (this host allows none: corral up --aot-signer)");
    }
    corral_buf_t msg = {0};
    if ((st = signed_message(p, n, h, &msg, err)) != CORRAL_OK) return st;
    st = corral_nkey_verify(&k, msg.data, msg.len, h->sig, NULL);
    corral_buf_free(&msg);
    if (st != CORRAL_OK)
        return corral_err_set(err, CORRAL_ERR_TOKEN_SIGNATURE,
                              "AOT artifact %s: the signature by %s does not verify (the file changed after signing)",
                              path, signer);
    return CORRAL_OK;
}

corral_status_t corral_aot_verify(const char *path, const corral_aot_trust_t *trust, corral_aot_info_t *info,
                                  corral_err_t *err)
{
    corral_buf_t b = {0};
    corral_status_t st = corral_file_read(path, (size_t)1 << 31, &b, err);
    if (st != CORRAL_OK) return st;
    aot_hdr_t h;
    st = aot_parse_header(b.data, b.len, &h, err);
    if (st == CORRAL_OK) {
        if (info) *info = h.info;
        st = aot_check_trust(path, b.data, b.len, &h, trust, err);
    }
    corral_buf_free(&b);
    return st;
}

corral_status_t corral_aot_sign(const char *path, const char *seed_or_path, corral_aot_info_t *info,
                                corral_err_t *err)
{
    corral_nkey_t k;
    corral_buf_t b = {0}, out = {0};
    char tmp[4200] = "";
    corral_status_t st = corral_nkey_load(seed_or_path, CORRAL_NKEY_ANY, &k, err);
    if (st != CORRAL_OK) return st;
    if (!signer_type_ok(k.type)) {
        st = corral_err_set(err, CORRAL_ERR_KEY_TYPE, "an artifact is signed with an operator (SO...) or account (SA...) "
                                                      "seed, not a %s seed",
                            corral_nkey_type_name(k.type));
        goto fail;
    }
    if ((st = corral_file_read(path, (size_t)1 << 31, &b, err)) != CORRAL_OK) goto fail;
    aot_hdr_t h;
    if ((st = aot_parse_header(b.data, b.len, &h, err)) != CORRAL_OK) {
        corral_err_wrap(err, "%s", path);
        goto fail;
    }
    char pub[CORRAL_NKEY_PUBLIC_LEN + 1];
    corral_nkey_public_str(&k, pub);
    /* unsigned header lines, then "signer", (signature), blank line, ELF */
    size_t keep = h.has_sig ? h.signer_off : h.elf_off - 1;
    size_t split;
    if (corral_buf_append(&out, b.data, keep) != CORRAL_OK ||
        corral_buf_printf(&out, "signer %s\n", pub) != CORRAL_OK) {
        st = corral_err_set(err, CORRAL_ERR_NOMEM, NULL);
        goto fail;
    }
    split = out.len;
    if (corral_buf_append(&out, b.data + h.elf_off - 1, b.len - (h.elf_off - 1)) != CORRAL_OK) {
        st = corral_err_set(err, CORRAL_ERR_NOMEM, NULL);
        goto fail;
    }
    uint8_t sig[CORRAL_NKEY_SIG_LEN];
    if ((st = corral_nkey_sign(&k, out.data, out.len, sig, err)) != CORRAL_OK) goto fail;
    char line[11 + 2 * CORRAL_NKEY_SIG_LEN + 2];
    int ln = snprintf(line, sizeof line, "signature ");
    for (size_t i = 0; i < CORRAL_NKEY_SIG_LEN; i++) ln += snprintf(line + ln, sizeof line - (size_t)ln, "%02x", sig[i]);
    line[ln++] = '\n';
    /* out = message with the signature line spliced in at `split` */
    corral_buf_t file = {0};
    if (corral_buf_append(&file, out.data, split) != CORRAL_OK || corral_buf_append(&file, line, (size_t)ln) != CORRAL_OK ||
        corral_buf_append(&file, out.data + split, out.len - split) != CORRAL_OK) {
        corral_buf_free(&file);
        st = corral_err_set(err, CORRAL_ERR_NOMEM, NULL);
        goto fail;
    }
    corral_buf_free(&out);
    out = file;
    snprintf(tmp, sizeof tmp, "%s.sign.%ld", path, (long)getpid());
    if ((st = corral_file_write(tmp, out.data, out.len, 0600, err)) != CORRAL_OK) goto fail;
    if (rename(tmp, path) != 0) {
        st = corral_err_set(err, CORRAL_ERR_IO, "cannot rename %s to %s", tmp, path);
        unlink(tmp);
        goto fail;
    }
    if (info) {
        *info = h.info;
        memcpy(info->signer, pub, sizeof info->signer);
    }
    st = CORRAL_OK;
fail:
    corral_nkey_wipe(&k);
    corral_buf_free(&b);
    corral_buf_free(&out);
    return st;
}
