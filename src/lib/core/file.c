/* Atomic and exclusive file writes (bad input never leaves a half-written file). */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "jpki/error.h"
#include "jpki/file.h"

static int
write_all(int fd, const void *data, size_t len)
{
	const uint8_t *p = data;

	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return JPKI_ERR_IO;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int
fsync_dir_of(const char *path)
{
	char tmp[PATH_MAX];
	int fd, r = 0;

	if (strlen(path) >= sizeof(tmp))
		return JPKI_ERR_INVALID_ARG;
	strcpy(tmp, path);
	if ((fd = open(dirname(tmp), O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return JPKI_ERR_IO;
	if (fsync(fd) != 0 && errno != EINVAL)
		r = JPKI_ERR_IO;
	close(fd);
	return r;
}

int
jpki_file_write_new(const char *path, const void *data, size_t len, mode_t mode)
{
	int fd, r;

	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode);
	if (fd < 0) {
		jpki_set_detail("%s: %s", path, strerror(errno));
		return errno == EEXIST ? JPKI_ERR_EXISTS : JPKI_ERR_IO;
	}
	/* The mode must not depend on the caller's umask being sane. */
	if (fchmod(fd, mode) != 0 || (r = write_all(fd, data, len)) != 0 || fsync(fd) != 0) {
		jpki_set_detail("%s: %s", path, strerror(errno));
		close(fd);
		unlink(path);
		return JPKI_ERR_IO;
	}
	if (close(fd) != 0) {
		unlink(path);
		return JPKI_ERR_IO;
	}
	return fsync_dir_of(path);
}

int
jpki_file_write_atomic(const char *path, const void *data, size_t len, mode_t mode)
{
	char tmp[PATH_MAX];
	int fd = -1, r = JPKI_ERR_IO;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid()) >= (int)sizeof(tmp))
		return JPKI_ERR_INVALID_ARG;
	unlink(tmp);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode);
	if (fd < 0) {
		jpki_set_detail("%s: %s", tmp, strerror(errno));
		return JPKI_ERR_IO;
	}
	if (fchmod(fd, mode) != 0 || write_all(fd, data, len) != 0 || fsync(fd) != 0) {
		jpki_set_detail("%s: %s", tmp, strerror(errno));
		goto out;
	}
	if (close(fd) != 0) {
		fd = -1;
		goto out;
	}
	fd = -1;
	if (rename(tmp, path) != 0) {
		jpki_set_detail("%s: %s", path, strerror(errno));
		goto out;
	}
	r = fsync_dir_of(path);
out:
	if (fd >= 0)
		close(fd);
	if (r != 0)
		unlink(tmp);
	return r;
}

int
jpki_file_read(const char *path, size_t max, uint8_t **out, size_t *out_len)
{
	FILE *f = NULL;
	uint8_t *buf = NULL;
	size_t len = 0, cap = 0, n;
	int r = JPKI_ERR_IO;

	*out = NULL;
	*out_len = 0;
	if ((f = fopen(path, "rb")) == NULL) {
		jpki_set_detail("%s: %s", path, strerror(errno));
		return errno == ENOENT ? JPKI_ERR_NOT_FOUND : JPKI_ERR_IO;
	}
	for (;;) {
		if (cap - len < 4096) {
			size_t ncap = cap ? cap * 2 : 8192;
			uint8_t *nb;
			if (ncap > max + 4097)
				ncap = max + 4097;
			if (ncap <= len + 1) {
				r = JPKI_ERR_TOO_LARGE;
				jpki_set_detail("%s: larger than %zu bytes", path, max);
				goto out;
			}
			if ((nb = realloc(buf, ncap)) == NULL) {
				r = JPKI_ERR_NOMEM;
				goto out;
			}
			buf = nb;
			cap = ncap;
		}
		n = fread(buf + len, 1, cap - len - 1, f);
		len += n;
		if (len > max) {
			r = JPKI_ERR_TOO_LARGE;
			jpki_set_detail("%s: larger than %zu bytes", path, max);
			goto out;
		}
		if (n == 0) {
			if (ferror(f))
				goto out;
			break;
		}
	}
	if (buf == NULL && (buf = malloc(1)) == NULL) {
		r = JPKI_ERR_NOMEM;
		goto out;
	}
	buf[len] = '\0';
	*out = buf;
	*out_len = len;
	buf = NULL;
	r = 0;
out:
	free(buf);
	fclose(f);
	return r;
}

int
jpki_file_mkdirs(const char *path, mode_t mode)
{
	char tmp[PATH_MAX];
	char *p;
	size_t n = strlen(path);

	if (n == 0 || n >= sizeof(tmp))
		return JPKI_ERR_INVALID_ARG;
	memcpy(tmp, path, n + 1);
	for (p = tmp + 1; ; p++) {
		if (*p == '/' || *p == '\0') {
			char c = *p;
			*p = '\0';
			if (mkdir(tmp, mode) != 0 && errno != EEXIST) {
				jpki_set_detail("%s: %s", tmp, strerror(errno));
				return JPKI_ERR_IO;
			}
			*p = c;
			if (c == '\0')
				break;
		}
	}
	return 0;
}

int
jpki_file_exists(const char *path)
{
	struct stat st;
	return lstat(path, &st) == 0;
}
