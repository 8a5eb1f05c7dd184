/* "key = value" configuration files, parsed with hard bounds. */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "jpki/config.h"
#include "jpki/error.h"
#include "jpki/file.h"

#define CONFIG_MAX_BYTES (256 * 1024)
#define CONFIG_MAX_ENTRIES 256
#define CONFIG_MAX_LINE 1024

struct jpki_config {
	size_t n;
	char *key[CONFIG_MAX_ENTRIES];
	char *val[CONFIG_MAX_ENTRIES];
};

void
jpki_config_free(jpki_config_t *cfg)
{
	size_t i;

	if (cfg == NULL)
		return;
	for (i = 0; i < cfg->n; i++) {
		free(cfg->key[i]);
		free(cfg->val[i]);
	}
	free(cfg);
}

static char *
trim(char *s, char *end)
{
	while (s < end && isspace((unsigned char)*s))
		s++;
	while (end > s && isspace((unsigned char)end[-1]))
		end--;
	*end = '\0';
	return s;
}

int
jpki_config_load(const char *path, jpki_config_t **out)
{
	jpki_config_t *cfg = NULL;
	uint8_t *data = NULL;
	size_t len, lineno = 0;
	char *p, *nl;
	int r;

	*out = NULL;
	if ((r = jpki_file_read(path, CONFIG_MAX_BYTES, &data, &len)) != 0)
		return r;
	if (memchr(data, '\0', len) != NULL) {
		jpki_set_detail("%s: binary data in a configuration file", path);
		r = JPKI_ERR_CONFIG;
		goto out;
	}
	if ((cfg = calloc(1, sizeof(*cfg))) == NULL) {
		r = JPKI_ERR_NOMEM;
		goto out;
	}
	for (p = (char *)data; *p != '\0'; p = nl) {
		char *eq, *k, *v, *end;
		size_t i;

		lineno++;
		if ((nl = strchr(p, '\n')) != NULL)
			*nl++ = '\0';
		else
			nl = p + strlen(p);
		if (strlen(p) > CONFIG_MAX_LINE) {
			jpki_set_detail("%s:%zu: line longer than %d bytes", path, lineno, CONFIG_MAX_LINE);
			r = JPKI_ERR_CONFIG;
			goto out;
		}
		end = p + strlen(p);
		k = trim(p, end);
		if (*k == '\0' || *k == '#')
			continue;
		if ((eq = strchr(k, '=')) == NULL) {
			jpki_set_detail("%s:%zu: expected 'key = value'", path, lineno);
			r = JPKI_ERR_CONFIG;
			goto out;
		}
		v = trim(eq + 1, k + strlen(k));
		k = trim(k, eq);
		if (*k == '\0') {
			jpki_set_detail("%s:%zu: empty key", path, lineno);
			r = JPKI_ERR_CONFIG;
			goto out;
		}
		for (i = 0; i < cfg->n; i++) {
			if (strcmp(cfg->key[i], k) == 0) {
				jpki_set_detail("%s:%zu: '%s' given twice", path, lineno, k);
				r = JPKI_ERR_CONFIG;
				goto out;
			}
		}
		if (cfg->n == CONFIG_MAX_ENTRIES) {
			jpki_set_detail("%s:%zu: more than %d settings", path, lineno, CONFIG_MAX_ENTRIES);
			r = JPKI_ERR_CONFIG;
			goto out;
		}
		if ((cfg->key[cfg->n] = strdup(k)) == NULL || (cfg->val[cfg->n] = strdup(v)) == NULL) {
			free(cfg->key[cfg->n]);
			r = JPKI_ERR_NOMEM;
			goto out;
		}
		cfg->n++;
	}
	*out = cfg;
	cfg = NULL;
	r = 0;
out:
	jpki_config_free(cfg);
	free(data);
	return r;
}

const char *
jpki_config_get(const jpki_config_t *cfg, const char *key, const char *def)
{
	size_t i;

	for (i = 0; cfg != NULL && i < cfg->n; i++)
		if (strcmp(cfg->key[i], key) == 0)
			return cfg->val[i];
	return def;
}

int
jpki_config_get_int(const jpki_config_t *cfg, const char *key, int64_t def,
                    int64_t min, int64_t max, int64_t *out)
{
	const char *v = jpki_config_get(cfg, key, NULL);
	char *end;
	long long x;

	*out = def;
	if (v == NULL)
		return 0;
	errno = 0;
	x = strtoll(v, &end, 10);
	if (errno != 0 || end == v || *end != '\0' || x < min || x > max) {
		jpki_set_detail("setting '%s': '%s' is not a whole number from %lld to %lld",
		                key, v, (long long)min, (long long)max);
		return JPKI_ERR_CONFIG;
	}
	*out = x;
	return 0;
}

int
jpki_config_check_keys(const jpki_config_t *cfg, const char *const *known)
{
	size_t i, j;

	for (i = 0; cfg != NULL && i < cfg->n; i++) {
		for (j = 0; known[j] != NULL; j++)
			if (strcmp(cfg->key[i], known[j]) == 0)
				break;
		if (known[j] == NULL) {
			jpki_set_detail("unknown setting '%s'", cfg->key[i]);
			return JPKI_ERR_CONFIG;
		}
	}
	return 0;
}
