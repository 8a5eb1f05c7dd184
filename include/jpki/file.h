/*
 * Files written whole or not at all, and secret files that never overwrite.
 */
#ifndef JPKI_FILE_H
#define JPKI_FILE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Create path with mode (O_CREAT|O_EXCL: JPKI_ERR_EXISTS if it is there) and
 * write data, fsync'd.  On failure the partial file is removed. */
int jpki_file_write_new(const char *path, const void *data, size_t len, mode_t mode);
/* Replace path atomically: temp file in the same directory, fsync, rename,
 * fsync of the directory.  A crash leaves the old or the new content. */
int jpki_file_write_atomic(const char *path, const void *data, size_t len, mode_t mode);
/* Read a whole file of at most max bytes into *out (malloc'd, NUL-terminated;
 * caller frees).  JPKI_ERR_TOO_LARGE over max, JPKI_ERR_NOT_FOUND if absent. */
int jpki_file_read(const char *path, size_t max, uint8_t **out, size_t *out_len);
/* mkdir -p with mode for each directory created. */
int jpki_file_mkdirs(const char *path, mode_t mode);
/* 1 if path exists (any type). */
int jpki_file_exists(const char *path);

#ifdef __cplusplus
}
#endif
#endif
