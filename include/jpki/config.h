/*
 * Configuration files: "key = value" lines, '#' comments, UTF-8.
 * Bounded: at most 256 entries, lines of at most 1024 bytes.
 */
#ifndef JPKI_CONFIG_H
#define JPKI_CONFIG_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct jpki_config jpki_config_t;

/* Parse the file.  A malformed line gives JPKI_ERR_CONFIG with the detail
 * "FILE:LINE: ...".  Free with jpki_config_free(). */
int jpki_config_load(const char *path, jpki_config_t **out);
void jpki_config_free(jpki_config_t *cfg);
/* The value of key, or def if the key is absent.  The string is owned by cfg. */
const char *jpki_config_get(const jpki_config_t *cfg, const char *key, const char *def);
/* An integer in [min, max]; JPKI_ERR_CONFIG (detail names the key) otherwise. */
int jpki_config_get_int(const jpki_config_t *cfg, const char *key, int64_t def,
                        int64_t min, int64_t max, int64_t *out);
/* JPKI_ERR_CONFIG naming the first key not in the NULL-terminated list. */
int jpki_config_check_keys(const jpki_config_t *cfg, const char *const *known);

#ifdef __cplusplus
}
#endif
#endif
